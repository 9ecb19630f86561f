"""Each lifecycle change knows the contact's previous entry into its stage and the stages the
contact entered at or after it.

Lifecycle conversion takes the contacts that entered `from_stage` in a range and asks which
reached `to_stage` afterwards: two hash aggregates over every entry of both stages (166k and
183k on the KPI benchmark, 530-670 ms a call). A contact's entries into a stage that fall in a
range form a chain whose first has its previous entry before the start (as the funnel's
stage changes, migration 0026), and that entry converted when `to_stage` is its own or among
`reached_after`. The answer is then a filtered count over one index.

A statement-level trigger recomputes both columns for the contacts a statement touched (an
insert, a merge moving rows, a delete), updating only rows whose values change: a contact's
only entry keeps the defaults and is not written again. Writers of one contact's history
already take turns on the contact's row.

Revision ID: 0028
Revises: 0027
Create Date: 2026-11-27 19:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0028"
down_revision: str | None = "0027"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# The rows of the contacts in `contacts` (a subquery of workspace_id, contact_id), set from the
# contact's whole history; ties in time count as reached, as the raw comparison did.
CHAIN = """
    UPDATE contact_lifecycle_changes AS c
    SET previous_entry_at = x.previous, reached_after = x.reached
    FROM (SELECT workspace_id, id, previous,
                 ARRAY(SELECT DISTINCT stage FROM unnest(later) AS stage ORDER BY 1) AS reached
          FROM (SELECT l.workspace_id, l.id,
                       lag(l.changed_at) OVER (PARTITION BY l.workspace_id, l.contact_id,
                                               l.to_stage ORDER BY l.changed_at, l.id) AS previous,
                       coalesce(array_agg(l.to_stage) OVER (
                         PARTITION BY l.workspace_id, l.contact_id ORDER BY l.changed_at DESC
                         RANGE BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW EXCLUDE CURRENT ROW),
                         '{{}}') AS later
                FROM contact_lifecycle_changes l
                JOIN ({contacts}) AS touched
                  ON l.workspace_id = touched.workspace_id AND l.contact_id = touched.contact_id
               ) AS windows
         ) AS x
    WHERE c.workspace_id = x.workspace_id AND c.id = x.id
      AND (c.previous_entry_at, c.reached_after) IS DISTINCT FROM (x.previous, x.reached)
"""

TOUCHED = {
    "INSERT": "SELECT DISTINCT workspace_id, contact_id FROM new_rows",
    # Only rows moved to another contact, stage or time: the trigger's own update of the two
    # columns touches none, so it does not run again.
    "UPDATE": (
        "SELECT x.workspace_id, x.contact_id FROM old_rows o JOIN new_rows n USING (workspace_id, id)"
        " CROSS JOIN LATERAL (VALUES (o.workspace_id, o.contact_id),"
        " (n.workspace_id, n.contact_id)) AS x(workspace_id, contact_id)"
        " WHERE (o.contact_id, o.to_stage, o.changed_at)"
        " IS DISTINCT FROM (n.contact_id, n.to_stage, n.changed_at)"
        " GROUP BY 1, 2"
    ),
    "DELETE": "SELECT DISTINCT workspace_id, contact_id FROM old_rows",
}
TRANSITIONS = {
    "INSERT": "NEW TABLE AS new_rows",
    "UPDATE": "OLD TABLE AS old_rows NEW TABLE AS new_rows",
    "DELETE": "OLD TABLE AS old_rows",
}


def upgrade() -> None:
    op.add_column(
        "contact_lifecycle_changes",
        sa.Column("previous_entry_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "contact_lifecycle_changes",
        sa.Column(
            "reached_after",
            postgresql.ARRAY(sa.String(length=32)),
            server_default="{}",
            nullable=False,
        ),
    )
    op.execute(
        CHAIN.format(
            contacts="SELECT DISTINCT workspace_id, contact_id FROM contact_lifecycle_changes"
        )
    )
    for operation, transition in TRANSITIONS.items():
        name = f"contact_lifecycle_chain_{operation.lower()}"
        op.execute(
            # A statement trigger runs for its own empty update too: it stops there.
            f"CREATE FUNCTION {name}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
            f" PERFORM 1 FROM ({TOUCHED[operation]}) AS touched LIMIT 1;"
            f" IF FOUND THEN {CHAIN.format(contacts=TOUCHED[operation])}; END IF;"
            " RETURN NULL; END $$"
        )
        op.execute(
            f"CREATE TRIGGER {name} AFTER {operation} ON contact_lifecycle_changes"
            f" REFERENCING {transition} FOR EACH STATEMENT EXECUTE FUNCTION {name}()"
        )
    op.drop_index("ix_contact_lifecycle_changes_to_stage", table_name="contact_lifecycle_changes")
    op.create_index(
        "ix_contact_lifecycle_changes_to_stage",
        "contact_lifecycle_changes",
        ["workspace_id", "to_stage", "changed_at"],
        postgresql_include=["previous_entry_at", "reached_after"],
    )


def downgrade() -> None:
    op.drop_index("ix_contact_lifecycle_changes_to_stage", table_name="contact_lifecycle_changes")
    op.create_index(
        "ix_contact_lifecycle_changes_to_stage",
        "contact_lifecycle_changes",
        ["workspace_id", "to_stage", "changed_at"],
    )
    for operation in TRANSITIONS:
        name = f"contact_lifecycle_chain_{operation.lower()}"
        op.execute(f"DROP TRIGGER {name} ON contact_lifecycle_changes")
        op.execute(f"DROP FUNCTION {name}()")
    op.drop_column("contact_lifecycle_changes", "reached_after")
    op.drop_column("contact_lifecycle_changes", "previous_entry_at")
