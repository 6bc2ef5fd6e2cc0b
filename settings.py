"""Configuration, read once from the environment (and ``.env`` when present) and validated.

A missing or malformed value raises ConfigError naming the variable; bot.py turns it into one
line on stderr and exit code 2. Secrets are kept out of ``repr`` so they cannot reach a log.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from db.database import POSTGRES_SCHEMES, shown
from errors import BotError
from providers.base import ProviderConfig

PROVIDER_IDS = ("nanobanana", "nanobananavideo", "aivideoapi", "nananobanana")
QUOTA_PERIODS = ("daily", "weekly", "monthly", "none")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")
MIN_CALLBACK_SECRET = 16  # characters; a guessable key would let anyone forge callbacks


class ConfigError(BotError):
    """A setting is missing or malformed. The message is one finished sentence."""

    def __init__(self, variable: str, problem: str) -> None:
        super().__init__(f"{variable} {problem}")
        self.variable = variable


class Secret(str):
    """A string that does not show itself in repr() or logs."""

    def __repr__(self) -> str:
        return "Secret('***')"


@dataclass(frozen=True)
class Settings:
    discord_token: Secret | None
    database_path: Path | None  # the SQLite file; None on PostgreSQL
    dev_guild_id: int | None
    log_level: str
    providers: dict[str, ProviderConfig]  # enabled HTTP providers only
    sandbox: bool
    default_image_model: str | None
    default_video_model: str | None
    default_animate_model: str | None
    quota_period: str
    quota_default_credits: int
    max_jobs_per_user: int
    moderator_role_ids: frozenset[int]
    image_deadline_seconds: float
    video_deadline_seconds: float
    sandbox_credit_rate: float = 1.0
    callback_url: str | None = None  # public base URL that reaches the callback listener
    callback_secret: Secret | None = None  # the HMAC key of callback URLs (with callback_url)
    callback_host: str = "127.0.0.1"
    callback_port: int = 8080
    # Origins whose media is fetched without the public-https check (scheme://host:port,
    # normalised); by default the enabled providers' base URLs. See jobs/download.py.
    media_trusted_origins: tuple[str, ...] = ()
    download_concurrency: int = 4  # jobs downloading their results at once
    # /healthz and /metrics (METRICS_LISTEN); None: no listener
    metrics_host: str | None = None
    metrics_port: int | None = None
    database_url: Secret | None = None  # DATABASE_URL=postgresql://…; None on SQLite
    # Sharding (SHARD_COUNT, SHARD_IDS): None runs one gateway connection, as a bot in fewer
    # than 2,500 servers may; else an AutoShardedBot over ``shard_ids`` of ``shard_count``.
    shard_count: int | None = None
    shard_ids: tuple[int, ...] | None = None  # None: every shard of shard_count
    sync_commands: bool = True  # SYNC_COMMANDS: this process syncs the slash commands

    @property
    def database(self) -> Path | str:
        """What Database.open takes."""
        if self.database_url is not None:
            return self.database_url
        assert self.database_path is not None
        return self.database_path

    @property
    def database_shown(self) -> str:
        """The database as logs and messages name it: never with its password."""
        return shown(self.database)

    def credit_rate(self, provider_id: str) -> float:
        if provider_id == "sandbox":
            return self.sandbox_credit_rate
        config = self.providers.get(provider_id)
        return config.credit_rate if config else 1.0

    def require_token(self) -> Secret:
        if not self.discord_token:
            raise ConfigError(
                "DISCORD_TOKEN",
                "is not set: put the bot token from the Discord developer portal in the "
                "environment or in .env (see .env.example)",
            )
        return self.discord_token


def _get(env: Mapping[str, str], name: str) -> str | None:
    value = env.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _int(env: Mapping[str, str], name: str, default: int | None, *, minimum: int = 0) -> int | None:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise ConfigError(name, f"must be a whole number, got {raw!r}") from None
    if value < minimum:
        raise ConfigError(name, f"must be at least {minimum}, got {value}")
    return value


def _float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    raw = _get(env, name)
    if raw is None:
        return default
    try:
        value = float(raw)
    except ValueError:
        raise ConfigError(name, f"must be a number, got {raw!r}") from None
    if not value > minimum:
        raise ConfigError(name, f"must be greater than {minimum:g}, got {raw}")
    return value


def _origin(name: str, raw: str) -> str:
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ConfigError(name, f"must be an origin like https://api.example.com, got {raw!r}")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise ConfigError(
            name, f"must be an origin without a path (scheme://host[:port]), got {raw!r}"
        )
    return f"{parts.scheme}://{parts.netloc}"


def normalise_origin(raw: str) -> str | None:
    """``scheme://host:port`` in lower case with the port always written, or None when
    ``raw`` is not an http(s) origin. The downloader compares origins in this form."""
    try:
        parts = urlsplit(raw.strip())
        port = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        return None
    if parts.username is not None or parts.password is not None:
        return None
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    return f"{scheme}://{host}:{port or (443 if scheme == 'https' else 80)}"


def _trusted_origins(
    env: Mapping[str, str], providers: dict[str, ProviderConfig]
) -> tuple[str, ...]:
    """MEDIA_TRUSTED_ORIGINS, or the enabled providers' base URLs when it is not set.
    ``none`` trusts no origin at all (every media URL must then be public https)."""
    raw = _get(env, "MEDIA_TRUSTED_ORIGINS")
    if raw is None:
        found = (normalise_origin(config.base_url) for config in providers.values())
        return tuple(dict.fromkeys(origin for origin in found if origin))
    if raw.lower() == "none":
        return ()
    origins: list[str] = []
    for part in raw.split(","):
        if not part.strip():
            continue
        origin = normalise_origin(part)
        if origin is None:
            raise ConfigError(
                "MEDIA_TRUSTED_ORIGINS",
                "must be comma-separated origins like https://cdn.example.com or "
                f"http://127.0.0.1:8000 (scheme://host[:port], no path), got {part.strip()!r}",
            )
        origins.append(origin)
    return tuple(dict.fromkeys(origins))


def _sharding(env: Mapping[str, str]) -> tuple[int | None, tuple[int, ...] | None]:
    count = _int(env, "SHARD_COUNT", None, minimum=1)
    raw = _get(env, "SHARD_IDS")
    if raw is None:
        return count, None
    if count is None:
        raise ConfigError(
            "SHARD_IDS", "needs SHARD_COUNT, the number of shards across all processes"
        )
    ids: list[int] = []
    for part in raw.split(","):
        text = part.strip()
        if not text.isdigit() or int(text) >= count:
            raise ConfigError(
                "SHARD_IDS",
                f"must be comma-separated shard numbers from 0 to {count - 1} "
                f"(SHARD_COUNT is {count}), got {text!r}",
            )
        ids.append(int(text))
    return count, tuple(sorted(set(ids)))


def _flag(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = (_get(env, name) or ("1" if default else "0")).lower()
    if raw not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError(name, f"must be 1 or 0, got {raw!r}")
    return raw in ("1", "true", "yes")


def _database(raw: str | None) -> tuple[Path | None, Secret | None]:
    """(the SQLite file, or None; the PostgreSQL URL, or None). A PostgreSQL URL may carry
    a password, so it is kept as a Secret and shown only without it."""
    url = raw or "sqlite:///data/bananabot.db"
    prefix = "sqlite:///"
    if url.startswith(prefix) and len(url) > len(prefix):
        return Path(url[len(prefix) :]), None
    if url.startswith(POSTGRES_SCHEMES):
        try:
            parts = urlsplit(url)
            port_ok = parts.port is None or parts.port > 0
        except ValueError:
            port_ok = False
        if port_ok and (parts.hostname or "host=" in parts.query) and parts.path.strip("/"):
            return None, Secret(url)
    raise ConfigError(
        "DATABASE_URL",
        "must look like sqlite:///data/bananabot.db (relative), sqlite:////abs/path.db or "
        f"postgresql://user:password@host:5432/bananabot, got {_without_password(url)!r}",
    )


def _without_password(url: str) -> str:
    return re.sub(r"^([a-z][a-z0-9+.-]*://[^:/@]*):[^@/]*@", r"\1:***@", url, flags=re.I)


def _provider_configs(env: Mapping[str, str]) -> dict[str, ProviderConfig]:
    from providers.registry import ADAPTERS  # late import: adapters import httpx

    configs: dict[str, ProviderConfig] = {}
    for provider_id in PROVIDER_IDS:
        prefix = provider_id.upper()
        key = _get(env, f"{prefix}_API_KEY")
        if key is None:
            continue
        adapter = ADAPTERS[provider_id]
        raw_base = _get(env, f"{prefix}_BASE_URL") or adapter.default_base_url
        if raw_base is None:
            raise ConfigError(
                f"{prefix}_BASE_URL",
                f"is required when {prefix}_API_KEY is set (the {provider_id} document names "
                "no host)",
            )
        configs[provider_id] = ProviderConfig(
            api_key=Secret(key),
            base_url=_origin(f"{prefix}_BASE_URL", raw_base),
            credit_rate=_float(env, f"{prefix}_CREDIT_RATE", 1.0),
            max_concurrency=_int(env, f"{prefix}_MAX_CONCURRENCY", None, minimum=1),
            requests_per_minute=_int(env, f"{prefix}_REQUESTS_PER_MINUTE", None, minimum=1),
        )
    return configs


def _callback_listen(env: Mapping[str, str]) -> tuple[str, int]:
    raw = _get(env, "CALLBACK_LISTEN") or "127.0.0.1:8080"
    return _listen(raw, "CALLBACK_LISTEN", "127.0.0.1:8080")


def _listen(raw: str, name: str, example: str) -> tuple[str, int]:
    host, _, port = raw.rpartition(":")
    if not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ConfigError(name, f"must be host:port like {example}, got {raw!r}")
    return host.strip("[]"), int(port)  # [::1]:8080 binds ::1


def _metrics_listen(
    env: Mapping[str, str], callback: tuple[str, int] | None
) -> tuple[str | None, int | None]:
    """METRICS_LISTEN: where /healthz and /metrics are served; unset or empty: nowhere."""
    raw = _get(env, "METRICS_LISTEN")
    if raw is None:
        return None, None
    host, port = _listen(raw, "METRICS_LISTEN", "127.0.0.1:9090")
    wildcard = ("0.0.0.0", "::")
    if (
        callback is not None
        and callback[1] == port
        and (callback[0] == host or callback[0] in wildcard or host in wildcard)
    ):
        raise ConfigError(
            "METRICS_LISTEN",
            f"must not use the callback listener's port ({raw!r}; CALLBACK_LISTEN is "
            f"{callback[0]}:{callback[1]})",
        )
    return host, port


def _callback_secret(env: Mapping[str, str], callback_url: str | None) -> Secret | None:
    """The key that signs callback URLs: its own secret, never derived from another one."""
    raw = _get(env, "CALLBACK_SECRET")
    if raw is None:
        if callback_url is not None:
            raise ConfigError(
                "CALLBACK_SECRET",
                "must be set when CALLBACK_URL is set: it signs the callback URLs "
                "(make one with: python3 -c 'import secrets; print(secrets.token_hex(32))')",
            )
        return None
    if len(raw) < MIN_CALLBACK_SECRET:
        raise ConfigError(
            "CALLBACK_SECRET",
            f"must be at least {MIN_CALLBACK_SECRET} characters long, got {len(raw)}",
        )
    return Secret(raw)


def _callback_url(env: Mapping[str, str]) -> str | None:
    raw = _get(env, "CALLBACK_URL")
    if raw is None:
        return None
    parts = urlsplit(raw)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        raise ConfigError(
            "CALLBACK_URL", f"must be a URL like https://bot.example.com, got {raw!r}"
        )
    return raw.rstrip("/")


def _model_setting(env: Mapping[str, str], name: str) -> str | None:
    value = _get(env, name)
    if value is not None and (" " in value or value.count(":") > 1):
        raise ConfigError(name, f"must be a model id or provider:model, got {value!r}")
    return value


def load_settings(env: Mapping[str, str] | None = None, *, dotenv: bool = True) -> Settings:
    """Read and validate every setting. ``env`` defaults to os.environ (after ``.env``)."""
    if env is None:
        if dotenv:
            from dotenv import load_dotenv

            load_dotenv(Path.cwd() / ".env", override=False)  # the working directory's
        env = os.environ

    log_level = (_get(env, "LOG_LEVEL") or "INFO").upper()
    if log_level not in LOG_LEVELS:
        raise ConfigError("LOG_LEVEL", f"must be one of {', '.join(LOG_LEVELS)}, got {log_level!r}")

    period = (_get(env, "QUOTA_PERIOD") or "daily").lower()
    if period not in QUOTA_PERIODS:
        raise ConfigError(
            "QUOTA_PERIOD", f"must be one of {', '.join(QUOTA_PERIODS)}, got {period!r}"
        )

    sandbox_raw = (_get(env, "SANDBOX_PROVIDER") or "0").lower()
    if sandbox_raw not in ("0", "1", "true", "false", "yes", "no"):
        raise ConfigError("SANDBOX_PROVIDER", f"must be 1 or 0, got {sandbox_raw!r}")

    mod_roles: set[int] = set()
    for part in (_get(env, "MODERATOR_ROLE_IDS") or "").split(","):
        if part.strip():
            if not part.strip().isdigit():
                raise ConfigError(
                    "MODERATOR_ROLE_IDS", f"must be comma-separated role ids, got {part.strip()!r}"
                )
            mod_roles.add(int(part.strip()))

    token = _get(env, "DISCORD_TOKEN")
    callback_url = _callback_url(env)
    callback_host, callback_port = _callback_listen(env)
    metrics_host, metrics_port = _metrics_listen(
        env, (callback_host, callback_port) if callback_url else None
    )
    providers = _provider_configs(env)
    database_path, database_url = _database(_get(env, "DATABASE_URL"))
    shard_count, shard_ids = _sharding(env)
    return Settings(
        discord_token=Secret(token) if token else None,
        database_path=database_path,
        database_url=database_url,
        shard_count=shard_count,
        shard_ids=shard_ids,
        sync_commands=_flag(env, "SYNC_COMMANDS", True),
        dev_guild_id=_int(env, "DEV_GUILD_ID", None, minimum=1),
        log_level=log_level,
        providers=providers,
        sandbox=sandbox_raw in ("1", "true", "yes"),
        default_image_model=_model_setting(env, "DEFAULT_IMAGE_MODEL"),
        default_video_model=_model_setting(env, "DEFAULT_VIDEO_MODEL"),
        default_animate_model=_model_setting(env, "DEFAULT_ANIMATE_MODEL"),
        quota_period=period,
        quota_default_credits=_int(env, "QUOTA_DEFAULT_CREDITS", 50) or 0,
        max_jobs_per_user=_int(env, "MAX_JOBS_PER_USER", 2, minimum=1) or 2,
        moderator_role_ids=frozenset(mod_roles),
        image_deadline_seconds=_float(env, "IMAGE_DEADLINE_MINUTES", 10.0) * 60,
        video_deadline_seconds=_float(env, "VIDEO_DEADLINE_MINUTES", 30.0) * 60,
        sandbox_credit_rate=_float(env, "SANDBOX_CREDIT_RATE", 1.0),
        callback_url=callback_url,
        callback_secret=_callback_secret(env, callback_url),
        callback_host=callback_host,
        callback_port=callback_port,
        media_trusted_origins=_trusted_origins(env, providers),
        download_concurrency=_int(env, "DOWNLOAD_CONCURRENCY", 4, minimum=1) or 4,
        metrics_host=metrics_host,
        metrics_port=metrics_port,
    )
