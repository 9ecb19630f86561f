from typing import Annotated

from fastapi import Depends

from crm_api.core.auth import Principal, Scope, require
from crm_api.core.record_routes import RecordDocs, RecordSchemas, RecordService, add_record_routes
from crm_api.core.routing import crm_router

from . import service
from .schemas import ProductCreate, ProductListParams, ProductRead, ProductUpdate

router = crm_router("/v1/products", "Products")
Reader = Annotated[Principal, Depends(require(Scope.orders_read))]
Writer = Annotated[Principal, Depends(require(Scope.products_write))]

add_record_routes(
    router,
    one="product",
    many="products",
    schemas=RecordSchemas(
        create=ProductCreate,
        update=ProductUpdate,
        read=ProductRead,
        list_params=ProductListParams,
        serve=ProductRead.of,
    ),
    service=RecordService(
        create=service.create_product,
        list=service.list_products,
        get=service.get_product,
        update=service.update_product,
    ),
    reader=Reader,
    writer=Writer,
    docs=RecordDocs(
        create="Add a product to the catalog",
        create_description="SKUs are unique per workspace, ignoring case (409 naming the "
        "existing one).",
        list="List products",
        get="Get a product",
        update="Update a product",
        update_description="Set `active` to false to stop selling it; placed orders keep their "
        "prices.",
    ),
)
