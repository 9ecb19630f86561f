"""SLA policies and clocks on tickets, escalation, survey responses, ticket custom fields, and
foreign keys from activities to tickets.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-22 21:22:09.001011
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "sla_policies",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("is_default", sa.Boolean(), nullable=False),
        sa.Column("targets", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("business_hours", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_sla_policies_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_sla_policies")),
    )
    op.create_index(
        "ix_sla_policies_created_at",
        "sla_policies",
        ["workspace_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "uq_sla_policies_default",
        "sla_policies",
        ["workspace_id"],
        unique=True,
        postgresql_where=sa.text("is_default"),
    )
    op.create_index("uq_sla_policies_name", "sla_policies", ["workspace_id", "name"], unique=True)
    op.create_table(
        "survey_responses",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("ticket_id", sa.Uuid(), nullable=True),
        sa.Column("score", sa.Integer(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=True),
        sa.Column("responded_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "(kind = 'csat' AND ticket_id IS NOT NULL AND score BETWEEN 1 AND 5) OR (kind = 'nps' AND score BETWEEN 0 AND 10)",
            name=op.f("ck_survey_responses_score"),
        ),
        sa.CheckConstraint("kind IN ('csat', 'nps')", name=op.f("ck_survey_responses_kind")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_survey_responses_contact",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "ticket_id"],
            ["tickets.workspace_id", "tickets.id"],
            name="fk_survey_responses_ticket",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_survey_responses_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_survey_responses")),
    )
    op.create_index(
        "ix_survey_responses_contact",
        "survey_responses",
        ["workspace_id", "contact_id", "responded_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_survey_responses_kind",
        "survey_responses",
        ["workspace_id", "kind", "responded_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_survey_responses_responded_at",
        "survey_responses",
        ["workspace_id", "responded_at", "id"],
        unique=False,
    )
    op.create_index(
        "uq_survey_responses_csat",
        "survey_responses",
        ["workspace_id", "ticket_id"],
        unique=True,
        postgresql_where=sa.text("kind = 'csat'"),
    )
    for table in ("interactions", "tasks"):
        op.execute(
            f"UPDATE {table} SET ticket_id = NULL WHERE ticket_id IS NOT NULL AND NOT EXISTS"
            f" (SELECT 1 FROM tickets t WHERE t.workspace_id = {table}.workspace_id"
            f" AND t.id = {table}.ticket_id)"
        )
    op.create_index(
        "ix_interactions_ticket", "interactions", ["workspace_id", "ticket_id"], unique=False
    )
    op.create_foreign_key(
        "fk_interactions_ticket",
        "interactions",
        "tickets",
        ["workspace_id", "ticket_id"],
        ["workspace_id", "id"],
        ondelete="SET NULL (ticket_id)",
    )
    op.add_column(
        "members",
        sa.Column("escalation_target", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.create_index(
        "ix_members_escalation_target",
        "members",
        ["workspace_id", "id"],
        unique=False,
        postgresql_where=sa.text("escalation_target"),
    )
    op.create_index("ix_tasks_ticket", "tasks", ["workspace_id", "ticket_id"], unique=False)
    op.create_foreign_key(
        "fk_tasks_ticket",
        "tasks",
        "tickets",
        ["workspace_id", "ticket_id"],
        ["workspace_id", "id"],
        ondelete="SET NULL (ticket_id)",
    )
    op.add_column(
        "ticket_messages", sa.Column("sentiment", sa.Numeric(precision=4, scale=3), nullable=True)
    )
    op.add_column(
        "tickets",
        sa.Column(
            "custom_fields",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default="{}",
        ),
    )
    op.add_column("tickets", sa.Column("sla_policy_id", sa.Uuid(), nullable=True))
    op.add_column(
        "tickets", sa.Column("first_response_due_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "tickets", sa.Column("resolution_due_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "tickets",
        sa.Column("first_response_breached_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.add_column(
        "tickets", sa.Column("resolution_breached_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column("tickets", sa.Column("sla_due_at", sa.DateTime(timezone=True), nullable=True))
    op.add_column(
        "tickets", sa.Column("sla_breached_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.add_column(
        "tickets",
        sa.Column(
            "sla_clocks",
            postgresql.JSONB(astext_type=sa.Text()),
            nullable=False,
            server_default="{}",
        ),
    )
    op.add_column("tickets", sa.Column("escalation_reason", sa.String(length=32), nullable=True))
    op.add_column("tickets", sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index(
        "ix_tickets_sla_breached_at",
        "tickets",
        ["workspace_id", "sla_breached_at", "id"],
        unique=False,
        postgresql_where=sa.text("sla_breached_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_sla_due_at",
        "tickets",
        ["workspace_id", "sla_due_at", "id"],
        unique=False,
        postgresql_where=sa.text("sla_due_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_sla_sweep",
        "tickets",
        ["sla_due_at"],
        unique=False,
        postgresql_where=sa.text("sla_due_at IS NOT NULL"),
    )
    op.create_index(
        "ix_tickets_sla_policy",
        "tickets",
        ["workspace_id", "sla_policy_id", "status"],
        unique=False,
    )
    op.create_foreign_key(
        "fk_tickets_sla_policy",
        "tickets",
        "sla_policies",
        ["workspace_id", "sla_policy_id"],
        ["workspace_id", "id"],
        ondelete="SET NULL (sla_policy_id)",
    )
    op.add_column(
        "workspaces",
        sa.Column(
            "updated_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
        ),
    )
    op.add_column(
        "workspaces", sa.Column("version", sa.Integer(), nullable=False, server_default="1")
    )
    op.add_column(
        "workspaces",
        sa.Column(
            "escalation_sentiment_threshold",
            sa.Numeric(precision=4, scale=3),
            nullable=False,
            server_default="-0.5",
        ),
    )
    op.create_check_constraint(
        op.f("ck_workspaces_escalation_threshold"),
        "workspaces",
        "escalation_sentiment_threshold BETWEEN -1 AND 1",
    )
    op.create_check_constraint(
        op.f("ck_ticket_messages_sentiment"), "ticket_messages", "sentiment BETWEEN -1 AND 1"
    )
    op.create_check_constraint(
        op.f("ck_tickets_escalation_reason"),
        "tickets",
        "escalation_reason IN ('negative_sentiment', 'first_response_breached', 'resolution_breached')",
    )
    op.drop_constraint(op.f("ck_custom_field_definitions_entity"), "custom_field_definitions")
    op.create_check_constraint(
        op.f("ck_custom_field_definitions_entity"),
        "custom_field_definitions",
        "entity IN ('contact', 'company', 'deal', 'ticket')",
    )


def downgrade() -> None:
    op.execute("DELETE FROM custom_field_definitions WHERE entity = 'ticket'")
    op.drop_constraint(op.f("ck_custom_field_definitions_entity"), "custom_field_definitions")
    op.create_check_constraint(
        op.f("ck_custom_field_definitions_entity"),
        "custom_field_definitions",
        "entity IN ('contact', 'company', 'deal')",
    )
    op.drop_constraint(op.f("ck_tickets_escalation_reason"), "tickets")
    op.drop_constraint(op.f("ck_ticket_messages_sentiment"), "ticket_messages")
    op.drop_constraint(op.f("ck_workspaces_escalation_threshold"), "workspaces")
    op.drop_column("workspaces", "escalation_sentiment_threshold")
    op.drop_column("workspaces", "version")
    op.drop_column("workspaces", "updated_at")
    op.drop_constraint("fk_tickets_sla_policy", "tickets", type_="foreignkey")
    op.drop_index("ix_tickets_sla_policy", table_name="tickets")
    op.drop_index(
        "ix_tickets_sla_sweep",
        table_name="tickets",
        postgresql_where=sa.text("sla_due_at IS NOT NULL"),
    )
    op.drop_index(
        "ix_tickets_sla_due_at",
        table_name="tickets",
        postgresql_where=sa.text("sla_due_at IS NOT NULL"),
    )
    op.drop_index(
        "ix_tickets_sla_breached_at",
        table_name="tickets",
        postgresql_where=sa.text("sla_breached_at IS NOT NULL"),
    )
    op.drop_column("tickets", "escalated_at")
    op.drop_column("tickets", "escalation_reason")
    op.drop_column("tickets", "sla_clocks")
    op.drop_column("tickets", "sla_breached_at")
    op.drop_column("tickets", "sla_due_at")
    op.drop_column("tickets", "resolution_breached_at")
    op.drop_column("tickets", "first_response_breached_at")
    op.drop_column("tickets", "resolution_due_at")
    op.drop_column("tickets", "first_response_due_at")
    op.drop_column("tickets", "sla_policy_id")
    op.drop_column("tickets", "custom_fields")
    op.drop_column("ticket_messages", "sentiment")
    op.drop_constraint("fk_tasks_ticket", "tasks", type_="foreignkey")
    op.drop_index("ix_tasks_ticket", table_name="tasks")
    op.drop_index(
        "ix_members_escalation_target",
        table_name="members",
        postgresql_where=sa.text("escalation_target"),
    )
    op.drop_column("members", "escalation_target")
    op.drop_constraint("fk_interactions_ticket", "interactions", type_="foreignkey")
    op.drop_index("ix_interactions_ticket", table_name="interactions")
    op.drop_index(
        "uq_survey_responses_csat",
        table_name="survey_responses",
        postgresql_where=sa.text("kind = 'csat'"),
    )
    op.drop_index("ix_survey_responses_responded_at", table_name="survey_responses")
    op.drop_index("ix_survey_responses_kind", table_name="survey_responses")
    op.drop_index("ix_survey_responses_contact", table_name="survey_responses")
    op.drop_table("survey_responses")
    op.drop_index("uq_sla_policies_name", table_name="sla_policies")
    op.drop_index(
        "uq_sla_policies_default", table_name="sla_policies", postgresql_where=sa.text("is_default")
    )
    op.drop_index("ix_sla_policies_created_at", table_name="sla_policies")
    op.drop_table("sla_policies")
