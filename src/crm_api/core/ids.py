"""Time-ordered ids (UUIDv7): new rows land at the right edge of the primary-key index."""

import uuid

from uuid_utils.compat import uuid7


def new_id() -> uuid.UUID:
    return uuid7()
