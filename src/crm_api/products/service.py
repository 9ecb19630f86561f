import uuid
from contextlib import AbstractAsyncContextManager

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from crm_api.core.auth import Principal
from crm_api.core.concurrency import IfMatch
from crm_api.core.events import record_event, record_update
from crm_api.core.ids import new_id
from crm_api.core.pagination import page_of, paginate, parse_sort
from crm_api.core.records import (
    apply_changes,
    get_owned,
    sent_values,
    split_money,
    touch,
    unique_guard,
)
from crm_api.models import Product

from .schemas import ProductCreate, ProductListParams, ProductRead, ProductUpdate

SORTABLE = {"created_at": Product.created_at, "name": Product.name}


async def _by_sku(session: AsyncSession, workspace_id: uuid.UUID, sku: str) -> Product | None:
    return await session.scalar(
        select(Product).where(
            Product.workspace_id == workspace_id, func.lower(Product.sku) == sku.lower()
        )
    )


def _sku_guard(
    session: AsyncSession, workspace_id: uuid.UUID, sku: str
) -> AbstractAsyncContextManager[None]:
    return unique_guard(
        session,
        constraint="uq_products_sku",
        field="sku",
        find_existing=lambda: _by_sku(session, workspace_id, sku),
    )


async def create_product(
    session: AsyncSession, principal: Principal, data: ProductCreate
) -> Product:
    values = split_money(data.model_dump(), "price", "currency")
    product = Product(workspace_id=principal.workspace_id, id=new_id(), **values)
    async with _sku_guard(session, principal.workspace_id, data.sku):
        session.add(product)
    record_event(session, principal, "product.created", product.id, ProductRead.of(product))
    return product


async def get_product(
    session: AsyncSession, principal: Principal, product_id: uuid.UUID, *, for_update: bool = False
) -> Product:
    return await get_owned(
        session, Product, principal, product_id, "product", for_update=for_update
    )


async def list_products(
    session: AsyncSession, principal: Principal, params: ProductListParams
) -> tuple[list[Product], str | None]:
    sort = parse_sort(params.sort, SORTABLE)
    statement = select(Product).where(Product.workspace_id == principal.workspace_id)
    if params.active is not None:
        statement = statement.where(Product.active == params.active)
    if params.sku is not None:
        statement = statement.where(func.lower(Product.sku) == params.sku.lower())
    rows = (await session.scalars(paginate(statement, Product.id, sort, params))).all()
    return page_of(rows, sort, params)


async def update_product(
    session: AsyncSession,
    principal: Principal,
    product_id: uuid.UUID,
    data: ProductUpdate,
    if_match: IfMatch,
) -> Product:
    """A new price applies to orders placed from now on; placed orders keep theirs."""
    product = await get_product(session, principal, product_id, for_update=True)
    if_match.check(product.version)
    changes = split_money(sent_values(data, frozenset()), "price", "currency")
    if not changes:
        return product
    before = ProductRead.of(product).model_dump(mode="json")
    async with _sku_guard(session, principal.workspace_id, data.sku or product.sku):
        apply_changes(product, changes, frozenset())
        touch(product)
    record_update(
        session, principal, "product.updated", product.id, before, ProductRead.of(product)
    )
    return product
