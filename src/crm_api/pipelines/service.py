import uuid
from collections import defaultdict
from collections.abc import Iterable, Sequence
from contextlib import AbstractAsyncContextManager

from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import Conflict, NotFound, invalid_field
from crm_api.core.events import record_event
from crm_api.core.pagination import page_of, parse_sort
from crm_api.core.records import touch, unique_guard
from crm_api.models import Pipeline, PipelineStage

from . import repository
from .schemas import (
    PipelineCreate,
    PipelineListParams,
    PipelineRead,
    PipelineUpdate,
    StageCreate,
    StageOrder,
    StageRead,
    StageUpdate,
)

DEFAULT_PIPELINE = PipelineCreate(
    name="Sales pipeline",
    stages=[
        StageCreate(name="New", probability=10),
        StageCreate(name="Qualified", probability=25),
        StageCreate(name="Proposal", probability=50),
        StageCreate(name="Negotiation", probability=75),
        StageCreate(name="Won", probability=100, kind="won"),
        StageCreate(name="Lost", probability=0, kind="lost"),
    ],
)


def _read(pipeline: Pipeline, stages: Sequence[PipelineStage]) -> PipelineRead:
    return PipelineRead(
        id=pipeline.id,
        name=pipeline.name,
        stages=[StageRead.model_validate(stage) for stage in stages],
        created_at=pipeline.created_at,
        updated_at=pipeline.updated_at,
        version=pipeline.version,
    )


def _name_guard(
    session: AsyncSession, workspace_id: uuid.UUID, name: str
) -> AbstractAsyncContextManager[None]:
    return unique_guard(
        session,
        constraint="uq_pipelines_name",
        field="name",
        find_existing=lambda: repository.find_by_name(session, workspace_id, name),
    )


def _stage_names_unique(names: Sequence[str]) -> None:
    seen: set[str] = set()
    for index, name in enumerate(names):
        if name in seen:
            raise invalid_field(["body", "stages", index, "name"], "stage names must be unique")
        seen.add(name)


async def add_pipeline(
    session: AsyncSession, workspace_id: uuid.UUID, data: PipelineCreate
) -> tuple[Pipeline, list[PipelineStage]]:
    _stage_names_unique([stage.name for stage in data.stages])
    pipeline = Pipeline(workspace_id=workspace_id, name=data.name)
    async with _name_guard(session, workspace_id, data.name):
        session.add(pipeline)
    stages = [
        PipelineStage(
            workspace_id=workspace_id,
            pipeline_id=pipeline.id,
            name=stage.name,
            position=position,
            probability=stage.probability,
            kind=stage.kind,
        )
        for position, stage in enumerate(data.stages)
    ]
    session.add_all(stages)
    await session.flush()
    return pipeline, stages


async def create_pipeline(
    session: AsyncSession, principal: Principal, data: PipelineCreate
) -> PipelineRead:
    pipeline, stages = await add_pipeline(session, principal.workspace_id, data)
    read = _read(pipeline, stages)
    record_event(session, principal, "pipeline.created", pipeline.id, read)
    return read


async def _locked(
    session: AsyncSession, principal: Principal, pipeline_id: uuid.UUID, if_match: IfMatch
) -> Pipeline:
    pipeline = await repository.get_pipeline(
        session, principal.workspace_id, pipeline_id, for_update=True
    )
    if pipeline is None:
        raise NotFound(f"No pipeline {pipeline_id}.")
    if_match.check(pipeline.version)
    return pipeline


async def _stages(
    session: AsyncSession, principal: Principal, pipeline_id: uuid.UUID
) -> list[PipelineStage]:
    return list(await repository.stages_of(session, principal.workspace_id, [pipeline_id]))


async def get_pipeline(
    session: AsyncSession, principal: Principal, pipeline_id: uuid.UUID
) -> PipelineRead:
    pipeline = await repository.get_pipeline(session, principal.workspace_id, pipeline_id)
    if pipeline is None:
        raise NotFound(f"No pipeline {pipeline_id}.")
    return _read(pipeline, await _stages(session, principal, pipeline_id))


async def list_pipelines(
    session: AsyncSession, principal: Principal, params: PipelineListParams
) -> tuple[list[PipelineRead], str | None]:
    sort = parse_sort(params.sort, repository.SORTABLE)
    rows = await repository.list_pipelines(session, principal.workspace_id, params, sort)
    page, next_cursor = page_of(rows, sort, params)
    stages: dict[uuid.UUID, list[PipelineStage]] = defaultdict(list)
    for stage in await repository.stages_of(
        session, principal.workspace_id, [pipeline.id for pipeline in page]
    ):
        stages[stage.pipeline_id].append(stage)
    return [_read(pipeline, stages[pipeline.id]) for pipeline in page], next_cursor


async def _changed(session: AsyncSession, principal: Principal, pipeline: Pipeline) -> PipelineRead:
    touch(pipeline)
    await session.flush()
    read = _read(pipeline, await _stages(session, principal, pipeline.id))
    record_event(session, principal, "pipeline.updated", pipeline.id, read)
    return read


async def update_pipeline(
    session: AsyncSession,
    principal: Principal,
    pipeline_id: uuid.UUID,
    data: PipelineUpdate,
    if_match: IfMatch,
) -> PipelineRead:
    pipeline = await _locked(session, principal, pipeline_id, if_match)
    if data.name is not None and data.name != pipeline.name:
        async with _name_guard(session, principal.workspace_id, data.name):
            pipeline.name = data.name
    return await _changed(session, principal, pipeline)


async def delete_pipeline(
    session: AsyncSession, principal: Principal, pipeline_id: uuid.UUID, if_match: IfMatch
) -> None:
    pipeline = await _locked(session, principal, pipeline_id, if_match)
    deals = await repository.count_deals(session, principal.workspace_id, pipeline_id=pipeline_id)
    if deals:
        raise Conflict(f"The pipeline still holds {deals} deal(s); move or delete them first.")
    snapshot = _read(pipeline, await _stages(session, principal, pipeline_id))
    await session.delete(pipeline)
    await session.flush()
    record_event(session, principal, "pipeline.deleted", pipeline_id, snapshot)


async def add_stage(
    session: AsyncSession,
    principal: Principal,
    pipeline_id: uuid.UUID,
    data: StageCreate,
    if_match: IfMatch,
) -> PipelineRead:
    pipeline = await _locked(session, principal, pipeline_id, if_match)
    stages = await _stages(session, principal, pipeline_id)
    if any(stage.name == data.name for stage in stages):
        raise invalid_field(["body", "name"], "a stage with this name already exists")
    position = len(stages) if data.position is None else min(data.position, len(stages))
    await repository.shift_positions(session, principal.workspace_id, pipeline_id, position, 1)
    session.add(
        PipelineStage(
            workspace_id=principal.workspace_id,
            pipeline_id=pipeline_id,
            name=data.name,
            position=position,
            probability=data.probability,
            kind=data.kind,
        )
    )
    return await _changed(session, principal, pipeline)


async def _stage_of(
    session: AsyncSession, principal: Principal, pipeline_id: uuid.UUID, stage_id: uuid.UUID
) -> PipelineStage:
    stage = await repository.get_stage(session, principal.workspace_id, stage_id)
    if stage is None or stage.pipeline_id != pipeline_id:
        raise NotFound(f"No stage {stage_id} in pipeline {pipeline_id}.")
    return stage


async def update_stage(
    session: AsyncSession,
    principal: Principal,
    pipeline_id: uuid.UUID,
    stage_id: uuid.UUID,
    data: StageUpdate,
    if_match: IfMatch,
) -> PipelineRead:
    pipeline = await _locked(session, principal, pipeline_id, if_match)
    stage = await _stage_of(session, principal, pipeline_id, stage_id)
    if data.name is not None and data.name != stage.name:
        siblings = await _stages(session, principal, pipeline_id)
        if any(other.name == data.name for other in siblings):
            raise invalid_field(["body", "name"], "a stage with this name already exists")
    for field, value in data.model_dump(exclude_unset=True).items():
        setattr(stage, field, value)
    touch(stage)
    return await _changed(session, principal, pipeline)


async def reorder_stages(
    session: AsyncSession,
    principal: Principal,
    pipeline_id: uuid.UUID,
    data: StageOrder,
    if_match: IfMatch,
) -> PipelineRead:
    pipeline = await _locked(session, principal, pipeline_id, if_match)
    stages = {stage.id: stage for stage in await _stages(session, principal, pipeline_id)}
    if sorted(data.stage_ids) != sorted(stages):
        raise invalid_field(
            ["body", "stage_ids"], "must list every stage of the pipeline exactly once"
        )
    for position, stage_id in enumerate(data.stage_ids):
        stages[stage_id].position = position
    return await _changed(session, principal, pipeline)


async def delete_stage(
    session: AsyncSession,
    principal: Principal,
    pipeline_id: uuid.UUID,
    stage_id: uuid.UUID,
    move_deals_to: uuid.UUID | None,
    if_match: IfMatch,
) -> PipelineRead:
    """Delete a stage; its deals move to ``move_deals_to`` (a stage of the same pipeline) first.

    Without a target, a stage that still holds deals is a 409.
    """
    from crm_api.deals.service import move_stage_deals

    pipeline = await _locked(session, principal, pipeline_id, if_match)
    stage = await _stage_of(session, principal, pipeline_id, stage_id)
    stages = await _stages(session, principal, pipeline_id)
    if len(stages) == 1:
        raise Conflict("A pipeline keeps at least one stage.")
    held = await repository.count_deals(session, principal.workspace_id, stage_id=stage_id)
    if held:
        if move_deals_to is None:
            raise Conflict(
                f"The stage still holds {held} deal(s); give move_deals_to to move them."
            )
        target = await repository.get_stage(session, principal.workspace_id, move_deals_to)
        if target is None or target.pipeline_id != pipeline_id or target.id == stage_id:
            raise invalid_field(
                ["query", "move_deals_to"], "must be another stage of the same pipeline"
            )
        await move_stage_deals(session, principal, stage, target)
    await session.delete(stage)
    await session.flush()
    await repository.shift_positions(
        session, principal.workspace_id, pipeline_id, stage.position + 1, -1
    )
    return await _changed(session, principal, pipeline)


async def names_of(
    session: AsyncSession, principal: Principal, stage_ids: Iterable[uuid.UUID | None]
) -> dict[uuid.UUID, tuple[str, str]]:
    """Each stage's (pipeline name, stage name): what names it in any workspace."""
    ids = sorted({stage_id for stage_id in stage_ids if stage_id is not None})
    return await repository.names_of(session, principal.workspace_id, ids) if ids else {}
