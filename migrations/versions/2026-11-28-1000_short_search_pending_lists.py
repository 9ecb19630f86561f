"""Search indexes keep at most 64 kB of entries not yet merged (GIN's pending list).

Every `q=` search reads a GIN index's whole pending list. At the default 4 MB, the entries of a
few thousand created or edited records made a search of a million contacts cost 2.8 ms of
database time instead of 1 ms, until autovacuum merged them; after an import or a busy hour,
searches slowed down for everyone. The lists already pending are merged now.

Revision ID: 0035
Revises: 0034
Create Date: 2026-11-28 10:00:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0035"
down_revision: str | None = "0034"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEXES = (
    "ix_contacts_search_text",
    "ix_companies_search_text",
    "ix_tickets_search_text",
    "ix_interactions_search_text",
    "ix_tasks_search_text",
    "ix_deals_name",
)


def upgrade() -> None:
    for index in INDEXES:
        op.execute(f"ALTER INDEX {index} SET (gin_pending_list_limit = 64)")
        op.execute(f"SELECT gin_clean_pending_list('{index}'::regclass)")


def downgrade() -> None:
    for index in INDEXES:
        op.execute(f"ALTER INDEX {index} RESET (gin_pending_list_limit)")
