from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.api_keys.schemas import ApiKeyCreate, ApiKeyCreated
from crm_api.api_keys.service import issue_api_key
from crm_api.core.auth import Principal, Scope
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import NotFound
from crm_api.core.events import record_update
from crm_api.core.records import apply_changes, sent_values, touch
from crm_api.models import Member, Workspace
from crm_api.models.base import utcnow
from crm_api.pipelines.service import DEFAULT_PIPELINE, add_pipeline
from crm_api.portal.cors import portal_origins

from .schemas import WorkspaceRead, WorkspaceUpdate

OWNER_EMAIL = "owner@example.com"


async def create_workspace(
    session: AsyncSession,
    name: str,
    *,
    owner_name: str = "Workspace owner",
    owner_email: str = OWNER_EMAIL,
) -> tuple[Workspace, ApiKeyCreated]:
    """A new workspace with the default sales pipeline, its owner (an admin member, whose
    voice staff replies take when their key acts for no member), and its first admin API key,
    acting for the owner (its secret is only in the return value)."""
    workspace = Workspace(name=name, created_at=utcnow())
    session.add(workspace)
    await session.flush()
    await add_pipeline(session, workspace.id, DEFAULT_PIPELINE)
    owner = Member(workspace_id=workspace.id, name=owner_name, email=owner_email, role="admin")
    session.add(owner)
    await session.flush()
    key = await issue_api_key(
        session,
        workspace.id,
        ApiKeyCreate(name="First admin key", scopes=[Scope.admin], member_id=owner.id),
    )
    return workspace, key


async def get_workspace(
    session: AsyncSession, principal: Principal, *, for_update: bool = False
) -> Workspace:
    workspace = await session.get(Workspace, principal.workspace_id, with_for_update=for_update)
    if workspace is None:
        raise NotFound("The workspace no longer exists.")
    return workspace


async def update_workspace(
    session: AsyncSession, principal: Principal, data: WorkspaceUpdate, if_match: IfMatch
) -> Workspace:
    workspace = await get_workspace(session, principal, for_update=True)
    if_match.check(workspace.version)
    changes = sent_values(data, frozenset())
    if not changes:
        return workspace
    before = WorkspaceRead.model_validate(workspace).model_dump(mode="json")
    apply_changes(workspace, changes, frozenset())
    touch(workspace)
    await session.flush()
    after = WorkspaceRead.model_validate(workspace)
    record_update(session, principal, "workspace.updated", workspace.id, before, after)
    if "portal_origins" in changes:
        portal_origins.forget()
    return workspace
