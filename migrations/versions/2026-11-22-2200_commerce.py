"""The product catalog and orders with their lines: the purchase history KPIs read.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-22 22:00:13.743476
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "products",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("sku", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=300), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("price", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint("price >= 0", name=op.f("ck_products_price")),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_products_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_products")),
    )
    op.create_index(
        "ix_products_created_at", "products", ["workspace_id", "created_at", "id"], unique=False
    )
    op.create_index("ix_products_name", "products", ["workspace_id", "name", "id"], unique=False)
    op.create_index(
        "uq_products_sku",
        "products",
        ["workspace_id", sa.literal_column("lower(sku)")],
        unique=True,
    )
    op.create_table(
        "orders",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("contact_id", sa.Uuid(), nullable=False),
        sa.Column("company_id", sa.Uuid(), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("currency", sa.String(length=3), nullable=False),
        sa.Column("total", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.Column("placed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_changed_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "status IN ('placed', 'paid', 'fulfilled', 'cancelled', 'refunded')",
            name=op.f("ck_orders_status"),
        ),
        sa.CheckConstraint("total >= 0", name=op.f("ck_orders_total")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name="fk_orders_company",
            ondelete="SET NULL (company_id)",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_orders_contact",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_orders_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_orders")),
    )
    op.create_index(
        "ix_orders_company",
        "orders",
        ["workspace_id", "company_id", "placed_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_orders_contact",
        "orders",
        ["workspace_id", "contact_id", "placed_at", "id"],
        unique=False,
    )
    op.create_index(
        "ix_orders_created_at", "orders", ["workspace_id", "created_at", "id"], unique=False
    )
    op.create_index(
        "ix_orders_placed_at", "orders", ["workspace_id", "placed_at", "id"], unique=False
    )
    op.create_index(
        "ix_orders_status", "orders", ["workspace_id", "status", "placed_at", "id"], unique=False
    )
    op.create_index("ix_orders_total", "orders", ["workspace_id", "total", "id"], unique=False)
    op.create_table(
        "order_lines",
        sa.Column("workspace_id", sa.Uuid(), nullable=False),
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("order_id", sa.Uuid(), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.Column("product_id", sa.Uuid(), nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("unit_price", sa.Numeric(precision=20, scale=2), nullable=False),
        sa.CheckConstraint("quantity > 0", name=op.f("ck_order_lines_quantity")),
        sa.CheckConstraint("unit_price >= 0", name=op.f("ck_order_lines_unit_price")),
        sa.ForeignKeyConstraint(
            ["workspace_id", "order_id"],
            ["orders.workspace_id", "orders.id"],
            name="fk_order_lines_order",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id", "product_id"],
            ["products.workspace_id", "products.id"],
            name="fk_order_lines_product",
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_order_lines_workspace_id_workspaces"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("workspace_id", "id", name=op.f("pk_order_lines")),
    )
    op.create_index(
        "ix_order_lines_order",
        "order_lines",
        ["workspace_id", "order_id", "position"],
        unique=False,
    )
    op.create_index(
        "ix_order_lines_product", "order_lines", ["workspace_id", "product_id"], unique=False
    )


def downgrade() -> None:
    op.drop_index("ix_order_lines_product", table_name="order_lines")
    op.drop_index("ix_order_lines_order", table_name="order_lines")
    op.drop_table("order_lines")
    op.drop_index("ix_orders_total", table_name="orders")
    op.drop_index("ix_orders_status", table_name="orders")
    op.drop_index("ix_orders_placed_at", table_name="orders")
    op.drop_index("ix_orders_created_at", table_name="orders")
    op.drop_index("ix_orders_contact", table_name="orders")
    op.drop_index("ix_orders_company", table_name="orders")
    op.drop_table("orders")
    op.drop_index("uq_products_sku", table_name="products")
    op.drop_index("ix_products_name", table_name="products")
    op.drop_index("ix_products_created_at", table_name="products")
    op.drop_table("products")
