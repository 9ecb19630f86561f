"""Phone numbers in E.164 (`+442079460958`) with Google's libphonenumber rules (the
`phonenumbers` port), so that "+44 20 7946 0958" and "+44 (0)20-7946-0958" match."""

import functools
from typing import Any

import phonenumbers


# Parsing costs about 20 us a number; an import or a page of contacts repeats numbers (a
# company's switchboard), so each distinct one is parsed once.
@functools.lru_cache(maxsize=65536)
def e164(number: str, region: str | None = None) -> str | None:
    """The number in E.164, or None when it cannot be read as a possible number."""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def normalized(phones: list[dict[str, Any]] | None) -> list[str]:
    """Each readable number once, in E.164; numbers without a country code fall back to their
    digits (still comparable with each other)."""
    found: list[str] = []
    for phone in phones or []:
        number = str(phone.get("number", ""))
        value = e164(number) or "".join(ch for ch in number if ch.isdigit())
        if value and value not in found:
            found.append(value)
    return found
