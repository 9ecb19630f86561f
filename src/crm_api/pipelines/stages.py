"""Where a deal enters a pipeline: the rule every path that creates a deal follows."""

import uuid

from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.errors import invalid_field
from crm_api.models import PipelineStage

from . import repository


async def entry_stage(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    pipeline_id: uuid.UUID | None,
    stage_id: uuid.UUID | None,
) -> PipelineStage:
    """The stage a deal goes to: with no pipeline, the workspace's first; with no stage, the
    pipeline's first; ``stage_id`` must belong to ``pipeline_id`` (422 otherwise)."""
    if pipeline_id is None:
        first = await repository.first_pipeline(session, workspace_id)
        if first is None:
            raise invalid_field(["body", "pipeline_id"], "the workspace has no pipeline")
        pipeline_id = first.id
    elif await repository.get_pipeline(session, workspace_id, pipeline_id) is None:
        raise invalid_field(["body", "pipeline_id"], "no such pipeline", "not_found")
    if stage_id is None:
        stages = await repository.stages_of(session, workspace_id, [pipeline_id])
        return stages[0]
    stage = await repository.get_stage(session, workspace_id, stage_id)
    if stage is None or stage.pipeline_id != pipeline_id:
        raise invalid_field(["body", "stage_id"], "not a stage of the deal's pipeline")
    return stage
