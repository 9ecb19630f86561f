"""An import's rows validated as the API validates a creation (or an upsert), by its own
schemas, into the values a chunk stages for its merge (see ``merge``); a row that fails is
counted with the API's messages, each naming the file's column at fault.
"""

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import ValidationError

from crm_api.core.errors import ValidationFailed, in_our_words
from crm_api.custom_fields.values import checked_values, value_from_text
from crm_api.models import CustomFieldDefinition

from . import sources
from .resource import LinkProblem, Resource


@dataclass(slots=True)
class Prepared:
    number: int
    key: str | None
    values: dict[str, Any]  # column -> value, as a creation would write it
    sent: list[str]  # the columns the row gives (an update changes only these)
    create_problem: str | None  # why the row could not create a record (required fields)
    links: dict[str, str]  # link field -> the name it gives (see resources.Link)


@dataclass(slots=True)
class Counts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    errors: dict[int, list[dict[str, Any]]] = field(default_factory=dict)

    def fail(self, number: int, msg: str, loc: Sequence[str | int] = (), kind: str = "row") -> None:
        self.errors.setdefault(number, []).append({"loc": list(loc), "msg": msg, "type": kind})


def _error_loc(row: sources.SourceRow, loc: Sequence[str | int]) -> list[str | int]:
    """An error's place in the file: the source column of the field at fault, then the rest."""
    target = str(loc[0]) if loc else ""
    if target == "custom_fields" and len(loc) > 1:
        target = f"custom_fields.{loc[1]}"
        column = row.columns.get(target) or row.columns.get("custom_fields")
        return [column or target, *loc[2:]]
    return [row.columns.get(target, target), *loc[1:]]


def _custom_values(
    row: sources.SourceRow, definitions: dict[str, CustomFieldDefinition], counts: Counts
) -> dict[str, Any] | None:
    """The row's custom fields: an object given whole, with those given one column each read
    by their definition's type; None when the whole is not an object."""
    given = row.values.get("custom_fields")
    if given is not None and not isinstance(given, dict):
        loc = _error_loc(row, ["custom_fields"])
        counts.fail(row.number, "must be an object of custom field values", loc, "dict_type")
        return None
    custom = dict(given or {})
    for key, raw in row.custom_text.items():
        definition = definitions.get(key)
        try:
            custom[key] = raw if definition is None else value_from_text(definition, raw)
        except ValueError as exc:
            counts.fail(
                row.number, str(exc), _error_loc(row, ["custom_fields", key]), "value_error"
            )
    return custom


def prepare(
    resource: Resource,
    mode: str,
    definitions: dict[str, CustomFieldDefinition],
    row: sources.SourceRow,
    counts: Counts,
) -> Prepared | None:
    """The row validated as the API validates a creation (or an upsert), or None with its
    errors counted."""
    if row.problem:
        counts.fail(row.number, row.problem)
        return None
    values = row.values
    try:
        links = resource.link_values(values)
    except LinkProblem as exc:
        counts.fail(row.number, exc.msg, _error_loc(row, [exc.field]), "value_error")
        return None
    custom = _custom_values(row, definitions, counts)
    if custom is None or row.number in counts.errors:
        return None
    if custom or "custom_fields" in values:
        values["custom_fields"] = custom
    schema = resource.upsert if mode == "upsert" else resource.create
    try:
        model = schema.model_validate(values)
    except ValidationError as exc:
        for error in exc.errors(include_url=False, include_context=False):
            counts.fail(
                row.number, in_our_words(dict(error)), _error_loc(row, error["loc"]), error["type"]
            )
        return None
    create_problem = None
    try:
        checked = checked_values(definitions, {} if mode == "upsert" else None, custom, ())
    except ValidationFailed as exc:
        for item in exc.errors or ():
            counts.fail(
                row.number, item.msg, _error_loc(row, ["custom_fields", *item.loc]), item.type
            )
        return None
    if mode == "upsert":
        missing = sorted(
            key
            for key, definition in definitions.items()
            if definition.required and key not in checked
        )
        if missing:
            create_problem = f"a new record needs the required custom fields {', '.join(missing)}"
    columns = resource.column_values(model)
    columns["custom_fields"] = checked
    sent = [
        column for name in model.model_fields_set for column in resource.field_columns.get(name, ())
    ]
    sent += [link.column for link in resource.links if link.field in links]
    return Prepared(row.number, resource.key_of(model), columns, sent, create_problem, links)
