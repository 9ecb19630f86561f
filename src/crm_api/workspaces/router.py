from typing import Annotated

from fastapi import Depends, Response

from crm_api.core.auth import Principal, PrincipalDep, Scope, require
from crm_api.core.concurrency import IfMatchDep, etag
from crm_api.core.errors import problem_responses
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep
from crm_api.models import Workspace

from . import service
from .schemas import WorkspaceRead, WorkspaceUpdate

router = crm_router("/v1/workspace", "Workspace")
Writer = Annotated[Principal, Depends(require(Scope.workspace_write))]


def _served(workspace: Workspace, response: Response) -> WorkspaceRead:
    response.headers["ETag"] = etag(workspace.version)
    return WorkspaceRead.model_validate(workspace)


@router.get("", summary="Get the caller's workspace", description="Any valid API key may read it.")
async def get_workspace(
    session: SessionDep, principal: PrincipalDep, response: Response
) -> WorkspaceRead:
    return _served(await service.get_workspace(session, principal), response)


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
    response: Response,
) -> WorkspaceRead:
    return _served(await service.update_workspace(session, principal, data, if_match), response)
