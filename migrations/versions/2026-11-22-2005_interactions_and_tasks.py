"""Interactions (with a sentiment score for inbound text) and follow-up tasks.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22 20:05:01.490783
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "interactions",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("direction", sa.String(length=8), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("body", sa.Text(), nullable=True),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("duration_seconds", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=200), nullable=True),
        sa.Column("member_id", sa.Uuid(), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("deal_id", sa.Uuid(), nullable=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("sentiment", sa.Numeric(precision=4, scale=3), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "direction IN ('inbound', 'outbound')", name=op.f("ck_interactions_direction")
        ),
        sa.CheckConstraint(
            "kind IN ('call', 'email', 'meeting', 'note', 'chat', 'sms', 'visit')",
            name=op.f("ck_interactions_kind"),
        ),
        sa.CheckConstraint("sentiment BETWEEN -1 AND 1", name=op.f("ck_interactions_sentiment")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name="fk_interactions_company",
            ondelete="SET NULL (company_id)",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_interactions_contact",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "deal_id"],
            ["deals.workspace_id", "deals.id"],
            name="fk_interactions_deal",
            ondelete="SET NULL (deal_id)",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "member_id"],
            ["members.workspace_id", "members.id"],
            name="fk_interactions_member",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_interactions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_interactions")),
    )
    op.create_index(
        "ix_interactions_company",
        "interactions",
        ["workspace_id", "company_id", "occurred_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_interactions_contact",
        "interactions",
        ["workspace_id", "contact_id", "occurred_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_interactions_created_at",
        "interactions",
        ["workspace_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_interactions_deal", "interactions", ["workspace_id", "deal_id"], unique=False
    )
    op.create_index(
        "ix_interactions_member", "interactions", ["workspace_id", "member_id"], unique=False
    )
    op.create_index(
        "ix_interactions_occurred_at",
        "interactions",
        ["workspace_id", "occurred_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_interactions_sentiment", "interactions", ["workspace_id", "sentiment"], unique=False
    )
    op.create_table(
        "tasks",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("title", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("assignee_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("priority", sa.String(length=16), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("contact_id", sa.Uuid(), nullable=True),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("deal_id", sa.Uuid(), nullable=True),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "priority IN ('low', 'normal', 'high', 'urgent')", name=op.f("ck_tasks_priority")
        ),
        sa.CheckConstraint("status IN ('open', 'done', 'cancelled')", name=op.f("ck_tasks_status")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "assignee_id"],
            ["members.workspace_id", "members.id"],
            name="fk_tasks_assignee",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name="fk_tasks_company",
            ondelete="SET NULL (company_id)",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_tasks_contact",
            ondelete="SET NULL (contact_id)",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "deal_id"],
            ["deals.workspace_id", "deals.id"],
            name="fk_tasks_deal",
            ondelete="SET NULL (deal_id)",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_tasks_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_tasks")),
    )
    op.create_index(
        "ix_tasks_assignee_open",
        "tasks",
        ["workspace_id", "assignee_id", "status", "due_at"],
        unique=False,
    )
    op.create_index(
        "ix_tasks_company",
        "tasks",
        ["workspace_id", "company_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_tasks_contact",
        "tasks",
        ["workspace_id", "contact_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_tasks_created_at", "tasks", ["workspace_id", "created_at", "id"], unique=False
    )
    op.create_index("ix_tasks_deal", "tasks", ["workspace_id", "deal_id"], unique=False)
    op.create_index("ix_tasks_due_at", "tasks", ["workspace_id", "due_at", "id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_tasks_due_at", table_name="tasks")
    op.drop_index("ix_tasks_deal", table_name="tasks")
    op.drop_index("ix_tasks_created_at", table_name="tasks")
    op.drop_index("ix_tasks_contact", table_name="tasks")
    op.drop_index("ix_tasks_company", table_name="tasks")
    op.drop_index("ix_tasks_assignee_open", table_name="tasks")
    op.drop_table("tasks")
    op.drop_index("ix_interactions_sentiment", table_name="interactions")
    op.drop_index("ix_interactions_occurred_at", table_name="interactions")
    op.drop_index("ix_interactions_member", table_name="interactions")
    op.drop_index("ix_interactions_deal", table_name="interactions")
    op.drop_index("ix_interactions_created_at", table_name="interactions")
    op.drop_index("ix_interactions_contact", table_name="interactions")
    op.drop_index("ix_interactions_company", table_name="interactions")
    op.drop_table("interactions")
