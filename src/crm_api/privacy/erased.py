import hashlib


def email_hash(email: str) -> bytes:
    """How an erased person's email is remembered: enough to recognise it, not to read it."""
    return hashlib.sha256(email.strip().lower().encode()).digest()
