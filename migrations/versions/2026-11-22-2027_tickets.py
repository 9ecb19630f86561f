"""Support tickets with their messages and status history.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-22 20:27:01.706292
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "tickets",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("requester_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("first_responded_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("solved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "channel IN ('email', 'phone', 'chat', 'portal', 'api')",
            name=op.f("ck_tickets_channel"),
        ),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_tickets_priority")
        ),
        sa.CheckConstraint(
            "status IN ('new', 'open', 'pending', 'on_hold', 'solved', 'closed')",
            name=op.f("ck_tickets_status"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "assignee_id"],
            ["members.workspace_id", "members.id"],
            name="fk_tickets_assignee",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name="fk_tickets_company",
            ondelete="SET NULL (company_id)",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "requester_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_tickets_requester",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_tickets_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_tickets")),
    )
    op.create_index(
        "ix_tickets_assignee", "tickets", ["workspace_id", "assignee_id", "status"], unique=False
    )
    op.create_index(
        "ix_tickets_company",
        "tickets",
        ["workspace_id", "company_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_tickets_created_at", "tickets", ["workspace_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_tickets_requester",
        "tickets",
        ["workspace_id", "requester_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_tickets_status", "tickets", ["workspace_id", "status", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_tickets_updated_at", "tickets", ["workspace_id", "updated_at", "id"], unique=False
    )
    op.create_table(
        "ticket_messages",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("visibility", sa.String(length=16), nullable=False),
        sa.Column("author_type", sa.String(length=16), nullable=False),
        sa.Column("author_member_id", sa.Uuid(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(author_type = 'member') = (author_member_id IS NOT NULL)",
            name=op.f("ck_ticket_messages_member_author"),
        ),
        sa.CheckConstraint(
            "author_type = 'member' OR visibility = 'public'",
            name=op.f("ck_ticket_messages_requester_writes_public"),
        ),
        sa.CheckConstraint(
            "author_type IN ('member', 'requester')", name=op.f("ck_ticket_messages_author_type")
        ),
        sa.CheckConstraint(
            "visibility IN ('public', 'internal')", name=op.f("ck_ticket_messages_visibility")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "author_member_id"],
            ["members.workspace_id", "members.id"],
            name="fk_ticket_messages_author",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "ticket_id"],
            ["tickets.workspace_id", "tickets.id"],
            name="fk_ticket_messages_ticket",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_ticket_messages_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_ticket_messages")),
    )
    op.create_index(
        "ix_ticket_messages_ticket",
        "ticket_messages",
        ["workspace_id", "ticket_id", "created_at", "id"],
        unique=False,
    )
    op.create_table(
        "ticket_status_changes",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "ticket_id"],
            ["tickets.workspace_id", "tickets.id"],
            name="fk_ticket_status_changes_ticket",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_ticket_status_changes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_ticket_status_changes")),
    )
    op.create_index(
        "ix_ticket_status_changes_ticket",
        "ticket_status_changes",
        ["workspace_id", "ticket_id", "changed_at", "id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_ticket_status_changes_ticket", table_name="ticket_status_changes")
    op.drop_table("ticket_status_changes")
    op.drop_index("ix_ticket_messages_ticket", table_name="ticket_messages")
    op.drop_table("ticket_messages")
    op.drop_index("ix_tickets_updated_at", table_name="tickets")
    op.drop_index("ix_tickets_status", table_name="tickets")
    op.drop_index("ix_tickets_requester", table_name="tickets")
    op.drop_index("ix_tickets_created_at", table_name="tickets")
    op.drop_index("ix_tickets_company", table_name="tickets")
    op.drop_index("ix_tickets_assignee", table_name="tickets")
    op.drop_table("tickets")
