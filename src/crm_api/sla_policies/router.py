import uuid
from typing import Annotated

from fastapi import Depends, status

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.record_routes import RecordDocs, RecordSchemas, RecordService, add_record_routes
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import SlaPolicyCreate, SlaPolicyListParams, SlaPolicyRead, SlaPolicyUpdate

router = crm_router("/v1/sla-policies", "SLA policies")
Reader = Annotated[Principal, Depends(require(Scope.tickets_read))]
Writer = Annotated[Principal, Depends(require(Scope.sla_policies_write))]

add_record_routes(
    router,
    one="sla_policy",
    many="sla_policies",
    schemas=RecordSchemas(
        create=SlaPolicyCreate,
        update=SlaPolicyUpdate,
        read=SlaPolicyRead,
        list_params=SlaPolicyListParams,
        serve=SlaPolicyRead.model_validate,
    ),
    service=RecordService(
        create=service.create_policy,
        list=service.list_policies,
        get=service.get_policy,
        update=service.update_policy,
    ),
    reader=Reader,
    writer=Writer,
    docs=RecordDocs(
        create="Create an SLA policy",
        create_description="With `is_default`, it replaces the workspace's current default policy.",
        list="List SLA policies",
        get="Get an SLA policy",
        update="Update an SLA policy",
        update_description="New targets or hours apply at once to the policy's tickets that "
        "are not closed.",
    ),
)


@router.delete(
    "/{sla_policy_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an SLA policy",
    description="Its tickets that are not closed lose their SLA clocks; recorded breaches stay.",
    responses=problem_responses(404, 412, 428),
)
async def delete_sla_policy(
    sla_policy_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_policy(session, principal, sla_policy_id, if_match)
