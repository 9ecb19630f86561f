"""A signed-in portal customer for schema fuzzing: prints an access token.

Run by `.ci/fuzz` with the service up: it invites a new contact with the API key, reads the
invitation from the development mailbox (`<CRM_DATA_DIR>/mail.mbox`, where mail goes with no
SMTP server), accepts it with a password, and prints the access token.

    python portal_token.py BASE_URL API_KEY DATA_DIR
"""

import json
import mailbox
import re
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import unquote


def call(base: str, path: str, body: Any, key: str | None = None) -> Any:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    # An http:// URL on loopback that .ci/fuzz made.
    request = urllib.request.Request(  # noqa: S310
        base + path, data=json.dumps(body).encode(), method="POST", headers=headers
    )
    with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
        return json.loads(response.read())


def invitation_token(box: Path, address: str, seconds: float = 60) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if box.exists():
            for message in mailbox.mbox(box):
                if message["To"] == address:
                    payload = message.get_payload(decode=True)
                    text = payload.decode() if isinstance(payload, bytes) else str(payload)
                    found = re.search(r"token=(\S+)", text)
                    if found:
                        return unquote(found.group(1))
        time.sleep(0.2)
    raise SystemExit(f"no invitation reached {box} within {seconds} s")


def main(base: str, key: str, data_dir: str) -> None:
    # Something to order: the portal lists products, and its order links take the first one.
    product = {"sku": "FUZZ-1", "name": "Fuzzing", "price": {"amount": "9.99", "currency": "EUR"}}
    call(base, "/v1/products", product, key)
    address = f"fuzz-{int(time.time())}@example.com"
    contact = call(base, "/v1/contacts", {"first_name": "Fuzz", "email": address}, key)
    call(base, f"/v1/contacts/{contact['id']}/portal-invitations", {}, key)
    token = invitation_token(Path(data_dir) / "mail.mbox", address)
    accepted = call(
        base,
        "/v1/portal/invitations/accept",
        {"token": token, "password": "a long fuzzing passphrase"},
    )
    print(accepted["access_token"])


if __name__ == "__main__":
    main(*sys.argv[1:4])
