"""Running the Alembic migrations from code (the CLI, the service start-up and the tests)."""

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import URL

from crm_api.core.db import sqlalchemy_url

_PROJECT_ROOT = Path(__file__).resolve().parents[3]


def alembic_config(database_url: str | URL) -> Config:
    """The project's alembic.ini, found in the working folder or beside the source tree."""
    for root in (Path.cwd(), _PROJECT_ROOT):
        if (root / "alembic.ini").is_file() and (root / "migrations").is_dir():
            config = Config(str(root / "alembic.ini"))
            break
    else:
        raise FileNotFoundError("alembic.ini and migrations/ were not found; run from the project.")
    url = database_url if isinstance(database_url, URL) else sqlalchemy_url(database_url)
    # configparser treats % as interpolation.
    config.set_main_option(
        "sqlalchemy.url", url.render_as_string(hide_password=False).replace("%", "%%")
    )
    return config


def upgrade_to_head(database_url: str | URL) -> None:
    command.upgrade(alembic_config(database_url), "head")
