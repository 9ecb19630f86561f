"""The service's connections: planned for their own values, no JIT, and room for a hash."""

from sqlalchemy import URL, text

from crm_api.core.config import Settings
from crm_api.core.db import create_engine


async def test_connections_carry_the_service_settings(
    database_url: URL, settings: Settings
) -> None:
    engine = create_engine(database_url, settings.model_copy(update={"db_work_mem_mb": 48}))
    try:
        async with engine.connect() as connection:
            shown = {
                name: await connection.scalar(text(f"SHOW {name}"))
                for name in ("work_mem", "jit", "plan_cache_mode", "application_name")
            }
    finally:
        await engine.dispose()
    assert shown == {
        "work_mem": "48MB",
        "jit": "off",
        "plan_cache_mode": "force_custom_plan",
        "application_name": "crm-api",
    }
