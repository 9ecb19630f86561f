import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Annotated, Any, Literal, Self

from asyncpg import Record
from pydantic import ConfigDict, EmailStr, Field, TypeAdapter, model_validator
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.filters import RecordListParams
from crm_api.core.pagination import ListParams
from crm_api.core.schemas import (
    Address,
    CustomFieldValues,
    InputSchema,
    OptionalText,
    ReadSchema,
    Tags,
    not_null,
)

LifecycleStage = Literal[
    "subscriber",
    "lead",
    "marketing_qualified",
    "sales_qualified",
    "opportunity",
    "customer",
    "evangelist",
    "churned",
    "other",
]


class Phone(InputSchema):
    label: Literal["mobile", "work", "home", "other"] = "mobile"
    number: str = Field(pattern=r"^\+?[0-9 ()./-]{3,40}$", examples=["+44 20 7946 0958"])


class _ContactFields(InputSchema):
    email: EmailStr | None = Field(
        default=None, description="The primary email, unique in the workspace ignoring case."
    )
    job_title: str | None = Field(default=None, max_length=200)
    lead_source: str | None = Field(default=None, max_length=100, examples=["webinar"])
    owner_id: uuid.UUID | None = Field(default=None, description="The member who owns the contact.")
    company_id: uuid.UUID | None = None
    address: Address | None = None


class ContactCreate(_ContactFields):
    first_name: str = Field(default="", max_length=200, examples=["Grace"])
    last_name: str = Field(default="", max_length=200, examples=["Hopper"])
    additional_emails: list[EmailStr] = Field(default_factory=list, max_length=20)
    phones: list[Phone] = Field(default_factory=list, max_length=20)
    lifecycle_stage: LifecycleStage = "lead"
    tags: Tags = Field(default_factory=list)
    custom_fields: CustomFieldValues = Field(default_factory=dict)
    reimport_erased: bool = Field(
        default=False,
        description="Create it even though a person with this email was erased before "
        "(otherwise a 409).",
    )

    @model_validator(mode="after")
    def _identifiable(self) -> Self:
        if not (self.email or self.first_name or self.last_name):
            raise ValueError("a contact needs an email, a first_name or a last_name")
        return self


class ContactUpsert(ContactCreate):
    email: EmailStr = Field(description="The natural key: an existing contact with it is updated.")


class ContactUpdate(_ContactFields):
    """Fields not sent are untouched; null clears a field; objects merge (RFC 7396)."""

    first_name: str | SkipJsonSchema[None] = Field(default=None, max_length=200)
    last_name: str | SkipJsonSchema[None] = Field(default=None, max_length=200)
    additional_emails: Annotated[list[EmailStr], Field(max_length=20)] | SkipJsonSchema[None] = None
    phones: Annotated[list[Phone], Field(max_length=20)] | SkipJsonSchema[None] = None
    lifecycle_stage: LifecycleStage | SkipJsonSchema[None] = None
    tags: Tags | SkipJsonSchema[None] = None
    custom_fields: CustomFieldValues | SkipJsonSchema[None] = None

    _not_null = not_null(
        "first_name",
        "last_name",
        "lifecycle_stage",
        "tags",
        "custom_fields",
        "additional_emails",
        "phones",
    )


class PhoneRead(ReadSchema):
    label: str
    number: str


class ContactRead(ReadSchema):
    id: uuid.UUID
    first_name: OptionalText
    last_name: OptionalText
    email: str | None
    additional_emails: list[str]
    phones: list[PhoneRead]
    job_title: str | None
    lifecycle_stage: LifecycleStage
    lead_source: str | None
    owner_id: uuid.UUID | None
    company_id: uuid.UUID | None
    address: Address | None
    tags: list[str]
    custom_fields: dict[str, Any]
    lead_score: int = Field(
        description="From the workspace's lead scoring rules; derived, so it changes without an "
        "event, but with a new version (and so a new ETag)."
    )
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int


class ContactExportRow(ContactRead):
    """A contact as an export writes it: its links also by what names them in any workspace."""

    company_domain: str | None = Field(default=None, description="The company's domain.")
    owner_email: str | None = Field(default=None, description="The owner's email.")


# One validation call for a whole page of rows: cheaper than one model_validate a row.
_CONTACT_PAGE = TypeAdapter(list[ContactRead])


def contacts_of(rows: Sequence[Record]) -> list[ContactRead]:
    return _CONTACT_PAGE.validate_python([dict(row) for row in rows])


class LifecycleChangeRead(ReadSchema):
    id: uuid.UUID
    from_stage: LifecycleStage | None
    to_stage: LifecycleStage
    changed_at: datetime
    actor_type: str
    actor_id: uuid.UUID | None


class LifecycleHistoryParams(ListParams):
    sort: Literal["changed_at", "-changed_at"] = "changed_at"


class ContactListParams(RecordListParams):
    """Besides these, ``custom_fields.<key>`` (and ``_gte``/``_lte`` for numbers and dates)."""

    model_config = ConfigDict(extra="allow")

    sort: Literal[
        "created_at",
        "-created_at",
        "updated_at",
        "-updated_at",
        "last_name",
        "-last_name",
        "lead_score",
        "-lead_score",
    ] = "-created_at"
    lead_score_gte: int | None = None
    lead_score_lte: int | None = None
    email: str | None = Field(default=None, description="Exact email, ignoring case.")
    phone: str | None = Field(
        default=None,
        max_length=64,
        description="A phone number with its country code, however punctuated: compared in "
        "E.164 (`+44 20 7946 0958` finds `+44 (0)20-7946-0958`).",
    )
    first_name: str | None = None
    last_name: str | None = None
    job_title: str | None = None
    lifecycle_stage: list[LifecycleStage] | None = None
    lead_source: str | None = None
    owner_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    company_industry: str | None = Field(default=None, description="The company's industry.")
    company_domain: str | None = Field(default=None, description="The company's domain.")
    consented_to: (
        list[Literal["marketing_email", "marketing_sms", "marketing_phone", "profiling"]] | None
    ) = Field(
        default=None,
        description="Only contacts whose consent for each of these purposes is in force: for "
        "marketing lists, exports and segments.",
    )
    rfm_segment: (
        list[
            Literal[
                "champions",
                "loyal",
                "potential_loyalist",
                "new_customers",
                "promising",
                "need_attention",
                "at_risk",
                "cannot_lose",
                "hibernating",
                "lost",
            ]
        ]
        | None
    ) = Field(default=None, description="Customers in these RFM segments (see /v1/rfm).")
