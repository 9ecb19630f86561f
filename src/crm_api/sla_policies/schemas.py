import uuid
from datetime import date, datetime, time
from functools import lru_cache
from itertools import pairwise
from typing import Annotated, Literal, Self
from zoneinfo import available_timezones

from pydantic import AfterValidator, Field, model_validator
from pydantic.json_schema import SkipJsonSchema

from crm_api.core.pagination import ListParams
from crm_api.core.schemas import InputSchema, ReadSchema, not_null
from crm_api.tickets.schemas import Priority

Weekday = Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]
_MINUTES = Field(default=None, ge=1, le=366 * 24 * 60, description="Minutes of policy time.")


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(available_timezones())


def _known_zone(name: str) -> str:
    if name not in _zones():
        raise ValueError("must be an IANA time zone, such as Europe/Berlin")
    return name


class Targets(InputSchema):
    first_response_minutes: int | None = _MINUTES
    resolution_minutes: int | None = _MINUTES


class OpeningHours(InputSchema):
    opens: time = Field(examples=["09:00"])
    closes: time = Field(examples=["17:30"], description="00:00 means midnight at the day's end.")

    @model_validator(mode="after")
    def _opens_before_closing(self) -> Self:
        if self.opens.tzinfo or self.closes.tzinfo:
            raise ValueError("opening hours are local times, without an offset")
        if self.closes != time(0) and self.closes <= self.opens:
            raise ValueError("closes must be after opens")
        return self


class BusinessHours(InputSchema):
    """A business calendar: local opening hours per weekday in a time zone, and holidays."""

    timezone: Annotated[str, AfterValidator(_known_zone)] = Field(examples=["Europe/Berlin"])
    weekly_hours: dict[Weekday, list[OpeningHours]] = Field(
        examples=[{"monday": [{"opens": "09:00", "closes": "17:00"}]}]
    )
    holidays: list[date] = Field(default_factory=list, max_length=1000)

    @model_validator(mode="after")
    def _some_hours_without_overlap(self) -> Self:
        if not any(self.weekly_hours.values()):
            raise ValueError("weekly_hours needs opening hours on at least one day")
        for day, intervals in self.weekly_hours.items():
            ordered = sorted(intervals, key=lambda hours: hours.opens)
            for earlier, later in pairwise(ordered):
                if earlier.closes == time(0) or later.opens < earlier.closes:
                    raise ValueError(f"opening hours on {day} overlap")
        return self


class SlaPolicyCreate(InputSchema):
    name: str = Field(min_length=1, max_length=200, examples=["Standard support"])
    is_default: bool = Field(
        default=False, description="New tickets without a policy of their own get this one."
    )
    targets: dict[Priority, Targets] = Field(
        description="Per priority; a priority left out has no targets.",
        examples=[{"urgent": {"first_response_minutes": 30, "resolution_minutes": 240}}],
    )
    business_hours: BusinessHours | None = Field(
        default=None, description="Measure in these opening hours; null for calendar time."
    )


class SlaPolicyUpdate(InputSchema):
    """Changed targets or hours apply at once to the policy's tickets that are not closed."""

    name: str | SkipJsonSchema[None] = Field(default=None, min_length=1, max_length=200)
    is_default: bool | SkipJsonSchema[None] = None
    targets: dict[Priority, Targets] | SkipJsonSchema[None] = None
    business_hours: BusinessHours | None = None

    _not_null = not_null("name", "is_default", "targets")


class SlaPolicyRead(ReadSchema):
    id: uuid.UUID
    name: str
    is_default: bool
    targets: dict[Priority, Targets]
    business_hours: BusinessHours | None
    created_at: datetime
    updated_at: datetime
    version: int


class SlaPolicyListParams(ListParams):
    sort: Literal["created_at", "-created_at"] = "-created_at"
