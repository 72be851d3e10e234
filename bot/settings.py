"""Configuration from the environment and .env, validated once at start-up."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, SecretStr, ValidationError, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

# Telegram tokens are "<bot id>:<35 url-safe characters>"; checking the shape catches the
# common copy-paste mistakes (quotes, a missing half) before the first network call.
TOKEN_PATTERN = re.compile(r"^\d{5,20}:[A-Za-z0-9_-]{30,64}$")
SUPPORTED_LOCALES = ("de", "en")
DEFAULT_SQLITE_URL = "sqlite+aiosqlite:///./data/mitmachbot.db"
# A bearer token for /metrics must not be guessable: a password manager's 16 characters at least.
METRICS_TOKEN_MIN = 16

# What each variable expects, in the words the start-up error shows.
EXPECTATIONS: dict[str, str] = {
    "BOT_TOKEN": "the token from @BotFather, like 123456789:AAF0abc... (digits, colon, 35 chars)",
    "TELEGRAM_API_URL": "an http(s) URL of the Bot API server, like https://api.telegram.org",
    "DATABASE_URL": "a SQLAlchemy URL, sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db",
    "REDIS_URL": "a Redis URL, like redis://localhost:6379/0 (empty: one instance, no Redis)",
    "REDIS_PREFIX": "1 to 64 characters of A-Z, a-z, 0-9, _, - and :",
    "ADMIN_IDS": "comma-separated numeric Telegram user ids, like 12345,67890",
    "KV_NAME": "the chapter's name, 1 to 100 characters",
    "TIMEZONE": "an IANA time zone name, like Europe/Berlin",
    "DEFAULT_LOCALE": "one of: " + ", ".join(SUPPORTED_LOCALES),
    "WEBHOOK_URL": "the public https URL Telegram posts updates to, like https://bot.example.org/tg",
    "WEBHOOK_SECRET": "1-256 characters of A-Z, a-z, 0-9, _ and -",
    "WEBHOOK_LISTEN": "host:port for the bot's web server, like 0.0.0.0:8080 (empty: none in "
    "polling mode)",
    "PUBLIC_URL": "the public http(s) URL of the bot's web server, like https://bot.example.org",
    "LOG_LEVEL": "one of DEBUG, INFO, WARNING, ERROR",
    "NEWCOMER_DAYS": "a whole number of days from 1 to 365",
    "QUIET_MONTHS": "a whole number of months from 1 to 36",
    "SEND_RATE": "messages per second, above 0 (at most 30, or 1000 with PAID_BROADCAST)",
    "PAID_BROADCAST": "true or false",
    "DELIVERY_LEASE_SECONDS": "a whole number of seconds, at least 5",
    "SHORTFALL_HOURS": "a whole number of hours from 1 to 336",
    "HELP_CALL_COOLDOWN_DAYS": "a whole number of days from 0 to 365",
    "SHIFT_REMINDER_EVENING_HOUR": "an hour from 0 to 23, or off",
    "SHIFT_REMINDER_MINUTES": "a whole number of minutes from 0 to 1440",
    "SHIFT_EMPTIED_HOURS": "a whole number of hours from 1 to 336",
    "MEMORIAL_REMINDER_DAYS": "comma-separated days from 1 to 180, like 7,1",
    "MEMORIAL_ORGANISER_DAYS": "a whole number of days from 1 to 180",
    "MEMORIAL_GRACE_HOURS": "a whole number of hours from 1 to 336",
    "STARTUP_WAIT_SECONDS": "seconds to wait at start-up for the database and Telegram, from 0 "
    "(don't wait) to 3600",
    "DB_RETRY_SECONDS": "seconds from 0 to 86400 (0: no retry)",
    "SQLITE_BUSY_TIMEOUT_SECONDS": "seconds above 0, at most 3600",
    "TELEGRAM_RETRY_SECONDS": "seconds above 0, at most 600",
    "FLOOD_BURST": "a whole number of updates from 1 to 1000",
    "FLOOD_RATE": "updates per second, above 0, at most 1000",
    "FLOOD_MAX_DELAY": "seconds from 0 to 600",
    # Logs.
    "LOG_FORMAT": "text (one readable line per event) or json (one JSON object per line)",
    # Data protection.
    "PRIVACY_CONTACT": "who answers questions about privacy, like datenschutz@example.org "
    "(at most 200 characters; the KV setup's privacy contact comes first)",
    # Retention of departed members.
    "MEMBER_RETENTION_MONTHS": "a whole number of months from 1 to 120",
    # Health and metrics.
    "METRICS_ENABLED": "true or false",
    "METRICS_TOKEN": f"a secret of at least {METRICS_TOKEN_MIN} characters that /metrics asks for "
    "as Authorization: Bearer (empty: none asked)",
    "READY_MAX_AGE_SECONDS": "seconds above 0, at most 3600",
    # Retention and audit.
    "DELIVERY_RETENTION_DAYS": "a whole number of days from 30 to 3650",
    "AUDIT_RETENTION_DAYS": "a whole number of days from 30 to 3650",
    # The organisers' Mini App.
    "MINIAPP_MAX_AGE_SECONDS": "a whole number of seconds from 60 to 604800 (7 days)",
}


class ReasonError(ValueError):
    """A setting is malformed in a way its expectation doesn't say; shown after it."""


def _http_url(value: str | None) -> str | None:
    if not value:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("not an http(s) URL")
    return value.rstrip("/")


class Settings(BaseSettings):
    """Everything the bot needs to know about its deployment; built once in main, passed down."""

    model_config = SettingsConfigDict(
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
        case_sensitive=False,
    )

    # Only `run` and `check` talk to Telegram; the other commands work without a token
    # (Settings.require_token is where those two ask for it).
    bot_token: SecretStr | None = None
    telegram_api_url: str = "https://api.telegram.org"
    database_url: str = DEFAULT_SQLITE_URL
    # Several instances against one database share event isolation and the send-rate bucket
    # through Redis; None: a single instance.
    redis_url: str | None = None
    # Starts every key the bot keeps in Redis, so several bots (or tests) can share one server.
    redis_prefix: str = Field(default="mitmachbot", pattern=r"^[A-Za-z0-9_:-]{1,64}$")
    admin_ids: Annotated[frozenset[int], NoDecode] = frozenset()
    kv_name: str = Field(default="Kreisverband", min_length=1, max_length=100)
    timezone: str = "Europe/Berlin"
    default_locale: Literal["de", "en"] = "de"
    webhook_url: str | None = None
    webhook_secret: SecretStr | None = None
    # The one web server (webhook, /healthz, calendar feeds), in both modes; empty: none in
    # polling mode. 0.0.0.0: the container must accept outside traffic.
    webhook_listen: str = "0.0.0.0:8080"
    # Where people reach that server, for calendar links; None: WEBHOOK_URL's origin, if set.
    public_url: str | None = None
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    # After this many days without a group, a newcomer appears in the organisers' digest.
    newcomer_days: int = Field(default=14, ge=1, le=365)
    # After this many months without an RSVP, shift, group or answer, a member counts as quiet
    # and may get a gentle check-in (bot.services.reengagement).
    quiet_months: int = Field(default=6, ge=1, le=36)
    # Field actions: a shift still lacking people this many hours before its start gets a call
    # for help; a member is called at most once in this many days.
    shortfall_hours: int = Field(default=48, ge=1, le=14 * 24)
    help_call_cooldown_days: int = Field(default=7, ge=0, le=365)
    # Shift reminders: the evening before at this local hour (none: no evening reminder), and
    # this many minutes before the start (0: none).
    shift_reminder_evening_hour: int | None = Field(default=19, ge=0, le=23)
    shift_reminder_minutes: int = Field(default=60, ge=0, le=24 * 60)
    # Whoever plans an action hears of a shift that empties this close to its start.
    shift_emptied_hours: int = Field(default=48, ge=1, le=14 * 24)
    # Gedenktage: members are reminded these many days before (comma-separated), organisers
    # this many days before to plan the KV's event; a reminder late by downtime still goes out
    # within the grace window, later it is dropped.
    memorial_reminder_days: Annotated[tuple[int, ...], NoDecode] = (7, 1)
    memorial_organiser_days: int = Field(default=21, ge=1, le=180)
    memorial_grace_hours: int = Field(default=24, ge=1, le=14 * 24)
    # Members who blocked the bot or left every KV group are erased this many months later,
    # unless seen since (bot.services.erasure.erase_departed, a daily job).
    member_retention_months: int = Field(default=24, ge=1, le=120)
    # Bulk messages per second. Telegram allows about 30/s; paid broadcasts up to 1000/s.
    # (paid_broadcast comes first: send_rate's check reads it.)
    paid_broadcast: bool = False
    send_rate: float = Field(default=25.0, gt=0, le=1000)
    # How long a claimed outbox message may stay unconfirmed before another instance (or this
    # one after a restart) takes it back and sends it again.
    delivery_lease_seconds: int = Field(default=120, ge=5)
    # How long start-up waits for a database or Bot API that doesn't answer yet (bot.startup).
    startup_wait_seconds: float = Field(default=300.0, ge=0, le=3600)
    # An update that fails because the database is unreachable or locked is retried for this
    # long (from its arrival) before the member gets an apology; 0: no retry.
    db_retry_seconds: float = Field(default=300.0, ge=0, le=86_400)
    # How long a SQLite writer waits for another process's write lock before the attempt fails.
    sqlite_busy_timeout_seconds: float = Field(default=30.0, gt=0, le=3600)
    # How long one reply, edit or other direct request may be retried after Telegram's 429 or
    # a passing server or network error (answering a button press: at most 8 s of it).
    telegram_retry_seconds: float = Field(default=60.0, gt=0, le=600)
    # A member flooding the bot (bot.middlewares.flood): FLOOD_BURST updates at once, then
    # FLOOD_RATE a second; beyond that their updates wait, and one that would wait longer than
    # FLOOD_MAX_DELAY seconds is dropped. A human on a phone stays far below.
    flood_burst: int = Field(default=30, ge=1, le=1000)
    flood_rate: float = Field(default=2.0, gt=0, le=1000)
    flood_max_delay: float = Field(default=20.0, ge=0, le=600)
    # Logs: "json" writes one JSON object per line, for log collectors.
    log_format: Literal["text", "json"] = "text"

    @field_validator("log_format", mode="before")
    @classmethod
    def _format_lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    # Data protection: who answers privacy questions when the KV setup names nobody
    # (its privacy_contact comes first); shown in /datenschutz.
    privacy_contact: str | None = Field(default=None, max_length=200)
    # Health and metrics (bot.health, bot.metrics): /metrics answers only when enabled; /readyz
    # fails when getUpdates (polling) or webhook updates and Telegram's webhook info (webhook)
    # show no sign of life for this many seconds.
    metrics_enabled: bool = False
    # With it, /metrics answers only a request that brings it as "Authorization: Bearer …"
    # (Prometheus' `authorization` or `bearer_token` setting); without it, anyone who reaches
    # the web server may read the counts.
    metrics_token: SecretStr | None = None
    ready_max_age_seconds: float = Field(default=120.0, gt=0, le=3600)
    # Retention and audit: finished outbox rows are deleted after this many days
    # (a broadcast keeps their counts); at least 30, well past every job's window for queueing
    # an occasion again (bot.services.retention). The audit log is kept this many days.
    delivery_retention_days: int = Field(default=90, ge=30, le=3650)
    audit_retention_days: int = Field(default=365, ge=30, le=3650)
    # The organisers' Mini App (bot.miniapp): how long after Telegram signed its launch data
    # (initData's auth_date) the dashboard still accepts it; then it must be opened again.
    miniapp_max_age_seconds: int = Field(default=86_400, ge=60, le=7 * 86_400)

    @field_validator("bot_token")
    @classmethod
    def _token_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None:
            return None
        if not TOKEN_PATTERN.fullmatch(value.get_secret_value().strip()):
            raise ValueError("malformed")
        return SecretStr(value.get_secret_value().strip())

    @field_validator("metrics_token")
    @classmethod
    def _metrics_token_length(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or not value.get_secret_value().strip():
            return None
        token = value.get_secret_value().strip()
        if len(token) < METRICS_TOKEN_MIN:
            raise ValueError(f"too short: at least {METRICS_TOKEN_MIN} characters")
        return SecretStr(token)

    @field_validator("telegram_api_url")
    @classmethod
    def _api_url(cls, value: str) -> str:
        # An empty TELEGRAM_API_URL in .env means "the default", as .env.example suggests.
        return _http_url(value) or "https://api.telegram.org"

    @field_validator("webhook_url", "public_url")
    @classmethod
    def _webhook_url(cls, value: str | None) -> str | None:
        return _http_url(value)

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        if not value:
            return None
        parts = urlsplit(value)
        if parts.scheme not in ("redis", "rediss", "unix") or not (parts.netloc or parts.path):
            raise ValueError("not a redis:// URL")
        return value

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: str) -> str:
        if not value.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise ValueError("unsupported driver")
        # A port that isn't a number (or out of range) would otherwise fail at the first
        # connection, with a traceback.
        try:
            port = make_url(value).port
        except ArgumentError as exc:
            raise ValueError("not a URL") from exc
        except ValueError as exc:  # int() of what follows the host's colon
            raise ReasonError("the port is not a number") from exc
        if port is not None and not 0 < port < 65536:
            raise ReasonError(f"port {port} is out of range")
        return value

    @field_validator("admin_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            items = [item.strip() for item in value.split(",") if item.strip()]
            if not all(item.isdigit() for item in items):
                raise ValueError("not a list of numeric ids")
            return frozenset(int(item) for item in items)
        return value

    @field_validator("shift_reminder_evening_hour", mode="before")
    @classmethod
    def _no_hour(cls, value: object) -> object:
        if isinstance(value, str) and value.strip().lower() in {"", "none", "off"}:
            return None
        return value

    @field_validator("memorial_reminder_days", mode="before")
    @classmethod
    def _split_days(cls, value: object) -> object:
        if isinstance(value, str):
            items = [item.strip() for item in value.split(",") if item.strip()]
            if not all(item.isdigit() and 0 < int(item) <= 180 for item in items):
                raise ValueError("not a list of days between 1 and 180")
            return tuple(sorted({int(item) for item in items}, reverse=True))
        return value

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError("unknown time zone") from exc
        return value

    @field_validator("default_locale", mode="before")
    @classmethod
    def _locale_lower(cls, value: object) -> object:
        return value.strip().lower() if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _level_upper(cls, value: object) -> object:
        return value.strip().upper() if isinstance(value, str) else value

    @field_validator("webhook_secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        if value is None or value.get_secret_value() == "":
            return None
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", value.get_secret_value()):
            raise ValueError("bad characters")
        return value

    @field_validator("webhook_listen")
    @classmethod
    def _listen(cls, value: str) -> str:
        value = value.strip()
        if not value:
            return ""
        host, _, port = value.rpartition(":")
        if not host:
            raise ValueError("not host:port")
        if not port.isdigit():
            raise ReasonError("the port is not a number")
        if not 0 < int(port) < 65536:
            raise ReasonError(f"port {port} is out of range")
        return value

    @field_validator("send_rate")
    @classmethod
    def _rate_within_telegram_limits(cls, value: float, info: ValidationInfo) -> float:
        if value > (1000 if info.data.get("paid_broadcast") else 30):
            raise ValueError("above Telegram's limit")
        return value

    @property
    def zone(self) -> ZoneInfo:
        """The KV's time zone, for showing and scheduling local times."""
        return ZoneInfo(self.timezone)

    def require_token(self) -> SecretStr:
        """The bot token; SettingsError (the one start-up line) when BOT_TOKEN is not set."""
        if self.bot_token is None:
            raise SettingsError(
                f"Configuration error: BOT_TOKEN is missing; expected {EXPECTATIONS['BOT_TOKEN']}."
            )
        return self.bot_token

    @property
    def bot_id(self) -> int:
        """The bot's numeric id, the part of the token before the colon."""
        return int(self.require_token().get_secret_value().split(":", 1)[0])

    @property
    def webhook_host_port(self) -> tuple[str, int]:
        """WEBHOOK_LISTEN split into what aiohttp's TCPSite wants."""
        host, _, port = self.webhook_listen.rpartition(":")
        return host.strip("[]"), int(port)

    @property
    def web_server(self) -> bool:
        """Whether the web server runs in polling mode too (WEBHOOK_LISTEN not empty)."""
        return bool(self.webhook_listen)

    @property
    def public_base_url(self) -> str | None:
        """Where people reach the web server: PUBLIC_URL, else WEBHOOK_URL's scheme and host."""
        if self.public_url:
            return self.public_url
        if self.webhook_url:
            parts = urlsplit(self.webhook_url)
            return f"{parts.scheme}://{parts.netloc}"
        return None

    @property
    def webhook_path(self) -> str:
        """The path part of WEBHOOK_URL, where the aiohttp server listens."""
        if not self.webhook_url:
            return "/webhook"
        return urlsplit(self.webhook_url).path or "/"

    def sqlite_path(self) -> Path | None:
        """The database file for SQLite URLs (None for in-memory or other databases)."""
        prefix = "sqlite+aiosqlite:///"
        if not self.database_url.startswith(prefix):
            return None
        path = self.database_url.removeprefix(prefix).split("?", 1)[0]
        if path in ("", ":memory:"):
            return None
        return Path(path)


class SettingsError(Exception):
    """A setting is missing or malformed; the message is the one line shown at start-up."""


def describe_error(error: ValidationError) -> str:
    """One line naming the first bad variable and what it expects."""
    first = error.errors()[0]
    name = str(first["loc"][0]).upper() if first["loc"] else "settings"
    problem = "is missing" if first["type"] == "missing" else "is malformed"
    expected = EXPECTATIONS.get(name, first["msg"])
    # What the check found, when it says more than the expectation does (a port out of range).
    reason = str(first.get("ctx", {}).get("error", ""))
    found = f" ({reason})" if isinstance(first.get("ctx", {}).get("error"), ReasonError) else ""
    return f"Configuration error: {name} {problem}; expected {expected}{found}."


def load_settings(**overrides: object) -> Settings:
    """Build Settings from the environment and .env, raising SettingsError with one clear line."""
    try:
        return Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        raise SettingsError(describe_error(exc)) from None
    except (OSError, UnicodeDecodeError) as exc:  # .env unreadable, or not UTF-8
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else exc
        raise SettingsError(f"Configuration error: cannot read .env: {reason}.") from None
