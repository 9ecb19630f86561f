"""Reading an import file: CSV (with a header row) or JSON Lines, rows mapped to record fields.

A row is a dict of target field -> value before validation. In CSV every cell is text: an empty
cell means "not given" (so an upsert leaves that field alone), a list or object field takes JSON
(as exports write it) or, for lists of text, values separated by ``;``; a phone cell takes a
number. ``custom_fields.<key>`` targets one custom field, its text read by the field's type.
A cell that an export guarded against spreadsheet formulas (``'=...``) is read without the
guard, so an export imports back as it was.
"""

import csv
import io
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

import orjson

from crm_api.core.errors import ValidationFailed, field_error
from crm_api.core.export import read_cell
from crm_api.custom_fields.values import FILTER_PREFIX

Format = Literal["csv", "jsonl"]
CUSTOM = FILTER_PREFIX  # "custom_fields."


class RowProblem(ValueError):
    """A row that cannot be read at all (bad JSON, not an object)."""


@dataclass(frozen=True, slots=True)
class Fields:
    """What an import of one resource can set, and how CSV text becomes each field's value."""

    names: frozenset[str]
    json_fields: frozenset[str]  # lists and objects: JSON in a CSV cell
    text_lists: frozenset[str]  # lists of text: also "a;b;c"
    phone_lists: frozenset[str] = frozenset()  # lists of phones: also a bare number
    integers: frozenset[str] = frozenset()  # whole numbers, read from CSV text

    def knows(self, target: str) -> bool:
        return target in self.names or (target.startswith(CUSTOM) and len(target) > len(CUSTOM))


# The csv module refuses a cell over 131,072 characters by default, with an error that would end
# the whole job; the upload's own size limit bounds a cell instead, and a cell too long for its
# field fails its row through the field's validation, like any other bad value.
csv.field_size_limit(2**31 - 1)


def decode(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            f"The file is not UTF-8 text (byte {exc.start}).",
            errors=[field_error(["body", "file"], "must be UTF-8 text", "encoding")],
        ) from exc


def csv_header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text)), [])


def resolve_mapping(
    fmt: Format, text: str, fields: Fields, mapping: Mapping[str, str] | None
) -> dict[str, str]:
    """The mapping to use: the one given, checked, or by default every column (CSV) named after
    a field; a JSON Lines file's keys map to the fields of their names unless mapped."""
    errors = []
    if mapping:
        header = set(csv_header(text)) if fmt == "csv" else None
        for source, target in mapping.items():
            if not fields.knows(target):
                errors.append(field_error(["body", "mapping", source], "no such field", "field"))
            elif header is not None and source not in header:
                errors.append(
                    field_error(["body", "mapping", source], "no such column in the file", "column")
                )
        if errors:
            raise ValidationFailed("The mapping does not fit the file.", errors=errors)
        return dict(mapping)
    if fmt == "jsonl":
        return {}
    resolved = {column: column for column in csv_header(text) if fields.knows(column)}
    if not resolved:
        raise ValidationFailed(
            "No column of the file is named after a field; send a mapping.",
            errors=[field_error(["body", "mapping"], "needed for this file", "missing")],
        )
    return resolved


def _cell(fields: Fields, target: str, raw: str) -> Any:
    if target in fields.json_fields and raw[:1] in ("[", "{"):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError as exc:
            raise ValueError(f"is not valid JSON ({exc})") from exc
    if target in fields.text_lists:
        return [part.strip() for part in raw.split(";") if part.strip()]
    if target in fields.integers and raw.strip().lstrip("-").isdigit():
        return int(raw)
    if target in fields.phone_lists:
        return [{"number": part.strip()} for part in raw.split(";") if part.strip()]
    return raw


@dataclass(slots=True)
class SourceRow:
    number: int  # the record's position among the file's data rows, from 1
    values: dict[str, Any]  # target field -> value; custom fields under "custom_fields"
    custom_text: dict[str, str]  # custom fields given as CSV text, read by their type later
    columns: dict[str, str]  # target field -> the source column, for error reports
    problem: str | None = None


def rows(fmt: Format, text: str, fields: Fields, mapping: Mapping[str, str]) -> Iterator[SourceRow]:
    if fmt == "csv":
        yield from _csv_rows(text, fields, mapping)
    else:
        yield from _jsonl_rows(text, fields, mapping)


def _csv_rows(text: str, fields: Fields, mapping: Mapping[str, str]) -> Iterator[SourceRow]:
    reader = csv.reader(io.StringIO(text))
    header = next(reader, [])
    where = [(index, mapping[column]) for index, column in enumerate(header) if column in mapping]
    for number, record in enumerate(reader, start=1):
        row = SourceRow(number, {}, {}, {})
        if not any(record):
            row.problem = "the row is empty"
            yield row
            continue
        for index, target in where:
            raw = read_cell(record[index]) if index < len(record) else ""
            if raw == "":
                continue
            row.columns[target] = header[index]
            if target.startswith(CUSTOM):
                row.custom_text[target.removeprefix(CUSTOM)] = raw
                continue
            try:
                row.values[target] = _cell(fields, target, raw)
            except ValueError as exc:
                row.problem = f"{header[index]} {exc}"
        yield row


def _jsonl_rows(text: str, fields: Fields, mapping: Mapping[str, str]) -> Iterator[SourceRow]:
    number = 0
    for line in text.splitlines():
        if not line.strip():
            continue
        number += 1
        row = SourceRow(number, {}, {}, {})
        try:
            record = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            row.problem = f"the line is not valid JSON ({exc})"
            yield row
            continue
        if not isinstance(record, dict):
            row.problem = "the line is not a JSON object"
            yield row
            continue
        custom: dict[str, Any] = {}
        for source, value in record.items():
            target = mapping.get(source, source if not mapping else None)
            if target is None or not fields.knows(target):
                continue
            row.columns[target] = source
            if target.startswith(CUSTOM):
                custom[target.removeprefix(CUSTOM)] = value
            else:
                row.values[target] = value
        if custom:
            whole = row.values.get("custom_fields", {})
            # A whole custom_fields of another type stays as it is, for validation to refuse.
            row.values["custom_fields"] = {**whole, **custom} if isinstance(whole, dict) else whole
        yield row


def count_rows(fmt: Format, text: str) -> int:
    """The file's data rows; a CSV file the csv module cannot read is a 422 naming the file."""
    if fmt == "csv":
        reader = csv.reader(io.StringIO(text))
        try:
            return max(sum(1 for _ in reader) - 1, 0)
        except csv.Error as exc:
            raise ValidationFailed(
                f"The CSV file cannot be read at line {reader.line_num}: {exc}.",
                errors=[field_error(["body", "file"], f"unreadable CSV: {exc}", "csv")],
            ) from exc
    return sum(1 for line in text.splitlines() if line.strip())
