import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.export import add_export_route, read_as
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import (
    MessageCreate,
    MessageListParams,
    MessageRead,
    TicketCreate,
    TicketListParams,
    TicketRead,
    TicketUpdate,
)

router = crm_router("/v1/tickets", "Tickets")
Reader = Annotated[Principal, Depends(require(Scope.tickets_read))]
Writer = Annotated[Principal, Depends(require(Scope.tickets_write))]
_CHANGE_ERRORS = problem_responses(404, 409, 412, 428)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Open a ticket",
    responses=problem_responses(400, 413, 415),
)
async def create_ticket(
    data: TicketCreate, session: SessionDep, principal: Writer, response: Response
) -> TicketRead:
    ticket = await service.create_ticket(session, principal, data)
    response.headers["Location"] = f"/v1/tickets/{ticket.id}"
    return TicketRead.model_validate(ticket)


@router.get("", summary="List tickets", openapi_extra=documented_params(TicketListParams))
async def list_tickets(
    params: Annotated[TicketListParams, Depends(list_params(TicketListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[TicketRead]:
    rows, next_cursor = await service.list_tickets(session, principal, params)
    return Page(data=[TicketRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.get("/{ticket_id:uuid}", summary="Get a ticket", responses=problem_responses(404))
async def get_ticket(ticket_id: uuid.UUID, session: SessionDep, principal: Reader) -> TicketRead:
    return await service.read_ticket(session, principal, ticket_id)


@router.patch(
    "/{ticket_id:uuid}",
    summary="Update a ticket or move it through its workflow",
    description="A status move the workflow does not allow is a 409 naming the allowed ones.",
    responses=problem_responses(400, 404, 409, 412, 413, 415, 428),
)
async def update_ticket(
    ticket_id: uuid.UUID,
    data: TicketUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> TicketRead:
    ticket = await service.update_ticket(session, principal, ticket_id, data, if_match)
    return TicketRead.model_validate(ticket)


@router.post(
    "/{ticket_id:uuid}/messages",
    status_code=status.HTTP_201_CREATED,
    summary="Reply to a ticket or add an internal note",
    responses=problem_responses(400, 404, 409, 413, 415),
)
async def add_message(
    ticket_id: uuid.UUID, data: MessageCreate, session: SessionDep, principal: Writer
) -> MessageRead:
    return MessageRead.model_validate(
        await service.add_message(session, principal, ticket_id, data)
    )


@router.get(
    "/{ticket_id:uuid}/messages",
    summary="A ticket's conversation, oldest first",
    responses=problem_responses(404),
    openapi_extra=documented_params(MessageListParams),
)
async def list_messages(
    ticket_id: uuid.UUID,
    params: Annotated[MessageListParams, Depends(list_params(MessageListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[MessageRead]:
    rows, next_cursor = await service.list_messages(session, principal, ticket_id, params)
    return Page(data=[MessageRead.model_validate(row) for row in rows], next_cursor=next_cursor)


@router.post("/{ticket_id:uuid}/archive", summary="Archive a ticket", responses=_CHANGE_ERRORS)
async def archive_ticket(
    ticket_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> TicketRead:
    ticket = await service.archive_ticket(session, principal, ticket_id, if_match, archived=True)
    return TicketRead.model_validate(ticket)


@router.post(
    "/{ticket_id:uuid}/restore", summary="Restore an archived ticket", responses=_CHANGE_ERRORS
)
async def restore_ticket(
    ticket_id: uuid.UUID,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> TicketRead:
    ticket = await service.archive_ticket(session, principal, ticket_id, if_match, archived=False)
    return TicketRead.model_validate(ticket)


@router.delete(
    "/{ticket_id:uuid}",
    status_code=status.HTTP_204_NO_CONTENT,
    summary="Delete an archived ticket for good",
    description="Only an archived ticket can be deleted (409 otherwise).",
    responses=_CHANGE_ERRORS,
)
async def delete_ticket(
    ticket_id: uuid.UUID, session: SessionDep, principal: Writer, if_match: IfMatchDep
) -> None:
    await service.delete_ticket(session, principal, ticket_id, if_match)


add_export_route(
    router,
    plural="tickets",
    list_model=TicketListParams,
    fetch=read_as(service.list_tickets, TicketRead),
    read=TicketRead,
    reader=Reader,
)
