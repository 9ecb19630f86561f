"""One Settings object, read once from the environment (prefix ``CRM_``)."""

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="CRM_", env_file=".env", extra="ignore")

    database_url: str | None = Field(
        default=None,
        description="PostgreSQL URL. When unset, an embedded PostgreSQL is started in data_dir.",
    )
    data_dir: Path = Path(".crm-data")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "INFO"
    db_pool_size: int = 20
    # No overflow: a connection over the pool size is closed when it comes back, so under steady
    # load every request past the pool size would open a new one (measured: half the throughput).
    db_max_overflow: int = 0
    db_connect_timeout_seconds: float = 5.0
    # PostgreSQL's default of 4 MB spilled the KPIs' per-customer hash aggregates (180k buyers)
    # to disk: churn took 105 ms at 4 MB and 66 ms at 32 MB on the KPI benchmark. At most one
    # or two such nodes per connection, so the pool's worst case stays near 1-2 GB.
    db_work_mem_mb: int = Field(default=32, ge=1, le=2048)
    max_body_bytes: int = 1_048_576
    max_import_bytes: int = Field(
        default=200 * 1_048_576, description="The largest file `POST /v1/imports` takes."
    )
    import_chunk_rows: int = Field(
        default=5000, ge=1, description="Rows an import loads (and commits) at a time."
    )
    import_lease_seconds: float = Field(
        default=60.0,
        gt=0,
        description="How long a worker holds an import between chunks; past it, a worker that "
        "died is assumed gone and another takes the job over.",
    )
    require_if_match: bool = False
    opentelemetry: bool = Field(
        default=False,
        description="FastAPI's OpenTelemetry spans, metrics and logs, to the globally configured "
        "providers (Prometheus metrics are always on, at /metrics).",
    )
    api_key_cache_seconds: float = 5.0
    idempotency_ttl_hours: int = 24
    rate_limit: str = Field(
        default="6000/minute", description="Requests allowed per API key, in `limits` notation."
    )
    rate_limit_storage: str = Field(
        default="memory://",
        description="Where counts are kept; a redis:// URL shares them between workers.",
    )
    run_worker: bool = Field(
        default=True,
        description="`serve` runs the background worker (webhook deliveries, SLA breaches, "
        "retention) in-process; false when `crm-api worker` runs elsewhere.",
    )
    worker_poll_seconds: float = 1.0
    webhook_timeout_seconds: float = 10.0
    webhook_allowed_networks: list[str] = Field(
        default_factory=list,
        description="Private, loopback or link-local networks (CIDR) webhooks may still reach.",
    )
    event_retention_days: int = Field(default=30, ge=1)
    churn_definition: Literal["inactivity", "marked"] = Field(
        default="inactivity",
        description="`inactivity`: a customer with no paid order in `churn_inactive_days` has "
        "churned; `marked`: a customer whose lifecycle stage became `churned`.",
    )
    churn_inactive_days: int = Field(default=90, ge=1)
    sla_sweep_seconds: float = Field(
        default=30.0,
        description="How often the worker records SLA breaches that time alone caused.",
    )
    portal_jwt_secret: SecretStr | None = Field(
        default=None,
        description="Signs portal access tokens (HS256, 32+ bytes). Unset: the key generated "
        "with the database schema (table service_secrets), shared by every worker and replica "
        "on that database.",
    )
    portal_access_token_minutes: int = Field(default=15, ge=1, le=60)
    portal_refresh_token_days: int = Field(default=30, ge=1)
    portal_invitation_hours: int = Field(default=72, ge=1)
    portal_magic_link_minutes: int = Field(default=15, ge=1)
    portal_sign_in_limit_account: str = Field(
        default="5/minute", description="Sign-in attempts per portal account."
    )
    portal_sign_in_limit_address: str = Field(
        default="30/minute", description="Sign-in attempts per client address."
    )
    portal_base_url: str = Field(
        default="http://localhost:3000",
        description="The portal frontend; invitation and magic-link emails link to it.",
    )
    smtp_host: str | None = Field(
        default=None,
        description="Sends the email outbox over SMTP; unset, emails are appended to "
        "<CRM_DATA_DIR>/mail.mbox (development), never to the log.",
    )
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_starttls: bool = True
    smtp_from: str = "crm@localhost"


@lru_cache
def get_settings() -> Settings:
    return Settings()
