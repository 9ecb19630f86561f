import uuid
from typing import Annotated

from fastapi import Depends, Response, status

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.concurrency import IfMatchDep
from crm_api.core.errors import problem_responses
from crm_api.core.pagination import Page
from crm_api.core.query import documented_params, list_params
from crm_api.core.routing import crm_router
from crm_api.core.session import SessionDep

from . import service
from .schemas import ProductCreate, ProductListParams, ProductRead, ProductUpdate

router = crm_router("/v1/products", "Products")
Reader = Annotated[Principal, Depends(require(Scope.orders_read))]
Writer = Annotated[Principal, Depends(require(Scope.products_write))]


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    summary="Add a product to the catalog",
    description="SKUs are unique per workspace, ignoring case (409 naming the existing one).",
    responses=problem_responses(400, 409, 413, 415),
)
async def create_product(
    data: ProductCreate, session: SessionDep, principal: Writer, response: Response
) -> ProductRead:
    product = await service.create_product(session, principal, data)
    response.headers["Location"] = f"/v1/products/{product.id}"
    return ProductRead.of(product)


@router.get("", summary="List products", openapi_extra=documented_params(ProductListParams))
async def list_products(
    params: Annotated[ProductListParams, Depends(list_params(ProductListParams))],
    session: SessionDep,
    principal: Reader,
) -> Page[ProductRead]:
    rows, next_cursor = await service.list_products(session, principal, params)
    return Page(data=[ProductRead.of(row) for row in rows], next_cursor=next_cursor)


@router.get("/{product_id:uuid}", summary="Get a product", responses=problem_responses(404))
async def get_product(product_id: uuid.UUID, session: SessionDep, principal: Reader) -> ProductRead:
    return ProductRead.of(await service.get_product(session, principal, product_id))


@router.patch(
    "/{product_id:uuid}",
    summary="Update a product",
    description="Set `active` to false to stop selling it; placed orders keep their prices.",
    responses=problem_responses(400, 404, 409, 412, 413, 415, 428),
)
async def update_product(
    product_id: uuid.UUID,
    data: ProductUpdate,
    session: SessionDep,
    principal: Writer,
    if_match: IfMatchDep,
) -> ProductRead:
    product = await service.update_product(session, principal, product_id, data, if_match)
    return ProductRead.of(product)
