"""JSON log lines, each carrying the request id."""

import logging
import sys
import time
from typing import Any

import orjson
from asgi_correlation_id import CorrelationIdFilter, correlation_id
from pythonjsonlogger.orjson import OrjsonFormatter

access_log = logging.getLogger("crm_api.access")
_root = logging.getLogger()
# Where configure_logging sends log lines; the access line of every request is written to it
# directly (see log_access).
_handler: logging.StreamHandler[Any] | None = None
_TIME = "%Y-%m-%d %H:%M:%S"


def log_access(**fields: Any) -> None:
    """The access line of a request, in the same JSON shape as every other log line.

    Once configure_logging has run, it is built with orjson and written to the log handler's
    stream as is: through a LogRecord and the JSON formatter it cost ~100 us a request under
    load, a quarter of a read by id (measured; docs/benchmarks.md). The logger's level still
    decides, so `crm_api.access` can be silenced like any logger.
    """
    if not access_log.isEnabledFor(logging.INFO):
        return
    handler = _handler
    if handler is None or handler not in _root.handlers:  # not (or no longer) configured
        access_log.info("request", extra=fields)
        return
    now = time.time()
    line = {
        # The formatter's own time format (logging's default asctime).
        "time": f"{time.strftime(_TIME, time.localtime(now))},{int(now % 1 * 1000):03d}",
        "level": "INFO",
        "logger": access_log.name,
        "message": "request",
        "request_id": correlation_id.get() or "-",
        **fields,
    }
    text = orjson.dumps(line).decode() + "\n"
    handler.acquire()
    try:
        handler.stream.write(text)
        handler.flush()
    finally:
        handler.release()


def configure_logging(level: str) -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.addFilter(CorrelationIdFilter(default_value="-"))
    handler.setFormatter(
        OrjsonFormatter(
            "%(asctime)s %(levelname)s %(name)s %(message)s %(correlation_id)s",
            rename_fields={
                "asctime": "time",
                "levelname": "level",
                "name": "logger",
                "correlation_id": "request_id",
            },
            timestamp=False,
        )
    )
    global _handler
    _handler = handler
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).disabled = True
    for name in ("uvicorn", "uvicorn.error"):
        logging.getLogger(name).handlers[:] = []
        logging.getLogger(name).propagate = True
