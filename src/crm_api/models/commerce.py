import uuid
from datetime import datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    func,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import Base, Timestamped, Versioned, WorkspaceScoped, utcnow

ORDER_STATUSES = ("placed", "paid", "fulfilled", "cancelled", "refunded")


class Product(WorkspaceScoped, Timestamped, Versioned, Base):
    """The catalog: what orders are made of."""

    __tablename__ = "products"

    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(300))
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    currency: Mapped[str] = mapped_column(String(3))
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    __table_args__ = (
        CheckConstraint("price >= 0", name="price"),
        Index("uq_products_sku", "workspace_id", func.lower(sku), unique=True),
        Index("ix_products_created_at", "workspace_id", "created_at", "id"),
        Index("ix_products_name", "workspace_id", "name", "id"),
    )


class Order(WorkspaceScoped, Timestamped, Versioned, Base):
    """A purchase by a contact (and their company): what CLV, RFM and churn read."""

    __tablename__ = "orders"

    contact_id: Mapped[uuid.UUID]
    company_id: Mapped[uuid.UUID | None]
    status: Mapped[str] = mapped_column(String(16), default="placed")
    currency: Mapped[str] = mapped_column(String(3))
    total: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    placed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    status_changed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    note: Mapped[str | None] = mapped_column(Text)

    __table_args__ = (
        CheckConstraint(f"status IN {ORDER_STATUSES!r}", name="status"),
        CheckConstraint("total >= 0", name="total"),
        ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_orders_contact",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "company_id"],
            ["companies.workspace_id", "companies.id"],
            name="fk_orders_company",
            ondelete="SET NULL (company_id)",
        ),
        Index("ix_orders_placed_at", "workspace_id", "placed_at", "id"),
        Index("ix_orders_created_at", "workspace_id", "created_at", "id"),
        Index("ix_orders_contact", "workspace_id", "contact_id", "placed_at", "id"),
        Index("ix_orders_company", "workspace_id", "company_id", "placed_at", "id"),
        Index("ix_orders_status", "workspace_id", "status", "placed_at", "id"),
        Index("ix_orders_total", "workspace_id", "total", "id"),
        # Distinct buyers in a window (churn, retention, active customers) from the index alone.
        Index(
            "ix_orders_paid",
            "workspace_id",
            "placed_at",
            postgresql_include=["contact_id", "currency", "total"],
            postgresql_where=text("status IN ('paid', 'fulfilled')"),
        ),
    )


class OrderLine(WorkspaceScoped, Base):
    __tablename__ = "order_lines"

    order_id: Mapped[uuid.UUID]
    position: Mapped[int] = mapped_column(Integer)
    product_id: Mapped[uuid.UUID]
    quantity: Mapped[int] = mapped_column(Integer)
    unit_price: Mapped[Decimal] = mapped_column(Numeric(20, 2))

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity"),
        CheckConstraint("unit_price >= 0", name="unit_price"),
        ForeignKeyConstraint(
            ["workspace_id", "order_id"],
            ["orders.workspace_id", "orders.id"],
            name="fk_order_lines_order",
            ondelete="CASCADE",
        ),
        ForeignKeyConstraint(
            ["workspace_id", "product_id"],
            ["products.workspace_id", "products.id"],
            name="fk_order_lines_product",
        ),
        Index("ix_order_lines_order", "workspace_id", "order_id", "position"),
        Index("ix_order_lines_product", "workspace_id", "product_id"),
    )


RFM_SEGMENTS = (
    "champions",
    "loyal",
    "potential_loyalist",
    "new_customers",
    "promising",
    "need_attention",
    "at_risk",
    "cannot_lose",
    "hibernating",
    "lost",
)


class ContactRfm(Base):
    """A customer's recency, frequency and monetary quintile scores (5 best) and segment, as
    last computed from paid and fulfilled orders."""

    __tablename__ = "contact_rfm"

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    contact_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    last_order_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recency_days: Mapped[int]
    frequency: Mapped[int]
    monetary: Mapped[Decimal] = mapped_column(Numeric(20, 2))
    currency: Mapped[str] = mapped_column(String(3))
    r_score: Mapped[int]
    f_score: Mapped[int]
    m_score: Mapped[int]
    segment: Mapped[str] = mapped_column(String(32))
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))

    @property
    def id(self) -> uuid.UUID:
        """Keyset pages break ties by this."""
        return self.contact_id

    __table_args__ = (
        CheckConstraint(f"segment IN {RFM_SEGMENTS!r}", name="segment"),
        ForeignKeyConstraint(
            ["workspace_id", "contact_id"],
            ["contacts.workspace_id", "contacts.id"],
            name="fk_contact_rfm_contact",
            ondelete="CASCADE",
        ),
        Index("ix_contact_rfm_segment", "workspace_id", "segment", "contact_id"),
        Index("ix_contact_rfm_monetary", "workspace_id", "monetary", "contact_id"),
        Index("ix_contact_rfm_recency", "workspace_id", "recency_days", "contact_id"),
    )
