"""Email syntax checks, once per distinct domain.

``EmailStr`` validates with ``email-validator``, which spends about two thirds of its 30 us an
address checking the part after the @-sign (Unicode normalization, IDNA). A file of contacts
repeats few domains across many addresses, so the domain check is remembered per domain: the
same function on the same arguments, hence the same normalized address and, since failures are
not remembered, the same error for a bad one. Imported for its effect by ``core.schemas``.
"""

import functools
import sys
from typing import Any

import email_validator  # noqa: F401  (loads the module patched below)

_VALIDATE_EMAIL = sys.modules["email_validator.validate_email"]
_check_domain = _VALIDATE_EMAIL.validate_email_domain_name


@functools.lru_cache(maxsize=65536)
def _domain_checked(domain: str, test_environment: bool, globally_deliverable: bool) -> Any:
    return _check_domain(
        domain, test_environment=test_environment, globally_deliverable=globally_deliverable
    )


def validate_email_domain_name(
    domain: str, test_environment: bool = False, globally_deliverable: bool = True
) -> Any:
    # A copy: the caller owns what it is given.
    return dict(_domain_checked(domain, test_environment, globally_deliverable))


if getattr(_check_domain, "__module__", None) == "email_validator.syntax":
    vars(_VALIDATE_EMAIL)["validate_email_domain_name"] = validate_email_domain_name
