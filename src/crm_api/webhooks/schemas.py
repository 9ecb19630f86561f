import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, AnyHttpUrl, Field, TypeAdapter
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, IsoDateTime, ReadSchema, not_null

_PATTERN = re.compile(r"^(\*|[a-z_]+\.\*|[a-z_]+\.[a-z_]+)$")


_HTTP_URL = TypeAdapter(AnyHttpUrl)


def _http_url(value: str) -> str:
    _HTTP_URL.validate_python(value)
    return value


def _patterns(values: list[str]) -> list[str]:
    for value in values:
        if not _PATTERN.match(value):
            raise ValueError(f"{value!r} is not an event type, `resource.*` or `*`")
    return sorted(set(values))


Url = Annotated[
    str,
    Field(min_length=1, max_length=2000, json_schema_extra={"format": "uri"}),
    AfterValidator(_http_url),
]
EventTypes = Annotated[
    list[str],
    AfterValidator(_patterns),
    Field(
        min_length=1,
        max_length=100,
        description="Event types to receive: exact (`deal.won`), per resource (`deal.*`), or `*`.",
        examples=[["deal.*", "ticket.sla_breached"]],
    ),
]


class WebhookEndpointCreate(InputSchema):
    url: Url = Field(examples=["https://partner.example/hooks/crm"])
    event_types: EventTypes = Field(
        default_factory=lambda: ["*"],
        description="Event types (`contact.created`), `resource.*` or `*`; left out, every event.",
    )
    description: str | None = Field(default=None, max_length=1000)
    enabled: bool = True


class WebhookEndpointUpdate(InputSchema):
    """Enabling a disabled endpoint clears its failure record."""

    url: Url | SkipJsonSchema[None] = None
    event_types: EventTypes | SkipJsonSchema[None] = None
    description: str | None = Field(default=None, max_length=1000)
    enabled: bool | SkipJsonSchema[None] = None

    _not_null = not_null("url", "event_types", "enabled")


class WebhookEndpointRead(ReadSchema):
    id: uuid.UUID
    url: str
    event_types: list[str]
    description: str | None
    enabled: bool
    disabled_reason: Literal["manual", "gone", "failing"] | None = Field(
        description="`gone`: the receiver answered 410; `failing`: 5 days of failed attempts."
    )
    failing_since: datetime | None
    previous_secret_expires_at: datetime | None = Field(
        description="Until then the secret before the last rotation also signs."
    )
    created_at: datetime
    updated_at: datetime
    version: int


class WebhookEndpointWithSecret(WebhookEndpointRead):
    secret: str = Field(description="`whsec_...`: shown when created and when rotated only.")


class WebhookEndpointListParams(ListParams):
    sort: Literal["created_at", "-created_at"] = "-created_at"
    enabled: bool | None = None


class ReplayRequest(InputSchema):
    since: IsoDateTime = Field(description="Re-send every matching event from this time on.")
    until: IsoDateTime | None = None


class ReplayResult(ReadSchema):
    deliveries: int = Field(description="How many deliveries were queued.")


class WebhookDeliveryRead(ReadSchema):
    id: uuid.UUID
    endpoint_id: uuid.UUID
    event_id: uuid.UUID
    event_type: str
    resource_id: uuid.UUID
    status: Literal["pending", "succeeded", "failed"]
    attempts: int
    next_attempt_at: datetime
    last_attempt_at: datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    completed_at: datetime | None


class WebhookDeliveryListParams(ListParams):
    sort: Literal["created_at", "-created_at"] = "-created_at"
    status: Literal["pending", "succeeded", "failed"] | None = None
    event_type: str | None = Field(default=None, max_length=64)


class WebhookAttemptRead(ReadSchema):
    id: uuid.UUID
    delivery_id: uuid.UUID
    attempt: int
    started_at: datetime
    duration_ms: int
    status_code: int | None
    response_excerpt: str | None
    error: str | None


class WebhookAttemptListParams(ListParams):
    sort: Literal["started_at", "-started_at"] = "started_at"


class RotatedSecret(ReadSchema):
    secret: str
    previous_secret_expires_at: datetime
