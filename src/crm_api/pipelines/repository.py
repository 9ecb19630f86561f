import uuid
from collections.abc import Sequence

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.pagination import Sort, paginate
from crm_api.models import Deal, Pipeline, PipelineStage

from .schemas import PipelineListParams

SORTABLE = {"created_at": Pipeline.created_at}


async def get_pipeline(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    pipeline_id: uuid.UUID,
    *,
    for_update: bool = False,
) -> Pipeline | None:
    statement = select(Pipeline).where(
        Pipeline.workspace_id == workspace_id, Pipeline.id == pipeline_id
    )
    if for_update:
        statement = statement.with_for_update()
    return await session.scalar(statement)


async def find_by_name(
    session: AsyncSession, workspace_id: uuid.UUID, name: str
) -> Pipeline | None:
    return await session.scalar(
        select(Pipeline).where(Pipeline.workspace_id == workspace_id, Pipeline.name == name)
    )


async def first_pipeline(session: AsyncSession, workspace_id: uuid.UUID) -> Pipeline | None:
    return await session.scalar(
        select(Pipeline)
        .where(Pipeline.workspace_id == workspace_id)
        .order_by(Pipeline.created_at, Pipeline.id)
        .limit(1)
    )


async def list_pipelines(
    session: AsyncSession, workspace_id: uuid.UUID, params: PipelineListParams, sort: Sort
) -> Sequence[Pipeline]:
    statement = select(Pipeline).where(Pipeline.workspace_id == workspace_id)
    return (await session.scalars(paginate(statement, Pipeline.id, sort, params))).all()


async def stages_of(
    session: AsyncSession, workspace_id: uuid.UUID, pipeline_ids: Sequence[uuid.UUID]
) -> Sequence[PipelineStage]:
    """The stages of these pipelines, in pipeline order."""
    statement = (
        select(PipelineStage)
        .where(
            PipelineStage.workspace_id == workspace_id,
            PipelineStage.pipeline_id.in_(pipeline_ids),
        )
        .order_by(PipelineStage.pipeline_id, PipelineStage.position)
    )
    return (await session.scalars(statement)).all()


async def names_of(
    session: AsyncSession, workspace_id: uuid.UUID, stage_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Each stage's (pipeline name, stage name)."""
    rows = await session.execute(
        select(PipelineStage.id, Pipeline.name.label("pipeline"), PipelineStage.name)
        .join(
            Pipeline,
            (Pipeline.workspace_id == PipelineStage.workspace_id)
            & (Pipeline.id == PipelineStage.pipeline_id),
        )
        .where(PipelineStage.workspace_id == workspace_id, PipelineStage.id.in_(stage_ids))
    )
    return {row.id: (row.pipeline, row.name) for row in rows}


async def get_stage(
    session: AsyncSession, workspace_id: uuid.UUID, stage_id: uuid.UUID
) -> PipelineStage | None:
    return await session.scalar(
        select(PipelineStage).where(
            PipelineStage.workspace_id == workspace_id, PipelineStage.id == stage_id
        )
    )


async def count_deals(
    session: AsyncSession,
    workspace_id: uuid.UUID,
    *,
    pipeline_id: uuid.UUID | None = None,
    stage_id: uuid.UUID | None = None,
) -> int:
    statement = select(func.count()).select_from(Deal).where(Deal.workspace_id == workspace_id)
    if pipeline_id is not None:
        statement = statement.where(Deal.pipeline_id == pipeline_id)
    if stage_id is not None:
        statement = statement.where(Deal.stage_id == stage_id)
    return int(await session.scalar(statement) or 0)


async def shift_positions(
    session: AsyncSession, workspace_id: uuid.UUID, pipeline_id: uuid.UUID, start: int, by: int
) -> None:
    """Move the stages at ``start`` and after by ``by`` places, to open or close a gap."""
    await session.execute(
        update(PipelineStage)
        .where(
            PipelineStage.workspace_id == workspace_id,
            PipelineStage.pipeline_id == pipeline_id,
            PipelineStage.position >= start,
        )
        .values(position=PipelineStage.position + by)
        .execution_options(synchronize_session="fetch")
    )
