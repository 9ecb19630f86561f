"""Foundation: workspaces, members, API keys, contacts, companies, custom fields, events.

Revision ID: 0001
Revises:
Create Date: 2026-11-22 18:49:10.364151
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Trigram search (pg_trgm) and GIN indexes led by workspace_id (btree_gin).
    op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
    op.create_table(
        "workspaces",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
    )
    op.create_table(
        "api_keys",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("secret_hash", sa.LargeBinary(), nullable=False),
        sa.Column("secret_hint", sa.String(length=8), nullable=False),
        sa.Column("scopes", sa.ARRAY(sa.String(length=64)), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_api_keys_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_api_keys")),
    )
    op.create_index(
        "ix_api_keys_created_at", "api_keys", ["workspace_id", "created_at", "id"], unique=False
    )
    op.create_table(
        "companies",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=True),
        sa.Column("industry", sa.String(length=100), nullable=True),
        sa.Column("employee_count", sa.Integer(), nullable=True),
        sa.Column("annual_revenue", sa.Numeric(precision=20, scale=2), nullable=True),
        sa.Column("annual_revenue_currency", sa.String(length=3), nullable=True),
        sa.Column("address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("tags", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "search_text",
            sa.Text(),
            sa.Computed("lower(name || ' ' || coalesce(domain, ''))", persisted=True),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_companies_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_companies")),
    )
    op.create_index(
        "ix_companies_created_at", "companies", ["workspace_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_companies_industry",
        "companies",
        ["workspace_id", "industry", "created_at", "id"],
        unique=False,
    )
    op.create_index("ix_companies_name", "companies", ["workspace_id", "name", "id"], unique=False)
    op.create_index(
        "ix_companies_search_text",
        "companies",
        ["workspace_id", "search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_companies_tags_custom_fields",
        "companies",
        ["workspace_id", "tags", "custom_fields"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_companies_updated_at", "companies", ["workspace_id", "updated_at", "id"], unique=False
    )
    op.create_index("uq_companies_domain", "companies", ["workspace_id", "domain"], unique=True)
    op.create_table(
        "custom_field_definitions",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("entity", sa.String(length=16), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("label", sa.String(length=200), nullable=False),
        sa.Column("field_type", sa.String(length=16), nullable=False),
        sa.Column("options", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("required", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "entity IN ('contact', 'company')", name=op.f("ck_custom_field_definitions_entity")
        ),
        sa.CheckConstraint(
            "field_type IN ('text', 'number', 'boolean', 'date', 'enum')",
            name=op.f("ck_custom_field_definitions_field_type"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_custom_field_definitions_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_custom_field_definitions")),
    )
    op.create_index(
        "uq_custom_field_definitions_key",
        "custom_field_definitions",
        ["workspace_id", "entity", "key"],
        unique=True,
    )
    op.create_table(
        "events",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column("resource_type", sa.String(length=32), nullable=False),
        sa.Column("resource_id", sa.Uuid(), nullable=False),
        sa.Column("occurred_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("data", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("previous", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_events_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_events")),
    )
    op.create_index(
        "ix_events_occurred_at", "events", ["workspace_id", "occurred_at", "id"], unique=False
    )
    op.create_index(
        "ix_events_resource", "events", ["workspace_id", "resource_id", "id"], unique=False
    )
    op.create_index("ix_events_type", "events", ["workspace_id", "type", "id"], unique=False)
    op.create_table(
        "idempotency_keys",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("key", sa.String(length=255), nullable=False),
        sa.Column("request_hash", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("response_status", sa.Integer(), nullable=True),
        sa.Column("response_headers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("response_body", sa.LargeBinary(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_idempotency_keys_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "key", name=op.f("pk_idempotency_keys")),
    )
    op.create_table(
        "members",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "role IN ('admin', 'manager', 'agent', 'sales')", name=op.f("ck_members_role")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_members_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_members")),
    )
    op.create_index(
        "ix_members_created_at", "members", ["workspace_id", "created_at", "id"], unique=False
    )
    op.create_index("ix_members_name", "members", ["workspace_id", "name", "id"], unique=False)
    op.create_index(
        "uq_members_email",
        "members",
        ["workspace_id", sa.literal_column("lower(email)")],
        unique=True,
    )
    op.create_table(
        "contacts",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("first_name", sa.String(length=200), nullable=False),
        sa.Column("last_name", sa.String(length=200), nullable=False),
        sa.Column("email", sa.String(length=320), nullable=True),
        sa.Column("additional_emails", sa.ARRAY(sa.String(length=320)), nullable=False),
        sa.Column("phones", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("job_title", sa.String(length=200), nullable=True),
        sa.Column("lifecycle_stage", sa.String(length=32), nullable=False),
        sa.Column("lead_source", sa.String(length=100), nullable=True),
        sa.Column("owner_id", sa.Uuid(), nullable=True),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("address", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("tags", sa.ARRAY(sa.Text()), nullable=False),
        sa.Column("custom_fields", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column(
            "search_text",
            sa.Text(),
            sa.Computed(
                "lower(first_name || ' ' || last_name || ' ' || coalesce(email, ''))",
                persisted=True,
            ),
            nullable=False,
        ),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "lifecycle_stage IN ('subscriber', 'lead', 'marketing_qualified', 'sales_qualified', 'opportunity', 'customer', 'evangelist', 'churned', 'other')",
            name=op.f("ck_contacts_lifecycle_stage"),
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name="fk_contacts_company",
            ondelete="SET NULL (company_id)",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "owner_id"],
            ["members.workspace_id", "members.id"],
            name="fk_contacts_owner",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_contacts_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_contacts")),
    )
    op.create_index(
        "ix_contacts_company",
        "contacts",
        ["workspace_id", "company_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_contacts_created_at", "contacts", ["workspace_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_contacts_last_name", "contacts", ["workspace_id", "last_name", "id"], unique=False
    )
    op.create_index(
        "ix_contacts_lifecycle_stage",
        "contacts",
        ["workspace_id", "lifecycle_stage", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_contacts_owner",
        "contacts",
        ["workspace_id", "owner_id", "created_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_contacts_search_text",
        "contacts",
        ["workspace_id", "search_text"],
        unique=False,
        postgresql_using="gin",
        postgresql_ops={"search_text": "gin_trgm_ops"},
    )
    op.create_index(
        "ix_contacts_tags_custom_fields",
        "contacts",
        ["workspace_id", "tags", "custom_fields"],
        unique=False,
        postgresql_using="gin",
    )
    op.create_index(
        "ix_contacts_updated_at", "contacts", ["workspace_id", "updated_at", "id"], unique=False
    )
    op.create_index(
        "uq_contacts_email",
        "contacts",
        ["workspace_id", sa.literal_column("lower(email)")],
        unique=True,
    )
    op.create_table(
        "contact_lifecycle_changes",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("from_stage", sa.String(length=32), nullable=True),
        sa.Column("to_stage", sa.String(length=32), nullable=False),
        sa.Column("changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_type", sa.String(length=16), nullable=False),
        sa.Column("actor_id", sa.Uuid(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_contact_lifecycle_changes_contact",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_contact_lifecycle_changes_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_contact_lifecycle_changes")),
    )
    op.create_index(
        "ix_contact_lifecycle_changes_contact",
        "contact_lifecycle_changes",
        ["workspace_id", "contact_id", "changed_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_contact_lifecycle_changes_to_stage",
        "contact_lifecycle_changes",
        ["workspace_id", "to_stage", "changed_at"],
        unique=False,
    )


def downgrade() -> None:
    # The extensions stay: other databases objects may use them, and they hold no data.
    op.drop_index("ix_contact_lifecycle_changes_to_stage", table_name="contact_lifecycle_changes")
    op.drop_index("ix_contact_lifecycle_changes_contact", table_name="contact_lifecycle_changes")
    op.drop_table("contact_lifecycle_changes")
    op.drop_index("uq_contacts_email", table_name="contacts")
    op.drop_index("ix_contacts_updated_at", table_name="contacts")
    op.drop_index("ix_contacts_tags_custom_fields", table_name="contacts", postgresql_using="gin")
    op.drop_index("ix_contacts_search_text", table_name="contacts", postgresql_using="gin")
    op.drop_index("ix_contacts_owner", table_name="contacts")
    op.drop_index("ix_contacts_lifecycle_stage", table_name="contacts")
    op.drop_index("ix_contacts_last_name", table_name="contacts")
    op.drop_index("ix_contacts_created_at", table_name="contacts")
    op.drop_index("ix_contacts_company", table_name="contacts")
    op.drop_table("contacts")
    op.drop_index("uq_members_email", table_name="members")
    op.drop_index("ix_members_name", table_name="members")
    op.drop_index("ix_members_created_at", table_name="members")
    op.drop_table("members")
    op.drop_table("idempotency_keys")
    op.drop_index("ix_events_type", table_name="events")
    op.drop_index("ix_events_occurred_at", table_name="events")
    op.drop_index("ix_events_resource", table_name="events")
    op.drop_table("events")
    op.drop_index("uq_custom_field_definitions_key", table_name="custom_field_definitions")
    op.drop_table("custom_field_definitions")
    op.drop_index("uq_companies_domain", table_name="companies")
    op.drop_index("ix_companies_updated_at", table_name="companies")
    op.drop_index("ix_companies_tags_custom_fields", table_name="companies", postgresql_using="gin")
    op.drop_index("ix_companies_search_text", table_name="companies", postgresql_using="gin")
    op.drop_index("ix_companies_name", table_name="companies")
    op.drop_index("ix_companies_industry", table_name="companies")
    op.drop_index("ix_companies_created_at", table_name="companies")
    op.drop_table("companies")
    op.drop_index("ix_api_keys_created_at", table_name="api_keys")
    op.drop_table("api_keys")
    op.drop_table("workspaces")
