"""Archive, restore and purge: records users can lose by mistake are archived first and can come
back; purging is a separate act, allowed only on an archived record."""

from typing import Any

from crm_api.core.errors import Conflict
from crm_api.core.records import touch
from crm_api.models.base import utcnow


def set_archived(record: Any, archived: bool) -> bool:
    """Archive or restore; False when the record was already in that state."""
    if (record.archived_at is not None) == archived:
        return False
    record.archived_at = utcnow() if archived else None
    touch(record)
    return True


def ensure_live(record: Any) -> None:
    if record.archived_at is not None:
        raise Conflict("The record is archived; restore it before changing it.")


def ensure_archived(record: Any) -> None:
    if record.archived_at is None:
        raise Conflict("Only an archived record can be deleted; archive it first.")
