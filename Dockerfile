# syntax=docker/dockerfile:1
# A pinned base (Python and Debian release), and pinned dependencies (constraints.txt), so a
# rebuild installs what CI checked. .ci/start-path installs the same way (pip install -c
# constraints.txt ., no extras) and runs migrate, serve and healthcheck against PostgreSQL.
ARG PYTHON_IMAGE=python:3.11.13-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /build
COPY pyproject.toml README.md constraints.txt ./
COPY src ./src
# Without the [embedded] extra: in a container the database is a server of its own.
RUN pip install -c constraints.txt .

FROM ${PYTHON_IMAGE}
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin crm \
    && mkdir -p /var/lib/crm-api && chown crm /var/lib/crm-api
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY alembic.ini ./
COPY migrations ./migrations
# CRM_DATA_DIR: where the service may write (without CRM_SMTP_HOST, the development mailbox).
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 CRM_HOST=0.0.0.0 CRM_PORT=8000 \
    CRM_DATA_DIR=/var/lib/crm-api
USER crm
EXPOSE 8000
# Reads CRM_HOST / CRM_PORT like `serve` does: change the port in one place only.
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s CMD ["crm-api", "healthcheck"]
# `serve` applies the migrations (under a lock: replicas may start together), then serves.
# To migrate as a step of its own, run `crm-api migrate` once and serve with --no-migrate.
CMD ["crm-api", "serve"]
