import uuid
from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from crm_api.contacts.schemas import LifecycleStage
from crm_api.core.pagination import ListParams
from crm_api.core.schemas import (
    CustomFieldValues,
    InputSchema,
    IsoDateTime,
    Money,
    ReadSchema,
    Tags,
    field_reader,
    not_null,
)
from crm_api.models import Deal

StageKind = Literal["open", "won", "lost"]


class DealContactLink(InputSchema):
    contact_id: uuid.UUID
    role: str | None = Field(
        default=None, max_length=64, examples=["decision_maker"], description="e.g. champion."
    )


class _DealFields(InputSchema):
    amount: Money | None = None
    owner_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = Field(default=None, description="The primary company.")
    expected_close_date: date | None = None
    lost_reason: str | None = Field(default=None, max_length=500)
    source: str | None = Field(default=None, max_length=100)


class DealCreate(_DealFields):
    name: str = Field(min_length=1, max_length=300, examples=["Acme renewal 2027"])
    pipeline_id: uuid.UUID | None = Field(
        default=None, description="Default: the workspace's first pipeline."
    )
    stage_id: uuid.UUID | None = Field(
        default=None, description="A stage of the pipeline. Default: its first stage."
    )
    contacts: list[DealContactLink] = Field(default_factory=list, max_length=100)
    tags: Tags = Field(default_factory=list)
    custom_fields: CustomFieldValues = Field(default_factory=dict)


class DealUpdate(_DealFields):
    """Fields not sent are untouched. `stage_id` moves the deal (a stage of its pipeline, or of
    `pipeline_id` when both are sent); `contacts`, when sent, replaces the associations."""

    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=300)
    pipeline_id: uuid.UUID | SkipJsonSchema[None] = None
    stage_id: uuid.UUID | SkipJsonSchema[None] = None
    contacts: Annotated[list[DealContactLink], Field(max_length=100)] | SkipJsonSchema[None] = None
    tags: Tags | SkipJsonSchema[None] = None
    custom_fields: CustomFieldValues | SkipJsonSchema[None] = None

    _not_null = not_null("name", "pipeline_id", "stage_id", "contacts", "tags", "custom_fields")


class DealContactRead(ReadSchema):
    contact_id: uuid.UUID
    role: str | None


class DealRead(ReadSchema):
    model_config = ConfigDict(from_attributes=False)

    id: uuid.UUID
    name: str
    amount: Money | None
    pipeline_id: uuid.UUID
    stage_id: uuid.UUID
    owner_id: uuid.UUID | None
    company_id: uuid.UUID | None
    contacts: list[DealContactRead]
    expected_close_date: date | None
    lost_reason: str | None
    source: str | None
    tags: list[str]
    custom_fields: dict[str, Any]
    stage_changed_at: datetime
    closed_at: datetime | None = Field(description="Set when the deal enters a won or lost stage.")
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    version: int

    @classmethod
    def of(cls, deal: Deal | Mapping[str, Any], contacts: list[DealContactRead]) -> "DealRead":
        """From the model, or from a row of its columns (a prepared read, repository.READ_DEAL)."""
        value = field_reader(deal)
        return cls(
            id=value("id"),
            name=value("name"),
            amount=Money.stored(value("amount"), value("currency")),
            pipeline_id=value("pipeline_id"),
            stage_id=value("stage_id"),
            owner_id=value("owner_id"),
            company_id=value("company_id"),
            contacts=contacts,
            expected_close_date=value("expected_close_date"),
            lost_reason=value("lost_reason"),
            source=value("source"),
            tags=value("tags"),
            custom_fields=value("custom_fields"),
            stage_changed_at=value("stage_changed_at"),
            closed_at=value("closed_at"),
            created_at=value("created_at"),
            updated_at=value("updated_at"),
            archived_at=value("archived_at"),
            version=value("version"),
        )

    @classmethod
    def of_row(cls, row: dict[str, Any]) -> "DealRead":
        """From ``repository.READ_DEAL``'s row, whose ``contacts`` are a JSON array."""
        links = [DealContactRead.model_validate(link) for link in row["contacts"]]
        return cls.of(row, links)


class DealExportRow(DealRead):
    """A deal as an export writes it: its links also by what names them in any workspace (the
    company's domain, the owner's email, the pipeline's and stage's names)."""

    company_domain: str | None = None
    owner_email: str | None = None
    pipeline_name: str | None = None
    stage_name: str | None = None


class StageChangeRead(ReadSchema):
    id: uuid.UUID
    from_stage_id: uuid.UUID | None
    to_stage_id: uuid.UUID
    changed_at: datetime
    seconds_in_previous_stage: int | None
    actor_type: str
    actor_id: uuid.UUID | None


class StageHistoryParams(ListParams):
    sort: Literal["changed_at", "-changed_at"] = "changed_at"


class DealListParams(ListParams):
    """Besides these, ``custom_fields.<key>`` (and ``_gte``/``_lte`` for numbers and dates)."""

    model_config = ConfigDict(extra="allow")

    q: str | None = Field(default=None, min_length=1, max_length=200, description="Name search.")
    archived: bool = Field(default=False, description="List archived deals instead of live ones.")
    tags: list[str] | None = Field(default=None, description="Deals carrying all these tags.")
    created_at_gte: IsoDateTime | None = None
    created_at_lte: IsoDateTime | None = None
    updated_at_gte: IsoDateTime | None = None
    updated_at_lte: IsoDateTime | None = None

    sort: Literal["created_at", "-created_at", "updated_at", "-updated_at"] = "-created_at"
    pipeline_id: uuid.UUID | None = None
    stage_id: list[uuid.UUID] | None = None
    stage_kind: list[StageKind] | None = Field(default=None, description="open, won or lost.")
    owner_id: uuid.UUID | None = None
    company_id: uuid.UUID | None = None
    contact_id: uuid.UUID | None = Field(default=None, description="Deals with this contact.")
    contact_lifecycle_stage: list[LifecycleStage] | None = Field(
        default=None, description="Deals with a contact at one of these lifecycle stages."
    )
    company_industry: str | None = Field(default=None, description="The company's industry.")
    source: str | None = None
    currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    amount_gte: Decimal | None = Field(default=None, max_digits=20, decimal_places=2)
    amount_lte: Decimal | None = Field(default=None, max_digits=20, decimal_places=2)
    expected_close_date_gte: date | None = None
    expected_close_date_lte: date | None = None
    closed_at_gte: IsoDateTime | None = None
    closed_at_lte: IsoDateTime | None = None
