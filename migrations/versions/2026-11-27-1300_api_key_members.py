"""An API key may act for a member: staff replies made with it are that member's.

Revision ID: 0022
Revises: 0021
Create Date: 2026-11-27 13:00:00.000000
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0022"
down_revision: str | None = "0021"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("api_keys", sa.Column("member_id", sa.Uuid(), nullable=True))
    op.create_foreign_key(
        "fk_api_keys_member",
        "api_keys",
        "members",
        ["workspace_id", "member_id"],
        ["workspace_id", "id"],
        ondelete="SET NULL (member_id)",
    )
    op.create_index("ix_api_keys_member", "api_keys", ["workspace_id", "member_id"])


def downgrade() -> None:
    op.drop_index("ix_api_keys_member", table_name="api_keys")
    op.drop_constraint("fk_api_keys_member", "api_keys", type_="foreignkey")
    op.drop_column("api_keys", "member_id")
