"""What the portal reads and writes: the customer's own view of their records, never a staff
field (owner, tags, custom fields, SLA clocks, internal notes)."""

import uuid
import zoneinfo
from datetime import datetime
from typing import Annotated, Literal

from pydantic import EmailStr, Field, field_validator
from pydantic.json_schema import SkipJsonSchema

from crm_api.contacts.schemas import Phone, PhoneRead
from crm_api.core.pagination import ListParams
from crm_api.core.schemas import Address, InputSchema, OptionalText, ReadSchema, not_null
from crm_api.tickets.schemas import Priority, TicketStatus

Password = str  # documented on each field: 10 to 200 characters
Channel = Literal["email", "sms", "phone"]


# --- Sign-in ----------------------------------------------------------------------------------


class PortalUserRead(ReadSchema):
    id: uuid.UUID
    contact_id: uuid.UUID
    email: str
    status: Literal["invited", "active", "disabled"]
    invited_at: datetime
    last_sign_in_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class InvitationRead(ReadSchema):
    portal_user: PortalUserRead
    expires_at: datetime


class AcceptInvitation(InputSchema):
    token: str = Field(min_length=10, max_length=200)
    password: Password | None = Field(
        default=None,
        min_length=10,
        max_length=200,
        description="Leave out to sign in by magic link only.",
    )


class SignIn(InputSchema):
    workspace_id: uuid.UUID = Field(description="The workspace whose portal this is.")
    email: EmailStr
    password: Password = Field(min_length=1, max_length=200)


class MagicLinkRequest(InputSchema):
    workspace_id: uuid.UUID
    email: EmailStr


class MagicLinkRedeem(InputSchema):
    token: str = Field(min_length=10, max_length=200)


class Refresh(InputSchema):
    refresh_token: str = Field(min_length=10, max_length=200)


class TokenPair(ReadSchema):
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - a scheme name
    access_token: str = Field(description="A JWT for `/v1/portal/...`, valid `expires_in` s.")
    expires_in: int
    refresh_token: str = Field(
        description="Single use: refreshing returns a new one. Reusing an old one signs out "
        "every session of its sign-in."
    )


class PasswordChange(InputSchema):
    current_password: str | None = Field(
        default=None, max_length=200, description="Required when a password is set."
    )
    new_password: Password = Field(min_length=10, max_length=200)


# --- Me ----------------------------------------------------------------------------------------


class Preferences(InputSchema):
    language: str | None = Field(
        default=None, pattern=r"^[a-zA-Z]{2,3}(-[a-zA-Z0-9]{2,8})*$", examples=["en-GB"]
    )
    time_zone: str | None = Field(default=None, max_length=64, examples=["Europe/Paris"])
    preferred_channel: Channel | None = None

    @field_validator("time_zone")
    @classmethod
    def _known_zone(cls, value: str | None) -> str | None:
        if value is not None and value not in zoneinfo.available_timezones():
            raise ValueError("not an IANA time zone")
        return value


class PreferencesRead(ReadSchema):
    language: str | None = None
    time_zone: str | None = None
    preferred_channel: Channel | None = None


class MeRead(ReadSchema):
    id: uuid.UUID = Field(description="The contact's id.")
    first_name: OptionalText
    last_name: OptionalText
    email: str | None
    phones: list[PhoneRead]
    address: Address | None
    company_id: uuid.UUID | None
    preferences: PreferencesRead
    version: int = Field(description="The contact's version: send it back as If-Match.")


class MeUpdate(InputSchema):
    """Only these fields; any other is a 422."""

    first_name: str | SkipJsonSchema[None] = Field(default=None, max_length=200)
    last_name: str | SkipJsonSchema[None] = Field(default=None, max_length=200)
    phones: Annotated[list[Phone], Field(max_length=20)] | SkipJsonSchema[None] = None
    address: Address | None = None
    preferences: Preferences | SkipJsonSchema[None] = None

    _not_null = not_null("first_name", "last_name", "phones", "preferences")


# --- Consent -----------------------------------------------------------------------------------


class ConsentState(ReadSchema):
    granted: bool
    changed_at: datetime | None = Field(description="Null when never recorded.")
    source: str | None


class ConsentsRead(ReadSchema):
    email: ConsentState
    sms: ConsentState
    phone: ConsentState


class ConsentsUpdate(InputSchema):
    email: bool | SkipJsonSchema[None] = None
    sms: bool | SkipJsonSchema[None] = None
    phone: bool | SkipJsonSchema[None] = None

    _not_null = not_null("email", "sms", "phone")


# --- Tickets -----------------------------------------------------------------------------------


class PortalTicketCreate(InputSchema):
    subject: str = Field(min_length=1, max_length=500)
    description: str | None = Field(default=None, max_length=100_000)
    priority: Literal["low", "normal", "high"] = "normal"


class PortalTicketRead(ReadSchema):
    id: uuid.UUID
    subject: str
    description: str | None
    requester_id: uuid.UUID
    company_id: uuid.UUID | None
    priority: Priority
    status: TicketStatus
    solved_at: datetime | None
    closed_at: datetime | None
    created_at: datetime
    updated_at: datetime
    version: int


class PortalTicketListParams(ListParams):
    sort: Literal["created_at", "-created_at", "updated_at", "-updated_at"] = "-created_at"
    status: list[TicketStatus] | None = None


class PortalMessageCreate(InputSchema):
    body: str = Field(min_length=1, max_length=100_000)


class PortalMessageRead(ReadSchema):
    id: uuid.UUID
    ticket_id: uuid.UUID
    author_type: Literal["member", "requester"] = Field(
        description="`member`: the support team; `requester`: the customer side."
    )
    body: str
    created_at: datetime


class PortalMessageListParams(ListParams):
    sort: Literal["created_at", "-created_at"] = "created_at"


class Rating(InputSchema):
    score: int = Field(ge=1, le=5, description="CSAT, 1 (very unhappy) to 5 (very happy).")
    comment: str | None = Field(default=None, max_length=10_000)


class RatingRead(ReadSchema):
    id: uuid.UUID
    ticket_id: uuid.UUID
    score: int
    comment: str | None
    responded_at: datetime


# --- Orders ------------------------------------------------------------------------------------


class PortalProductListParams(ListParams):
    sort: Literal["name", "-name"] = "name"


class PortalOrderLine(InputSchema):
    product_id: uuid.UUID
    quantity: int = Field(ge=1, le=10_000)


class PortalOrderCreate(InputSchema):
    lines: list[PortalOrderLine] = Field(min_length=1, max_length=100)
    note: str | None = Field(default=None, max_length=10_000)


class PortalOrderListParams(ListParams):
    sort: Literal["placed_at", "-placed_at"] = "-placed_at"
