"""Scrub secrets that were shown once but stored: API key secrets in `api_key.created` events,
and responses kept for Idempotency-Key replays (some held a new key's secret).

Stored replays are all dropped: their keys are now scoped to the caller that sent them, so no
stored row could be replayed any more, and those that held a secret must not stay. Webhook
deliveries build their bodies from the events at delivery time, so scrubbing the events scrubs
what is still to be delivered.

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-27 10:10:00.000000
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0020"
down_revision: str | None = "0019"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SHOWN_ONCE = ("secret", "token", "access_token", "refresh_token", "password")


def upgrade() -> None:
    fields = ", ".join(f"'{field}'" for field in SHOWN_ONCE)
    op.execute(f"UPDATE events SET data = data - ARRAY[{fields}] WHERE data ?| ARRAY[{fields}]")
    op.execute("DELETE FROM idempotency_keys")


def downgrade() -> None:
    # Nothing to put back: the scrubbed secrets are gone, as they should be.
    pass
