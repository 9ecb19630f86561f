from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated
from crm_api.api_keys.service import issue_api_key
from crm_api.core.auth import Principal, Scope
from crm_api.core.errors import NotFound
from crm_api.models import Workspace
from crm_api.models.base import utcnow
from crm_api.pipelines.service import DEFAULT_PIPELINE, add_pipeline


async def create_workspace(session: AsyncSession, name: str) -> tuple[Workspace, ApiKeyCreated]:
    """A new workspace with the default sales pipeline, and its first admin API key (whose
    secret is only in the return value)."""
    workspace = Workspace(name=name, created_at=utcnow())
    session.add(workspace)
    await session.flush()
    await add_pipeline(session, workspace.id, DEFAULT_PIPELINE)
    key = await issue_api_key(
        session, workspace.id, ApiKeyCreate(name="First admin key", scopes=[Scope.admin])
    )
    return workspace, key


async def get_workspace(session: AsyncSession, principal: Principal) -> Workspace:
    workspace = await session.get(Workspace, principal.workspace_id)
    if workspace is None:
        raise NotFound("The workspace no longer exists.")
    return workspace
