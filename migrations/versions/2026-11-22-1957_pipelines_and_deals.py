"""Pipelines with ordered stages, deals with contacts and stage history; deal custom fields.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-22 19:57:25.244458
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# The default pipeline every workspace starts with, as it was when this revision was written.
DEFAULT_STAGES = """(VALUES
    ('New', 0, 10, 'open'), ('Qualified', 1, 25, 'open'), ('Proposal', 2, 50, 'open'),
    ('Negotiation', 3, 75, 'open'), ('Won', 4, 100, 'won'), ('Lost', 5, 0, 'lost')
) AS stage(name, position, probability, kind)"""


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pipelines_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_pipelines")),
    )
    op.create_index(
        "ix_pipelines_created_at", "pipelines", ["workspace_id", "created_at", "id"], unique=False
    )
    op.create_index("uq_pipelines_name", "pipelines", ["workspace_id", "name"], unique=True)
    op.create_table(
        "pipeline_stages",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("pipeline_id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("probability", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("kind IN ('open', 'won', 'lost')", name=op.f("ck_pipeline_stages_kind")),
        sa.CheckConstraint(
            "probability BETWEEN 0 AND 100", name=op.f("ck_pipeline_stages_probability")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "pipeline_id"],
            ["pipelines.workspace_id", "pipelines.id"],
            name="fk_pipeline_stages_pipeline",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_pipeline_stages_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_pipeline_stages")),
        sa.UniqueConstraint(
            "workspace_id", "pipeline_id", "id", name="uq_pipeline_stages_pipeline"
        ),
    )
    op.create_index(
        "ix_pipeline_stages_position",
        "pipeline_stages",
        ["workspace_id", "pipeline_id", "position"],
        unique=False,
    )
    op.create_index(
        "uq_pipeline_stages_name",
        "pipeline_stages",
        ["workspace_id", "pipeline_id", "name"],
        unique=True,
    )
    op.create_table(
        "deals",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("amount", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("currency", sa.String(length=3), nullable=True),
        sa.Column("pipeline_id", sa.Uuid(), nullable=False),
        sa.Column("stage_id", sa.Uuid(), nullable=False),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("expected_close_date", sa.Date(), nullable=True),
        sa.Column("lost_reason", sa.String(length=500), nullable=True),
        sa.Column("source", sa.String(length=100), nullable=True),
        sa.Column("tags", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("stage_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "(amount IS NULL) = (currency IS NULL)", name=op.f("ck_deals_amount_has_currency")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name="fk_deals_company",
            ondelete="SET NULL (company_id)",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "owner_id"],
            ["members.workspace_id", "members.id"],
            name="fk_deals_owner",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "pipeline_id", "stage_id"],
            ["pipeline_stages.workspace_id", "pipeline_stages.pipeline_id", "pipeline_stages.id"],
            name="fk_deals_stage",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_deals_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_deals")),
    )
    op.create_index("ix_deals_amount", "deals", ["workspace_id", "amount", "id"], unique=False)
    op.create_index("ix_deals_company", "deals", ["workspace_id", "company_id"], unique=False)
    op.create_index(
        "ix_deals_name",
        "deals",
        ["workspace_id", "name"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"name": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_deals_created_at", "deals", ["workspace_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_deals_expected_close_date",
        "deals",
        ["workspace_id", "expected_close_date", "id"],
        unique=False,
    )
    op.create_index("ix_deals_owner", "deals", ["workspace_id", "owner_id"], unique=False)
    op.create_index(
        "ix_deals_pipeline",
        "deals",
        ["workspace_id", "pipeline_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_deals_stage", "deals", ["workspace_id", "stage_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_deals_updated_at", "deals", ["workspace_id", "updated_at", "id"], unique=False
    )
    op.create_table(
        "deal_contacts",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("role", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_deal_contacts_contact",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "deal_id"],
            ["deals.workspace_id", "deals.id"],
            name="fk_deal_contacts_deal",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(
            "workspace_id", "deal_id", "contact_id", name=op.f("pk_deal_contacts")
        ),
    )
    op.create_index(
        "ix_deal_contacts_contact", "deal_contacts", ["workspace_id", "contact_id"], unique=False
    )
    op.create_table(
        "deal_stage_changes",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("deal_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage_id", sa.Uuid(), nullable=True),
        sa.Column("to_stage_id", sa.Uuid(), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("seconds_in_previous_stage", sa.Integer(), nullable=True),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "deal_id"],
            ["deals.workspace_id", "deals.id"],
            name="fk_deal_stage_changes_deal",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_deal_stage_changes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_deal_stage_changes")),
    )
    op.create_index(
        "ix_deal_stage_changes_deal",
        "deal_stage_changes",
        ["workspace_id", "deal_id", "changed_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_deal_stage_changes_to_stage",
        "deal_stage_changes",
        ["workspace_id", "to_stage_id", "changed_at"],
        unique=False,
    )
    op.drop_constraint(op.f("ck_custom_field_definitions_entity"), "custom_field_definitions")
    op.create_check_constraint(
        op.f("ck_custom_field_definitions_entity"),
        "custom_field_definitions",
        "entity IN ('contact', 'company', 'deal')",
    )
    # Workspaces created before this revision get the default pipeline too.
    op.execute(
        "INSERT INTO pipelines (workspace_id, id, name, created_at, updated_at, version) "
        "SELECT id, gen_random_uuid(), 'Sales pipeline', now(), now(), 1 FROM workspaces"
    )
    op.execute(
        "INSERT INTO pipeline_stages (workspace_id, id, pipeline_id, name, position, probability, "
        "kind, created_at, updated_at, version) "
        "SELECT pipeline.workspace_id, gen_random_uuid(), pipeline.id, stage.name, stage.position, "
        f"stage.probability, stage.kind, now(), now(), 1 FROM pipelines AS pipeline CROSS JOIN {DEFAULT_STAGES}"
    )


def downgrade() -> None:
    op.execute("DELETE FROM custom_field_definitions WHERE entity = 'deal'")
    op.drop_constraint(op.f("ck_custom_field_definitions_entity"), "custom_field_definitions")
    op.create_check_constraint(
        op.f("ck_custom_field_definitions_entity"),
        "custom_field_definitions",
        "entity IN ('contact', 'company')",
    )
    op.drop_index("ix_deal_stage_changes_to_stage", table_name="deal_stage_changes")
    op.drop_index("ix_deal_stage_changes_deal", table_name="deal_stage_changes")
    op.drop_table("deal_stage_changes")
    op.drop_index("ix_deal_contacts_contact", table_name="deal_contacts")
    op.drop_table("deal_contacts")
    op.drop_index("ix_deals_updated_at", table_name="deals")
    op.drop_index("ix_deals_stage", table_name="deals")
    op.drop_index("ix_deals_pipeline", table_name="deals")
    op.drop_index("ix_deals_owner", table_name="deals")
    op.drop_index("ix_deals_expected_close_date", table_name="deals")
    op.drop_index("ix_deals_created_at", table_name="deals")
    op.drop_index("ix_deals_company", table_name="deals")
    op.drop_index("ix_deals_name", table_name="deals")
    op.drop_index("ix_deals_amount", table_name="deals")
    op.drop_table("deals")
    op.drop_index("uq_pipeline_stages_name", table_name="pipeline_stages")
    op.drop_index("ix_pipeline_stages_position", table_name="pipeline_stages")
    op.drop_table("pipeline_stages")
    op.drop_index("uq_pipelines_name", table_name="pipelines")
    op.drop_index("ix_pipelines_created_at", table_name="pipelines")
    op.drop_table("pipelines")
