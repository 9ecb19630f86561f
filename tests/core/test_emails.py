"""Email addresses checked once per domain (core.emails) read and fail exactly as without it."""

from typing import Any

import pytest
from pydantic import BaseModel, EmailStr, ValidationError

import crm_api.core.emails as emails

ADDRESSES = [
    "ada@example.com",
    "Ada.Lovelace@Example.COM",
    "ada@EXAMPLE.com",
    "grace@bücher.example",
    "grace@xn--bcher-kva.example",
    "Ada <ada@example.com>",
    "ada@example..com",
    "ada@-example.com",
    "ada@example.com.",
    "ada@exa_mple.com",
    "ada@ab--cd.example",
    "ada@" + "a" * 250 + ".com",
    "ada@localhost",
    "ada@[127.0.0.1]",
    "ada@",
    "not-an-email",
]


class _Email(BaseModel):
    email: EmailStr


def _outcomes() -> list[Any]:
    found: list[Any] = []
    for address in [*ADDRESSES, *ADDRESSES]:  # twice: the second time from the cache
        try:
            found.append(_Email(email=address).email)
        except ValidationError as exc:
            found.append(exc.errors(include_url=False))
    return found


def test_a_domain_checked_once_reads_and_fails_as_one_checked_each_time(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    emails._domain_checked.cache_clear()
    cached = _outcomes()
    assert emails._domain_checked.cache_info().hits > 0
    module = vars(emails._VALIDATE_EMAIL)
    monkeypatch.setitem(module, "validate_email_domain_name", emails._check_domain)
    assert cached == _outcomes()
    assert any(isinstance(outcome, list) for outcome in cached)
