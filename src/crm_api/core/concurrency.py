"""Optimistic concurrency: ``ETag`` is the record's version; ``If-Match`` must name it, and a
read whose ``If-None-Match`` names it answers 304 Not Modified."""

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request

from crm_api.core.errors import PreconditionFailed, PreconditionRequired


def etag(version: int) -> str:
    return f'"{version}"'


def not_modified(if_none_match: str | None, current: str) -> bool:
    """Whether a GET's If-None-Match names the current ETag (RFC 9110 13.1.2: a weak
    comparison, so W/"3" names "3"; * names any)."""
    if not if_none_match:
        return False
    tags = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return "*" in tags or current.removeprefix("W/") in tags


@dataclass(frozen=True, slots=True)
class IfMatch:
    header: str | None

    def check(self, current_version: int) -> None:
        if self.header is None:
            return
        tags = {tag.strip() for tag in self.header.split(",")}
        if "*" in tags or etag(current_version) in tags:
            return
        unquoted = (
            " (an ETag is quoted, as the ETag header gives it)" if '"' not in self.header else ""
        )
        raise PreconditionFailed(
            f"If-Match {self.header} does not match the current version "
            f"{etag(current_version)}{unquoted}.",
            headers={"ETag": etag(current_version)},
        )


async def if_match(
    request: Request,
    header: Annotated[
        str | None,
        Header(
            alias="If-Match",
            description="The ETag from the last read; the change is refused with 412 if stale.",
        ),
    ] = None,
) -> IfMatch:
    if header is None and request.app.state.settings.require_if_match:
        raise PreconditionRequired("This workspace requires If-Match on every change.")
    return IfMatch(header)


IfMatchDep = Annotated[IfMatch, Depends(if_match)]
