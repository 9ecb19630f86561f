"""Pipelines and their ordered stages: the road a deal travels (see deal.py)."""

import uuid

from sqlalchemy import (
    CheckConstraint,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from crm_api.models.base import (
    Base,
    Timestamped,
    Versioned,
    WorkspaceScoped,
)

STAGE_KINDS = ("open", "won", "lost")


class Pipeline(WorkspaceScoped, Timestamped, Versioned, Base):
    __tablename__ = "pipelines"

    name: Mapped[str] = mapped_column(String(200))

    __table_args__ = (
        Index("uq_pipelines_name", "workspace_id", "name", unique=True),
        Index("ix_pipelines_created_at", "workspace_id", "created_at", "id"),
    )


class PipelineStage(WorkspaceScoped, Timestamped, Versioned, Base):
    __tablename__ = "pipeline_stages"

    pipeline_id: Mapped[uuid.UUID]
    name: Mapped[str] = mapped_column(String(200))
    position: Mapped[int] = mapped_column(Integer)
    probability: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(8))

    __table_args__ = (
        CheckConstraint("probability BETWEEN 0 AND 100", name="probability"),
        CheckConstraint(f"kind IN {STAGE_KINDS!r}", name="kind"),
        ForeignKeyConstraint(
            ["workspace_id", "pipeline_id"],
            ["pipelines.workspace_id", "pipelines.id"],
            name="fk_pipeline_stages_pipeline",
            ondelete="CASCADE",
        ),
        # Lets a deal's (pipeline, stage) pair be a foreign key: a stage of another pipeline
        # cannot be referenced at all.
        UniqueConstraint("workspace_id", "pipeline_id", "id", name="uq_pipeline_stages_pipeline"),
        Index("uq_pipeline_stages_name", "workspace_id", "pipeline_id", "name", unique=True),
        Index("ix_pipeline_stages_position", "workspace_id", "pipeline_id", "position"),
    )
