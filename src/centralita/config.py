"""Typed settings, built once from CENTRALITA_* environment variables and an optional file."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "centralita"


class Settings(BaseSettings):
    """Everything the process needs; nothing else reads the environment."""

    model_config = SettingsConfigDict(
        env_prefix="CENTRALITA_", env_file=None, extra="forbid", validate_default=True
    )

    data_dir: Path = DEFAULT_DATA_DIR
    database_url: str = Field(
        default="", description="SQLAlchemy async URL; empty means SQLite in data_dir."
    )
    redis_url: str = Field(default="", description="redis://…; empty means in-process bus.")
    redis_require_aof: bool = Field(
        default=False,
        description="Refuse to start when the bus's Redis reports no append-only file "
        "(a restart would lose published events); without it, a warning is logged.",
    )
    secret_key: SecretStr = Field(
        default=SecretStr(""), description="Signs sessions and CSRF tokens; required by serve."
    )
    public_base_url: str = "http://127.0.0.1:8000"
    host: str = "127.0.0.1"
    port: int = 8000
    environment: str = Field(default="production", pattern="^(production|development|test)$")
    max_body_bytes: int = 1_000_000
    # Edge limits (api/limits.py, docs/api.md "Limits").
    max_json_depth: int = Field(default=32, ge=1, le=1000)
    request_body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Whole body must arrive within this time, else 408."
    )
    request_header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Request headers must arrive within this time."
    )
    keep_alive_timeout_seconds: int = Field(default=5, ge=1)
    # Idempotency-Key on POST /api/v1/… (docs/api.md "Idempotency").
    idempotency_ttl_hours: int = Field(default=24, ge=24)
    idempotency_lease_seconds: float = Field(
        default=30.0, gt=0, description="A dead request's key is released after this long."
    )
    idempotency_purge_seconds: float = Field(default=3600.0, gt=0)
    session_idle_minutes: int = 30
    session_absolute_hours: int = 12
    cookie_secure: bool = True
    simulator_enabled: bool = False
    relay_interval_seconds: float = 1.0
    # Provider webhooks: "inline" stores the messages before answering; "inbox" stores the
    # verified request in one insert, answers, and workers store the messages in order per
    # customer (channels/inbox.py, docs/reliability.md). Calls are always inline.
    ingest_mode: str = Field(default="inline", pattern="^(inline|inbox)$")
    inbox_poll_seconds: float = Field(
        default=0.2, gt=0, description="How often an inbox worker looks for accepted requests."
    )
    inbox_account_cache_seconds: float = Field(
        default=2.0,
        ge=0,
        description="Inbox mode: how long a process reuses a channel account's settings when "
        "accepting webhooks (a disabled account or a new secret applies within it).",
    )
    # How long one outbound send may take before another worker may try it again (after
    # asking the provider whether it already went out): longer than any send can last.
    send_lease_seconds: float = 60.0
    routing_tick_seconds: float = Field(
        default=0.5, gt=0, description="How often routing checks offer and wrap-up timers."
    )
    campaign_tick_seconds: float = Field(
        default=15.0, gt=0, description="How often the campaign runner sends and sends reminders."
    )
    privacy_job_hours: float = Field(
        default=24.0, gt=0, description="How often erasures are destroyed and retention applied."
    )
    password_hash_cheap: bool = Field(
        default=False, description="Cheap argon2 parameters; tests only."
    )
    log_level: str = "INFO"
    metrics_token: SecretStr = Field(
        default=SecretStr(""), description="Bearer token for GET /metrics; empty: disabled (404)."
    )

    # Outgoing mail (staff messages, email replies). Empty host: no email is sent.
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: SecretStr = SecretStr("")
    smtp_starttls: bool = False
    mail_from: str = "centralita@localhost"
    # Demo and development: a built-in SMTP receiver stores mail here and /mailbox shows it.
    mailbox_dir: Path | None = None
    # The email channel's own SMTP receiver (`centralita serve` starts it; port 0: off) and
    # the IMAP poller's interval (docs/providers/email.md).
    smtp_receiver_host: str = "127.0.0.1"
    smtp_receiver_port: int = Field(default=0, ge=0, le=65535)
    smtp_receiver_max_bytes: int = Field(default=40 * 1024 * 1024, ge=1024)
    imap_poll_seconds: float = Field(default=60.0, gt=0)
    # How often a web chat socket looks for replies to push (docs/providers/webchat.md).
    webchat_poll_seconds: float = Field(default=1.0, gt=0)

    # NLU: "offline" (default, no network) or "llm" (an OpenAI-compatible chat-completions API).
    nlu_engine: str = Field(default="offline", pattern="^(offline|llm)$")
    llm_base_url: str = ""
    llm_model: str = ""
    llm_api_key: SecretStr = SecretStr("")
    llm_timeout_seconds: float = 10.0

    # Outgoing webhooks (docs/webhooks.md): hosts or networks (CIDR) tenants' webhooks may reach
    # although they are not public addresses, comma-separated; plain http for tests and demos.
    webhook_allowed_hosts: Annotated[list[str], NoDecode] = Field(default_factory=list)
    webhook_allow_http: bool = False
    webhook_timeout_seconds: float = Field(default=10.0, gt=0, le=120)
    webhook_concurrency: int = Field(default=8, ge=1, le=200)
    webhook_tick_seconds: float = Field(default=1.0, gt=0)

    @field_validator("webhook_allowed_hosts", mode="before")
    @classmethod
    def _split_allowed_hosts(cls, value: Any) -> Any:
        from centralita.webhooks.ssrf import AllowList

        if isinstance(value, str):
            value = [v for v in (p.strip() for p in value.split(",")) if v]
        if isinstance(value, list | tuple):
            AllowList.parse(str(v) for v in value)  # a bad entry fails at start-up, not later
        return value

    @model_validator(mode="after")
    def _fill_database_url(self) -> Settings:
        if not self.database_url:
            self.database_url = f"sqlite+aiosqlite:///{self.data_dir / 'centralita.db'}"
        return self

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


def load_settings(env_file: str | Path | None = None, **overrides: Any) -> Settings:
    """Build Settings from the environment, then an env-style file, then explicit overrides.

    ``CENTRALITA_ENV_FILE`` names the file when ``env_file`` is not given.
    """
    path = env_file or os.environ.get("CENTRALITA_ENV_FILE") or None
    if path is not None and not Path(path).is_file():
        raise FileNotFoundError(f"settings file not found: {path}")
    return Settings(_env_file=path, **overrides)
