"""The README's start path, as a user takes it: serve, readiness, a workspace, a call, a webhook.

Run by `.ci/start-path` from the root of a copy of the project, with `.venv/bin/python` of the
fresh venv that the README's start command made there. It uses the standard library, plus
`standardwebhooks` (a runtime dependency) to check the delivered signature. The service keeps its
data where a user's would be, in `./.crm-data`; its log goes to `../serve.log`.

With `--image VENV`, the Docker image's path instead, on VENV (installed as the Dockerfile
installs): the database is the server at CRM_DATABASE_URL, two `crm-api migrate` run at once
first (replicas starting together), the service listens on 0.0.0.0 as in the image, and
`crm-api healthcheck` (the image's HEALTHCHECK) must pass while it runs.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

READY_SECONDS = 300  # a cold start on a loaded 2-core machine: initdb, migrations, imports
DELIVERY_SECONDS = 60
STOP_SECONDS = 60


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def call(
    base: str, method: str, path: str, key: str | None = None, body: Any = None
) -> tuple[int, dict[str, str], Any]:
    headers = {"Content-Type": "application/json"}
    if key:
        headers["Authorization"] = f"Bearer {key}"
    data = json.dumps(body).encode() if body is not None else None
    # An http:// URL on loopback that this script made.
    request = urllib.request.Request(base + path, data=data, method=method, headers=headers)  # noqa: S310
    try:
        with urllib.request.urlopen(request, timeout=60) as response:  # noqa: S310
            raw = response.read()
            return response.status, dict(response.headers), json.loads(raw) if raw else None
    except urllib.error.HTTPError as error:
        raw = error.read()
        return error.code, dict(error.headers), json.loads(raw) if raw else None


class Receiver(ThreadingHTTPServer):
    """A partner's webhook receiver on loopback: keeps what it is sent, answers 204."""

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), ReceiverHandler)
        self.received: list[tuple[dict[str, str], bytes]] = []
        self.arrived = threading.Event()


class ReceiverHandler(BaseHTTPRequestHandler):
    server: Receiver

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))
        self.server.arrived.set()
        self.send_response(204)
        self.end_headers()

    def log_message(self, format: str, *args: Any) -> None:
        pass


def expect(condition: bool, failure: object) -> None:
    if not condition:
        raise SystemExit(f"start path: unexpected {failure!r}")


def step(message: str) -> None:
    print(f"-- {message}", flush=True)


def wait_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + READY_SECONDS
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"crm-api serve exited with {server.returncode} before /readyz")
        try:
            if call(base, "GET", "/readyz")[0] == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"/readyz did not answer 200 within {READY_SECONDS} s")


def migrate_as_replicas(crm_api: str, env: dict[str, str]) -> None:
    replicas = [
        subprocess.Popen(  # noqa: S603
            [crm_api, "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
        )
        for _ in range(2)
    ]
    for replica in replicas:
        output, _ = replica.communicate(timeout=READY_SECONDS)
        if replica.returncode != 0:
            raise SystemExit(f"crm-api migrate failed beside another:\n{output.decode()}")
    step("two crm-api migrate at once: both succeeded")


def health(crm_api: str, env: dict[str, str], *options: str) -> None:
    checked = subprocess.run(  # noqa: S603
        [crm_api, "healthcheck", *options], env=env, capture_output=True, timeout=30, check=False
    )
    expect(checked.returncode == 0, checked.stderr.decode())


def run(image_venv: str | None) -> None:
    # Stopped from outside (CI stopping early): stop the service on the way out, as below.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data_dir = Path(".crm-data").resolve()
    env = {key: value for key, value in os.environ.items() if not key.startswith("CRM_")}
    env.update(
        CRM_PORT=str(port),
        # The receiver is on loopback, which webhooks may not reach unless allowed.
        CRM_WEBHOOK_ALLOWED_NETWORKS='["127.0.0.0/8"]',
        CRM_WORKER_POLL_SECONDS="0.2",
    )
    crm_api = str(Path(image_venv or ".venv", "bin", "crm-api").resolve())
    if image_venv is not None:
        env.update(CRM_DATABASE_URL=os.environ["CRM_DATABASE_URL"], CRM_HOST="0.0.0.0")  # noqa: S104
        migrate_as_replicas(crm_api, env)
    receiver = Receiver()
    threading.Thread(target=receiver.serve_forever, daemon=True).start()
    log = Path("../serve.log").open("wb")  # noqa: SIM115 - closed once the service has stopped
    started = time.monotonic()
    step("crm-api serve")
    server = subprocess.Popen([crm_api, "serve"], env=env, stdout=log, stderr=log)  # noqa: S603
    try:
        wait_ready(base, server)
        step(f"/readyz answered 200 after {time.monotonic() - started:.1f} s")
        if image_venv is not None:
            health(crm_api, env)
            health(crm_api, env, "--ready")
            step("crm-api healthcheck passed (the port and host from the settings)")

        # As the README's first steps: create a workspace beside the running service.
        made = subprocess.run(  # noqa: S603
            [crm_api, "create-workspace", "Start path"],
            env=env,
            capture_output=True,
            text=True,
            timeout=READY_SECONDS,
            check=False,
        )
        if made.returncode != 0:
            raise SystemExit(f"crm-api create-workspace failed:\n{made.stderr}")
        key = made.stdout.strip().splitlines()[-1]
        step("workspace created")

        status, _, body = call(base, "GET", "/v1/workspace", key)
        expect(status == 200 and body["name"] == "Start path", (status, body))
        status, _, body = call(base, "GET", "/v1/contacts")
        expect(status == 401, (status, body))
        step("authenticated call answered 200, unauthenticated 401")

        receiver_url = f"http://127.0.0.1:{receiver.server_address[1]}/hooks"
        status, _, endpoint = call(
            base,
            "POST",
            "/v1/webhook-endpoints",
            key,
            {"url": receiver_url, "event_types": ["contact.created"]},
        )
        expect(status == 201, (status, endpoint))
        status, _, contact = call(
            base, "POST", "/v1/contacts", key, {"first_name": "Ada", "email": "ada@example.com"}
        )
        expect(status == 201, (status, contact))
        if not receiver.arrived.wait(DELIVERY_SECONDS):
            raise SystemExit(f"no webhook reached the receiver within {DELIVERY_SECONDS} s")
        headers, payload = receiver.received[0]
        Webhook(endpoint["secret"]).verify(payload, headers)
        event = json.loads(payload)
        expect(event["type"] == "contact.created", event)
        expect(event["resource_id"] == contact["id"], event)
        step("webhook delivered to the receiver on loopback, signature verified")
    finally:
        server.send_signal(signal.SIGINT)
        try:
            code = server.wait(STOP_SECONDS)
        except subprocess.TimeoutExpired as late:
            server.kill()
            server.wait()
            raise SystemExit(f"crm-api serve did not stop within {STOP_SECONDS} s") from late
        finally:
            receiver.shutdown()
            log.close()
    if code != 0:
        raise SystemExit(f"crm-api serve exited with {code} after SIGINT")
    step("stopped cleanly")
    if image_venv is not None:
        return

    if (data_dir / "postgres" / "postmaster.pid").exists():
        raise SystemExit("the embedded PostgreSQL is still running after crm-api serve stopped")
    left = subprocess.run(  # noqa: S603
        ["pgrep", "-f", str(data_dir)],  # noqa: S607
        capture_output=True,
        text=True,
        check=False,
    ).stdout.split()
    if left:
        raise SystemExit(f"processes left behind: {left}")
    step("no server process left behind")


if __name__ == "__main__":
    run(sys.argv[2] if sys.argv[1:2] == ["--image"] else None)
