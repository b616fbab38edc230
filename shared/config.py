"""All settings of the service, read once from `RENEWALS_*` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="RENEWALS_", extra="ignore")

    database_url: str = "sqlite+aiosqlite:///./renewals.db"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.JSON
    event_retention_days: int = Field(default=7, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    scheduler_interval_seconds: float = Field(default=60, ge=0)
    worker_poll_seconds: float = Field(default=0.2, gt=0)
    worker_batch_size: int = Field(default=100, ge=1, le=10_000)
    worker_lease_ttl_seconds: float = Field(default=10, gt=0)
    worker_max_backoff_seconds: float = Field(default=30, gt=0)
    worker_prune_interval_seconds: float = Field(default=300, ge=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_batch_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own `Settings` instead of calling this."""
    return Settings()
