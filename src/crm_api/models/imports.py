"""Import jobs: an uploaded CSV or JSON Lines file, loaded in the background chunk by chunk."""

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import Base, Timestamped, WorkspaceScoped

IMPORT_RESOURCES = ("contacts", "companies", "deals")
IMPORT_STATUSES = ("queued", "running", "succeeded", "failed")


class ImportJob(WorkspaceScoped, Timestamped, Base):
    """Progress is committed with each chunk it counts, so a restart resumes after the last one."""

    __tablename__ = "import_jobs"

    resource: Mapped[str] = mapped_column(String(16))
    format: Mapped[str] = mapped_column(String(8))
    mode: Mapped[str] = mapped_column(String(8))
    filename: Mapped[str | None] = mapped_column(String(255))
    # {source column: target field}
    mapping: Mapped[dict[str, str]] = mapped_column(JSONB)
    reimport_erased: Mapped[bool] = mapped_column(Boolean, default=False)
    status: Mapped[str] = mapped_column(String(16), default="queued")
    rows_total: Mapped[int] = mapped_column(Integer)
    rows_done: Mapped[int] = mapped_column(Integer, default=0)
    created: Mapped[int] = mapped_column(Integer, default=0)
    updated: Mapped[int] = mapped_column(Integer, default=0)
    unchanged: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)
    actor_type: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None]
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A worker holds the job until then; past it, another worker may take it over.
    lease_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    __table_args__ = (
        CheckConstraint(f"resource IN {IMPORT_RESOURCES!r}", name="resource"),
        CheckConstraint(f"status IN {IMPORT_STATUSES!r}", name="status"),
        CheckConstraint("format IN ('csv', 'jsonl')", name="format"),
        CheckConstraint("mode IN ('create', 'upsert')", name="mode"),
        Index("ix_import_jobs_created_at", "workspace_id", "created_at", "id"),
        # The workers' claim: unfinished jobs only, across workspaces.
        Index(
            "ix_import_jobs_unfinished",
            "created_at",
            postgresql_where=text("status IN ('queued', 'running')"),
        ),
    )


class ImportFile(Base):
    """The uploaded bytes, kept in the database until the job ends (any worker can read them)."""

    __tablename__ = "import_files"

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    content: Mapped[bytes] = mapped_column(LargeBinary)

    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "job_id"],
            ["import_jobs.workspace_id", "import_jobs.id"],
            name="fk_import_files_job",
            ondelete="CASCADE",
        ),
    )


class ImportRowError(Base):
    """Why one row of an import was not loaded."""

    __tablename__ = "import_row_errors"

    workspace_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    job_id: Mapped[uuid.UUID] = mapped_column(primary_key=True)
    row: Mapped[int] = mapped_column(Integer, primary_key=True)
    errors: Mapped[list[dict[str, Any]]] = mapped_column(JSONB)

    __table_args__ = (
        ForeignKeyConstraint(
            ["workspace_id", "job_id"],
            ["import_jobs.workspace_id", "import_jobs.id"],
            name="fk_import_row_errors_job",
            ondelete="CASCADE",
        ),
    )
