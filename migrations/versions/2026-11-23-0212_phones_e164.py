"""Contacts' phones in E.164 (for duplicate detection), filled for the contacts already there.

Revision ID: 0016
Revises: 0015
Create Date: 2026-11-23 02:12:43.236893
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

from crm_api.core.phones import normalized

revision: str = "0016"
down_revision: str | None = "0015"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _fill() -> None:
    contacts = sa.table(
        "contacts",
        sa.column("workspace_id", sa.Uuid()),
        sa.column("id", sa.Uuid()),
        sa.column("phones", postgresql.JSONB()),
        sa.column("phones_e164", postgresql.ARRAY(sa.String(32))),
    )
    connection = op.get_bind()
    rows = connection.execute(
        sa.select(contacts.c.workspace_id, contacts.c.id, contacts.c.phones).where(
            sa.func.jsonb_array_length(contacts.c.phones) > 0
        )
    ).all()
    for workspace_id, contact_id, phones in rows:
        connection.execute(
            contacts.update()
            .where(contacts.c.workspace_id == workspace_id, contacts.c.id == contact_id)
            .values(phones_e164=normalized(phones))
        )


def upgrade() -> None:
    op.add_column(
        "contacts",
        sa.Column(
            "phones_e164",
            postgresql.ARRAY(sa.String(length=32)),
            server_default="{}",
            nullable=False,
        ),
    )
    _fill()
    op.create_index(
        "ix_contacts_phones_e164",
        "contacts",
        ["workspace_id", "phones_e164"],
        unique=False,
        postgresql_using="gin",
    )


def downgrade() -> None:
    op.drop_index("ix_contacts_phones_e164", table_name="contacts", postgresql_using="gin")
    op.drop_column("contacts", "phones_e164")
