"""All settings of the service, read once from `RENEWALS_*` environment variables."""

from __future__ import annotations

from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict


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
    # Distributed mode: Kafka and the outbox relay (DESIGN §2, §4).
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic: str = "renewals.lifecycle"
    kafka_notifications_topic: str = "renewals.notifications"
    kafka_partitions: int = Field(default=6, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_idempotence: bool = True
    relay_batch_size: int = Field(default=500, ge=1, le=10_000)
    relay_poll_seconds: float = Field(default=1.0, gt=0)
    relay_standby_seconds: float = Field(default=3.0, gt=0)
    relay_max_backoff_seconds: float = Field(default=30, gt=0)
    relay_shutdown_grace_seconds: float = Field(default=10, ge=0)
    relay_metrics_port: int = Field(default=0, ge=0, le=65535)

    # Distributed mode: the consumer-group worker (`renewals worker` with the Kafka bus).
    event_bus: Literal["database", "kafka"] = "database"
    kafka_group_id: str = "renewals-worker"
    kafka_session_timeout_ms: int = Field(default=10_000, ge=1000)
    kafka_batch_size: int = Field(default=500, ge=1, le=10_000)
    kafka_poll_timeout_ms: int = Field(default=1000, ge=0)
    worker_metrics_port: int = Field(default=0, ge=0, le=65535)

    # Portfolio reports (DESIGN §3.3): churn reasons left out of partner retention, and the
    # ARR one account manager can carry.
    retention_excluded_reasons: Annotated[list[str], NoDecode] = ["business_closed"]
    arr_per_manager: int = Field(default=2_000_000, ge=1)

    @field_validator("retention_excluded_reasons", mode="before")
    @classmethod
    def _split_reasons(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own `Settings` instead of calling this."""
    return Settings()
