from crm_api.core.auth import PrincipalDep
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import WorkspaceRead

router = crm_router("/v1/workspace", "Workspace")


@router.get("", summary="Get the caller's workspace", description="Any valid API key may read it.")
async def get_workspace(session: SessionDep, principal: PrincipalDep) -> WorkspaceRead:
    return WorkspaceRead.model_validate(await service.get_workspace(session, principal))
