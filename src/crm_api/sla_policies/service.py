import uuid
from contextlib import AbstractAsyncContextManager
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.errors import NotFound, invalid_field
from crm_api.core.events import record_event, record_update
from crm_api.core.ids import new_id
from crm_api.core.pagination import Sort, page_of, paginate, parse_sort
from crm_api.core.records import sent_values, touch, unique_guard
from crm_api.models import SlaPolicy
from crm_api.tickets.service import reapply_policy
from crm_api.tickets.sla import calendar_of

from .schemas import SlaPolicyCreate, SlaPolicyListParams, SlaPolicyRead, SlaPolicyUpdate

SORTABLE = {"created_at": SlaPolicy.created_at}


def _name_guard(
    session: AsyncSession, workspace_id: uuid.UUID, name: str
) -> AbstractAsyncContextManager[None]:
    async def existing() -> SlaPolicy | None:
        return await session.scalar(
            select(SlaPolicy).where(SlaPolicy.workspace_id == workspace_id, SlaPolicy.name == name)
        )

    return unique_guard(
        session, constraint="uq_sla_policies_name", field="name", find_existing=existing
    )


async def _clear_default(session: AsyncSession, principal: Principal, keep: uuid.UUID) -> None:
    """One default per workspace: a new default takes over from the old one."""
    await session.execute(
        update(SlaPolicy)
        .where(
            SlaPolicy.workspace_id == principal.workspace_id,
            SlaPolicy.is_default,
            SlaPolicy.id != keep,
        )
        .values(is_default=False, version=SlaPolicy.version + 1)
        .execution_options(synchronize_session="fetch")
    )


def _check_reachable(targets: dict[str, Any], business_hours: dict[str, Any] | None) -> None:
    """A target must fall within five years of opening hours: the clock arithmetic looks no
    further than ten (holidays take at most 1000 days of them)."""
    calendar = calendar_of(business_hours)
    if calendar is None:
        return
    week = timedelta()
    for intervals in calendar.weekly_hours.values():
        for opens, closes in intervals:
            end = datetime.combine(date.min + timedelta(days=1 if closes == time(0) else 0), closes)
            week += end - datetime.combine(date.min, opens)
    longest = max(
        (minutes for target in targets.values() for minutes in target.values() if minutes),
        default=0,
    )
    if timedelta(minutes=longest) > week * 52 * 5:
        raise invalid_field(
            ["body", "targets"], "a target is longer than five years of these opening hours"
        )


def _stored(data: SlaPolicyCreate | SlaPolicyUpdate) -> dict[str, Any]:
    """The sent fields as the policy stores them (JSON for targets and hours)."""
    values = data.model_dump(mode="json", include=data.model_fields_set | {"targets"})
    if values.get("targets") is None:
        values.pop("targets", None)
    return values


async def create_policy(
    session: AsyncSession, principal: Principal, data: SlaPolicyCreate
) -> SlaPolicy:
    values = _stored(data)
    _check_reachable(values["targets"], values.get("business_hours"))
    policy = SlaPolicy(
        workspace_id=principal.workspace_id,
        id=new_id(),
        name=data.name,
        is_default=data.is_default,
        targets=values["targets"],
        business_hours=values.get("business_hours"),
    )
    if data.is_default:
        await _clear_default(session, principal, policy.id)
    async with _name_guard(session, principal.workspace_id, data.name):
        session.add(policy)
    record_event(
        session, principal, "sla_policy.created", policy.id, SlaPolicyRead.model_validate(policy)
    )
    return policy


async def get_policy(
    session: AsyncSession, principal: Principal, policy_id: uuid.UUID, *, for_update: bool = False
) -> SlaPolicy:
    statement = select(SlaPolicy).where(
        SlaPolicy.workspace_id == principal.workspace_id, SlaPolicy.id == policy_id
    )
    if for_update:
        statement = statement.with_for_update()
    policy = await session.scalar(statement)
    if policy is None:
        raise NotFound(f"No SLA policy {policy_id}.")
    return policy


async def list_policies(
    session: AsyncSession, principal: Principal, params: SlaPolicyListParams
) -> tuple[list[SlaPolicy], str | None]:
    sort: Sort = parse_sort(params.sort, SORTABLE)
    statement = select(SlaPolicy).where(SlaPolicy.workspace_id == principal.workspace_id)
    rows = (await session.scalars(paginate(statement, SlaPolicy.id, sort, params))).all()
    return page_of(rows, sort, params)


async def update_policy(
    session: AsyncSession,
    principal: Principal,
    policy_id: uuid.UUID,
    data: SlaPolicyUpdate,
    if_match: IfMatch,
) -> SlaPolicy:
    """Changed targets or hours are re-applied at once to the policy's tickets not closed."""
    policy = await get_policy(session, principal, policy_id, for_update=True)
    if_match.check(policy.version)
    changes = sent_values(data, frozenset())
    if not changes:
        return policy
    before = SlaPolicyRead.model_validate(policy).model_dump(mode="json")
    if changes.get("is_default"):
        await _clear_default(session, principal, policy.id)
    async with _name_guard(session, principal.workspace_id, data.name or policy.name):
        for field, value in _stored(data).items():
            setattr(policy, field, value)
        _check_reachable(policy.targets, policy.business_hours)
        touch(policy)
    if {"targets", "business_hours"} & changes.keys():
        await reapply_policy(session, principal, policy.id, policy)
    after = SlaPolicyRead.model_validate(policy)
    record_update(session, principal, "sla_policy.updated", policy.id, before, after)
    return policy


async def delete_policy(
    session: AsyncSession, principal: Principal, policy_id: uuid.UUID, if_match: IfMatch
) -> None:
    """Its tickets not closed lose their SLA clocks (breaches already recorded stay)."""
    policy = await get_policy(session, principal, policy_id, for_update=True)
    if_match.check(policy.version)
    read = SlaPolicyRead.model_validate(policy)
    await reapply_policy(session, principal, policy.id, None)
    await session.delete(policy)
    await session.flush()
    record_event(session, principal, "sla_policy.deleted", policy.id, read)
