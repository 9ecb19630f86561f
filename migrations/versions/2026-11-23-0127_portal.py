"""The customer portal: portal users and their sign-in and refresh tokens, the email outbox,
contact consents, and per-workspace portal settings (company sharing, CORS origins).

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-23 01:27:32.459430
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0013"
down_revision: str | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "email_outbox",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("to_address", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed')", name=op.f("ck_email_outbox_status")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_email_outbox_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_email_outbox")),
    )
    op.create_index(
        "ix_email_outbox_created_at",
        "email_outbox",
        ["workspace_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_email_outbox_due",
        "email_outbox",
        ["next_attempt_at"],
        unique=False,
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "contact_consents",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=32), nullable=False),
        sa.Column("granted", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=32), nullable=False),
        sa.Column("proof", sa.Text(), nullable=True),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.Column("recorded_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('marketing_email', 'marketing_sms', 'marketing_phone', 'profiling')",
            name=op.f("ck_contact_consents_purpose"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_contact_consents_contact",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_contact_consents_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_contact_consents")),
    )
    op.create_index(
        "ix_contact_consents_contact",
        "contact_consents",
        ["workspace_id", "contact_id", "purpose", "recorded_at"],
        unique=False,
    )
    op.create_table(
        "portal_users",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("password_hash", sa.String(length=200), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("preferences", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("invited_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_sign_in_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('invited', 'active', 'disabled')", name=op.f("ck_portal_users_status")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_portal_users_contact",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_portal_users_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_portal_users")),
    )
    op.create_index(
        "ix_portal_users_created_at",
        "portal_users",
        ["workspace_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "uq_portal_users_contact", "portal_users", ["workspace_id", "contact_id"], unique=True
    )
    op.create_index(
        "uq_portal_users_email",
        "portal_users",
        ["workspace_id", sa.literal_column("lower(email)")],
        unique=True,
    )
    op.create_table(
        "portal_refresh_tokens",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portal_user_id", sa.Uuid(), nullable=False),
        sa.Column("family_id", sa.Uuid(), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rotated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id", "portal_user_id"],
            ["portal_users.workspace_id", "portal_users.id"],
            name="fk_portal_refresh_tokens_portal_user",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_portal_refresh_tokens_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_portal_refresh_tokens")),
    )
    op.create_index(
        "ix_portal_refresh_tokens_family",
        "portal_refresh_tokens",
        ["workspace_id", "family_id"],
        unique=False,
    )
    op.create_index(
        "ix_portal_refresh_tokens_user",
        "portal_refresh_tokens",
        ["workspace_id", "portal_user_id"],
        unique=False,
    )
    op.create_index(
        "uq_portal_refresh_tokens_hash", "portal_refresh_tokens", ["token_hash"], unique=True
    )
    op.create_table(
        "portal_tokens",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("portal_user_id", sa.Uuid(), nullable=False),
        sa.Column("purpose", sa.String(length=16), nullable=False),
        sa.Column("token_hash", sa.LargeBinary(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "purpose IN ('invitation', 'magic_link')", name=op.f("ck_portal_tokens_purpose")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "portal_user_id"],
            ["portal_users.workspace_id", "portal_users.id"],
            name="fk_portal_tokens_portal_user",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_portal_tokens_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_portal_tokens")),
    )
    op.create_index(
        "ix_portal_tokens_user", "portal_tokens", ["workspace_id", "portal_user_id"], unique=False
    )
    op.create_index("uq_portal_tokens_hash", "portal_tokens", ["token_hash"], unique=True)
    op.add_column(
        "workspaces",
        sa.Column(
            "portal_company_sharing", sa.Boolean(), server_default=sa.false(), nullable=False
        ),
    )
    op.add_column(
        "workspaces",
        sa.Column(
            "portal_origins",
            postgresql.ARRAY(sa.String(length=200)),
            server_default="{}",
            nullable=False,
        ),
    )


def downgrade() -> None:
    op.drop_column("workspaces", "portal_origins")
    op.drop_column("workspaces", "portal_company_sharing")
    op.drop_index("uq_portal_tokens_hash", table_name="portal_tokens")
    op.drop_index("ix_portal_tokens_user", table_name="portal_tokens")
    op.drop_table("portal_tokens")
    op.drop_index("uq_portal_refresh_tokens_hash", table_name="portal_refresh_tokens")
    op.drop_index("ix_portal_refresh_tokens_user", table_name="portal_refresh_tokens")
    op.drop_index("ix_portal_refresh_tokens_family", table_name="portal_refresh_tokens")
    op.drop_table("portal_refresh_tokens")
    op.drop_index("uq_portal_users_email", table_name="portal_users")
    op.drop_index("uq_portal_users_contact", table_name="portal_users")
    op.drop_index("ix_portal_users_created_at", table_name="portal_users")
    op.drop_table("portal_users")
    op.drop_index("ix_contact_consents_contact", table_name="contact_consents")
    op.drop_table("contact_consents")
    op.drop_index(
        "ix_email_outbox_due",
        table_name="email_outbox",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_index("ix_email_outbox_created_at", table_name="email_outbox")
    op.drop_table("email_outbox")
