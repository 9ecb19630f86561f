"""Service secrets: the portal's token signing key, generated once with the schema.

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-23 09:50:00.000000
"""

import secrets
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0019"
down_revision: str | None = "0018"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    table = op.create_table(
        "service_secrets",
        sa.Column("name", sa.String(length=100), nullable=False),
        sa.Column("value", sa.String(length=200), nullable=False),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_service_secrets")),
    )
    # 64 random bytes for HS256 (RFC 7518 asks for at least the hash's 32).
    op.bulk_insert(table, [{"name": "portal_jwt", "value": secrets.token_urlsafe(64)}])


def downgrade() -> None:
    op.drop_table("service_secrets")
