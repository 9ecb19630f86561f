"""Event positions a reader can follow without skipping: (tx_id, position).

`occurred_at` is taken before commit, and transactions commit out of that order, so a poller
following cursors by it missed events written by transactions still running when it read. Each
event now records its transaction's id and a position from a sequence; readers serve only events
of transactions older than the oldest one still running, in (tx_id, position) order, so nothing
can later appear before a cursor already handed out.

Revision ID: 0021
Revises: 0020
Create Date: 2026-11-27 10:30:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0021"
down_revision: str | None = "0020"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.execute("CREATE SEQUENCE events_position_seq AS bigint")
    op.add_column("events", sa.Column("tx_id", sa.BigInteger(), nullable=True))
    op.add_column("events", sa.Column("position", sa.BigInteger(), nullable=True))
    # Events written before: all committed, in the order they were listed so far.
    op.execute(
        "UPDATE events SET tx_id = 0, position = ordered.n FROM ("
        "SELECT workspace_id, id, row_number() OVER (ORDER BY occurred_at, id) AS n FROM events"
        ") AS ordered WHERE events.workspace_id = ordered.workspace_id AND events.id = ordered.id"
    )
    op.execute(
        "SELECT setval('events_position_seq', greatest((SELECT max(position) FROM events), 1))"
    )
    op.alter_column(
        "events",
        "tx_id",
        nullable=False,
        server_default=sa.text("(pg_current_xact_id())::text::bigint"),
    )
    op.alter_column(
        "events",
        "position",
        nullable=False,
        server_default=sa.text("nextval('events_position_seq')"),
    )
    op.execute("ALTER SEQUENCE events_position_seq OWNED BY events.position")
    op.create_index("ix_events_position", "events", ["workspace_id", "tx_id", "position"])


def downgrade() -> None:
    op.drop_index("ix_events_position", table_name="events")
    op.drop_column("events", "position")
    op.drop_column("events", "tx_id")
