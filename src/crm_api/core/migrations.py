"""Running the Alembic migrations from code (the CLI, the service start-up and the tests)."""

import importlib.util
from pathlib import Path
from types import ModuleType

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


def earlier_revision(beside: str, file: str) -> ModuleType:
    """Another migration in the folder of `beside` (a migration's __file__), loaded as a module:
    for a later migration that keeps, or puts back, what an earlier one declared."""
    path = Path(beside).with_name(file)
    spec = importlib.util.spec_from_file_location(f"revision_{path.stem.replace('-', '_')}", path)
    if spec is None or spec.loader is None:
        raise FileNotFoundError(path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
