"""A deal as the API shows it, with its contacts: kept apart from the deal service (which calls
the company and contact services) so that those domains can read a deal without a cycle."""

from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.models import Deal

from . import repository
from .schemas import DealRead


async def read_deal(session: AsyncSession, deal: Deal) -> DealRead:
    contacts = await repository.contacts_of(session, deal.workspace_id, [deal.id])
    return DealRead.of(deal, contacts.get(deal.id, []))
