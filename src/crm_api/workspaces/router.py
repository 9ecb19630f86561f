from typing import Annotated

from fastapi import Depends

from crm_api.core.auth import Principal, PrincipalDep, Scope, require
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import WorkspaceRead, WorkspaceUpdate

router = crm_router("/v1/workspace", "Workspace")
Writer = Annotated[Principal, Depends(require(Scope.workspace_write))]


@router.get("", summary="Get the caller's workspace", description="Any valid API key may read it.")
async def get_workspace(session: SessionDep, principal: PrincipalDep) -> WorkspaceRead:
    return WorkspaceRead.model_validate(await service.get_workspace(session, principal))


@router.patch(
    "",
    summary="Change the workspace's name or settings",
    responses=problem_responses(400, 412, 413, 415, 428),
)
async def update_workspace(
    data: WorkspaceUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> WorkspaceRead:
    return WorkspaceRead.model_validate(
        await service.update_workspace(session, principal, data, if_match)
    )
