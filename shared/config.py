"""All settings of the service, read once from `RENEWALS_*` environment variables."""

from __future__ import annotations

import base64
import binascii
from enum import StrEnum
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import EmailStr, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from shared.enums import StakeholderRole
from shared.salesforce_ids import to_18
from shared.secret_box import SecretBox, is_key, secret_box


class LogFormat(StrEnum):
    JSON = "json"
    CONSOLE = "console"


class KafkaSecurityProtocol(StrEnum):
    PLAINTEXT = "PLAINTEXT"
    SSL = "SSL"
    SASL_SSL = "SASL_SSL"


class KafkaSaslMechanism(StrEnum):
    PLAIN = "PLAIN"
    SCRAM_SHA_256 = "SCRAM-SHA-256"
    SCRAM_SHA_512 = "SCRAM-SHA-512"


class Settings(BaseSettings):
    # Values never appear in validation errors: several settings are secrets.
    model_config = SettingsConfigDict(
        env_prefix="RENEWALS_", extra="ignore", hide_input_in_errors=True
    )

    database_url: str = "sqlite+aiosqlite:///./renewals.db"
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    api_host: str = "127.0.0.1"
    api_port: int = Field(default=8000, ge=1, le=65535)
    # What the API's public port shows besides the API; the ops port always serves metrics.
    public_docs: bool = True
    public_metrics: bool = True
    api_metrics_port: int = Field(default=0, ge=0, le=65535)
    log_level: str = "INFO"
    log_format: LogFormat = LogFormat.JSON
    event_retention_days: int = Field(default=7, ge=1)
    idempotency_ttl_hours: int = Field(default=24, ge=1)
    idempotency_in_flight_seconds: int = Field(default=60, ge=1)
    # How long a sign-in to the web console (`/console`) lasts.
    console_session_hours: int = Field(default=8, ge=1, le=24 * 30)
    scheduler_interval_seconds: float = Field(default=60, ge=0)
    worker_poll_seconds: float = Field(default=0.2, gt=0)
    worker_batch_size: int = Field(default=100, ge=1, le=10_000)
    worker_lease_ttl_seconds: float = Field(default=10, gt=0)
    worker_max_backoff_seconds: float = Field(default=30, gt=0)
    worker_prune_interval_seconds: float = Field(default=300, ge=0)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_batch_body_bytes: int = Field(default=10 * 1024 * 1024, ge=1024)
    sqlite_busy_timeout_ms: int = Field(default=5000, ge=0)
    # Postgres cancels any statement of the app's sessions running longer (0: no limit);
    # SQLite has no such limit.
    db_statement_timeout_ms: int = Field(default=15_000, ge=0)
    # Distributed mode: Kafka and the outbox relay (DESIGN §2, §4).
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    kafka_topic: str = "renewals.lifecycle"
    kafka_notifications_topic: str = "renewals.notifications"
    kafka_partitions: int = Field(default=6, ge=1)
    kafka_replication_factor: int = Field(default=1, ge=1)
    kafka_idempotence: bool = True
    # TLS and SASL towards the brokers, for every producer, consumer and admin client.
    kafka_security_protocol: KafkaSecurityProtocol = KafkaSecurityProtocol.PLAINTEXT
    kafka_sasl_mechanism: KafkaSaslMechanism = KafkaSaslMechanism.SCRAM_SHA_512
    kafka_sasl_username: str | None = None
    kafka_sasl_password: SecretStr | None = None
    kafka_ssl_cafile: str | None = None
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

    # Outbound webhooks (services/webhooks): fan-out of notifications, then signed delivery.
    webhooks_allow_private: bool = False
    webhooks_timeout_seconds: float = Field(default=15, gt=0)
    webhooks_retry_initial_seconds: float = Field(default=5, gt=0)
    webhooks_retry_max_interval_seconds: float = Field(default=6 * 3600, gt=0)
    webhooks_retry_window_seconds: float = Field(default=3 * 24 * 3600, gt=0)
    webhooks_concurrency: int = Field(default=10, ge=1, le=1000)
    webhooks_poll_seconds: float = Field(default=1.0, gt=0)
    webhooks_delivery_retention_days: int = Field(default=30, ge=1)
    webhooks_kafka_group_id: str = "renewals-webhooks"

    # Portfolio reports (DESIGN §3.3): churn reasons left out of partner retention, and the
    # ARR one account manager can carry.
    retention_excluded_reasons: Annotated[list[str], NoDecode] = ["business_closed"]
    arr_per_manager: int = Field(default=2_000_000, ge=1)
    # Calls to /v1/reports/* per API key and per API process: a token bucket refilled at
    # this rate a minute (0: no limit), holding at most `burst` calls at once.
    report_rate_per_minute: int = Field(default=60, ge=0)
    report_rate_burst: int = Field(default=20, ge=1)

    # Encrypts the secrets stored in the database (shared/secret_box.py): Fernet keys,
    # comma-separated, newest first while rotating.
    secret_key: Annotated[list[SecretStr], NoDecode] = []

    # Inbound webhooks (services/api/webhooks): signed changes a CRM pushes. Secrets are
    # SecretStr so they never show in reprs or logs.
    inbound_generic_secrets: Annotated[list[SecretStr], NoDecode] = []
    # Comma-separated, two while rotating: HubSpot retries deliveries signed with the old
    # secret after the new one is in use. The name stays singular (one is the usual case).
    hubspot_client_secret: Annotated[list[SecretStr], NoDecode] = Field(default=[], max_length=2)
    public_base_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+(/[^?#]*)?$")
    hubspot_property_map: dict[str, dict[str, str | None]] = {}
    hubspot_role_map: dict[str, StakeholderRole] = {}
    hubspot_owner_emails: dict[str, EmailStr] = {}

    # CRM task sync (services/crm_sync, docs/crm/hubspot.md): engine tasks pushed into the
    # CRMs' own task queues, retried with the webhooks' backoff and retry window. HubSpot's
    # is on when the private app's access token is set; its completions come back through
    # the webhook above and, every `hubspot_poll_seconds` (0: never), a search.
    hubspot_access_token: SecretStr | None = None
    hubspot_api_url: str = Field(default="https://api.hubapi.com", pattern=r"^https?://[^?#]+$")
    hubspot_poll_seconds: float = Field(default=300, ge=0)
    crm_sync_timeout_seconds: float = Field(default=15, gt=0)
    crm_sync_concurrency: int = Field(default=4, ge=1, le=100)
    crm_sync_poll_seconds: float = Field(default=1.0, gt=0)

    # Salesforce (docs/crm/salesforce.md). In: Outbound Messages from these orgs only
    # (comma-separated 15- or 18-character ids, kept in the 18-character form), mapped by
    # the field map (object type -> Salesforce field -> field here, null to ignore one),
    # the role map (picklist value -> role), and which opportunities are renewals (the
    # mapped `renewal` field holding one of these values). Out: Task records, on when the
    # My Domain URL and the connected app's client credentials are all set; completions
    # are polled every `poll_seconds` (0: only through an Outbound Message on Task).
    salesforce_org_ids: Annotated[list[str], NoDecode] = []
    salesforce_field_map: dict[str, dict[str, str | None]] = {}
    salesforce_role_map: dict[str, StakeholderRole] = {}
    salesforce_renewal_values: Annotated[list[str], NoDecode] = ["Renewal"]
    salesforce_url: str | None = Field(default=None, pattern=r"^https?://[^/?#]+$")
    salesforce_client_id: str | None = None
    salesforce_client_secret: SecretStr | None = None
    salesforce_poll_seconds: float = Field(default=60, ge=0)

    @field_validator("salesforce_org_ids", "salesforce_renewal_values", mode="before")
    @classmethod
    def _split_salesforce_lists(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator("salesforce_org_ids")
    @classmethod
    def _salesforce_org_ids(cls, value: list[str]) -> list[str]:
        """Salesforce sends the 18-character id; a 15-character one copied from Setup's
        Company Information page is accepted and extended, and anything else fails here
        rather than as a 401 on every message."""
        try:
            return [to_18(org) for org in value]
        except ValueError:
            raise ValueError(
                "each id must be a 15- or 18-character Salesforce organization id (Setup >"
                " Company Information > Salesforce.com Organization ID)"
            ) from None

    @model_validator(mode="after")
    def _salesforce_credentials_come_together(self) -> Settings:
        """One or two of the three would leave the sync silently off."""
        given = {
            "RENEWALS_SALESFORCE_URL": self.salesforce_url,
            "RENEWALS_SALESFORCE_CLIENT_ID": self.salesforce_client_id,
            "RENEWALS_SALESFORCE_CLIENT_SECRET": self.salesforce_client_secret,
        }
        missing = [name for name, value in given.items() if not value]
        if 0 < len(missing) < len(given):
            raise ValueError(
                f"{', '.join(missing)} must be set too: Salesforce task sync needs the My"
                " Domain URL and the connected app's client id and secret"
            )
        return self

    @field_validator(
        "inbound_generic_secrets", "hubspot_client_secret", "secret_key", mode="before"
    )
    @classmethod
    def _split_secrets(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @field_validator(
        "hubspot_access_token",
        "salesforce_url",
        "salesforce_client_id",
        "salesforce_client_secret",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: Any) -> Any:
        """An empty variable (`FOO=` in a .env file or compose) leaves a CRM's sync off
        rather than turning it on with an empty credential."""
        return None if isinstance(value, str) and not value.strip() else value

    @field_validator("inbound_generic_secrets")
    @classmethod
    def _whsec_secrets(cls, value: list[SecretStr]) -> list[SecretStr]:
        """Fails at start-up, not on the first delivery, when a secret is not `whsec_`
        followed by non-empty base64 (the Standard Webhooks format)."""
        for secret in value:
            plain = secret.get_secret_value()
            body = plain.removeprefix("whsec_")
            try:
                key = base64.b64decode(body + "=" * (-len(body) % 4), validate=True)
            except binascii.Error:
                key = b""
            if not plain.startswith("whsec_") or not key:
                raise ValueError("each secret must be 'whsec_' followed by base64")
        return value

    @field_validator("secret_key")
    @classmethod
    def _fernet_keys(cls, value: list[SecretStr]) -> list[SecretStr]:
        if not all(is_key(key.get_secret_value()) for key in value):
            raise ValueError(
                "each key must be a Fernet key (32 bytes in URL-safe base64): generate one "
                "with `renewals secrets new-key`"
            )
        return value

    @field_validator("retention_excluded_reasons", mode="before")
    @classmethod
    def _split_reasons(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @model_validator(mode="after")
    def _hubspot_signs_the_public_url(self) -> Settings:
        """HubSpot signs the URL it called; the request's own URL is whatever the Host
        header and the proxies in between say, which a sender controls, so it is never
        used in its place."""
        if self.hubspot_client_secret and self.public_base_url is None:
            raise ValueError(
                "RENEWALS_PUBLIC_BASE_URL is required when RENEWALS_HUBSPOT_CLIENT_SECRET is"
                " set: the scheme, host and path prefix HubSpot calls, as in the app's target"
                " URL (e.g. https://renewals.example.com)"
            )
        return self

    @model_validator(mode="after")
    def _ops_port_is_not_the_api_port(self) -> Settings:
        if self.api_metrics_port == self.api_port:
            raise ValueError("RENEWALS_API_METRICS_PORT must differ from RENEWALS_API_PORT")
        return self

    @model_validator(mode="after")
    def _kafka_security_is_consistent(self) -> Settings:
        """Fails at start-up rather than at the first connection, and refuses credentials
        or a CA file the chosen protocol would silently ignore."""
        protocol = self.kafka_security_protocol
        sasl = protocol is KafkaSecurityProtocol.SASL_SSL
        has_credentials = self.kafka_sasl_username is not None or (
            self.kafka_sasl_password is not None
        )
        if sasl and not (self.kafka_sasl_username and self.kafka_sasl_password):
            raise ValueError(
                "RENEWALS_KAFKA_SECURITY_PROTOCOL=SASL_SSL needs "
                "RENEWALS_KAFKA_SASL_USERNAME and RENEWALS_KAFKA_SASL_PASSWORD"
            )
        if has_credentials and not sasl:
            raise ValueError(
                f"RENEWALS_KAFKA_SASL_USERNAME/PASSWORD are only used with SASL_SSL, "
                f"not {protocol.value}"
            )
        if self.kafka_ssl_cafile is not None and protocol is KafkaSecurityProtocol.PLAINTEXT:
            raise ValueError("RENEWALS_KAFKA_SSL_CAFILE is only used with SSL or SASL_SSL")
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    def secret_box(self) -> SecretBox:
        """Raises `SecretKeyMissing` on a database other than a local SQLite file when
        `RENEWALS_SECRET_KEY` is not set."""
        return secret_box([key.get_secret_value() for key in self.secret_key], self.database_url)


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The process-wide settings; tests build their own `Settings` instead of calling this."""
    return Settings()
