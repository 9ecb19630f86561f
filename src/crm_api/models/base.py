"""One declarative Base with a constraint naming convention, and the columns every table shares."""

import uuid
from datetime import UTC, datetime

from sqlalchemy import DateTime, ForeignKey, ForeignKeyConstraint, Integer, MetaData
from sqlalchemy.orm import DeclarativeBase, Mapped, declared_attr, mapped_column

from crm_api.core.ids import new_id

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


# Trigram (search) indexes keep a short list of not-yet-merged entries: GIN's pending list is
# read in full by every search until it is merged, and at its default 4 MB a few thousand new or
# edited records made each `q=` search cost 2.8 ms of database time instead of 1 ms (measured on
# the benchmark's million contacts). At 64 kB, the least PostgreSQL allows, a search reads a few
# pages of it at most, and writes still merge their entries in batches.
TRIGRAM_INDEX_OPTIONS = {"gin_pending_list_limit": 64}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class WorkspaceScoped:
    """Primary key ``(workspace_id, id)``: the workspace leads every index, including this one,
    and composite foreign keys make a cross-workspace reference impossible in the database."""

    @declared_attr
    def workspace_id(cls) -> Mapped[uuid.UUID]:  # noqa: N805 - a declared_attr
        return mapped_column(
            ForeignKey("workspaces.id", ondelete="CASCADE"), primary_key=True, sort_order=-10
        )

    id: Mapped[uuid.UUID] = mapped_column(primary_key=True, default=new_id, sort_order=-9)


class Timestamped:
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Versioned:
    """A counter bumped on every change; served as the ETag and checked against If-Match."""

    version: Mapped[int] = mapped_column(Integer, default=1)


def contact_fk(table: str) -> ForeignKeyConstraint:
    """A row that belongs to a contact of its workspace, and goes with it."""
    return ForeignKeyConstraint(
        ["workspace_id", "contact_id"],
        ["contacts.workspace_id", "contacts.id"],
        name=f"fk_{table}_contact",
        ondelete="CASCADE",
    )
