"""Configuration: defaults, validation messages naming the variable, secrets kept out of repr."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from settings import ConfigError, load_settings

ROOT = Path(__file__).resolve().parent.parent


def test_defaults_without_providers():
    settings = load_settings({"DISCORD_TOKEN": "abc.def"})
    assert settings.database_path == Path("data/bananabot.db")
    assert settings.quota_period == "daily"
    assert settings.quota_default_credits == 50
    assert settings.max_jobs_per_user == 2
    assert settings.providers == {}
    assert settings.sandbox is False
    assert (settings.shard_count, settings.shard_ids, settings.sync_commands) == (None, None, True)


def test_a_postgresql_url_is_kept_secret_and_shown_without_its_password():
    url = "postgresql://bot:pa55word@db.internal:5432/bananabot"
    settings = load_settings({"DATABASE_URL": url})
    assert settings.database_path is None and settings.database == url
    assert settings.database_shown == "postgresql://bot@db.internal:5432/bananabot"
    assert "pa55word" not in repr(settings)


@pytest.mark.parametrize(
    "url",
    [
        "postgres://x",  # no database name
        "postgresql://bot:pa55word@db:99999/bananabot",  # no such port
        "mysql://bot:pa55word@db/bananabot",
    ],
)
def test_a_malformed_database_url_is_refused_without_showing_its_password(url):
    with pytest.raises(ConfigError) as err:
        load_settings({"DATABASE_URL": url})
    assert err.value.variable == "DATABASE_URL"
    assert "pa55word" not in str(err.value) and "postgresql://user:password@host" in str(err.value)


def test_sharding_settings():
    settings = load_settings({"SHARD_COUNT": "4", "SHARD_IDS": "3, 1", "SYNC_COMMANDS": "0"})
    assert (settings.shard_count, settings.shard_ids, settings.sync_commands) == (4, (1, 3), False)
    assert load_settings({"SHARD_COUNT": "2"}).shard_ids is None  # every shard in this process
    for env in ({"SHARD_IDS": "0"}, {"SHARD_COUNT": "2", "SHARD_IDS": "2"}, {"SHARD_COUNT": "0"}):
        with pytest.raises(ConfigError) as err:
            load_settings(env)
        assert err.value.variable in env


def test_provider_enabled_exactly_when_key_set():
    settings = load_settings(
        {
            "AIVIDEOAPI_API_KEY": "sk-1",
            "NANANOBANANA_API_KEY": "nb_2",
            "NANANOBANANA_CREDIT_RATE": "2.5",
        }
    )
    assert set(settings.providers) == {"aivideoapi", "nananobanana"}
    assert settings.providers["aivideoapi"].base_url == "https://api.aivideoapi.ai"
    assert settings.providers["nananobanana"].base_url == "https://www.nananobanana.com"
    assert settings.credit_rate("nananobanana") == 2.5
    assert settings.credit_rate("aivideoapi") == 1.0


def test_an_account_request_budget_replaces_the_documented_one():
    from providers.aivideoapi import AIVideoAPIProvider
    from providers.nanobanana import NanoBananaProvider

    settings = load_settings(
        {
            "AIVIDEOAPI_API_KEY": "sk-1",
            "AIVIDEOAPI_REQUESTS_PER_MINUTE": "600",
            "NANOBANANA_API_KEY": "nb_sk_x",
            "NANOBANANA_BASE_URL": "https://nb.example",
        }
    )
    raised = AIVideoAPIProvider(settings.providers["aivideoapi"])
    documented = NanoBananaProvider(settings.providers["nanobanana"])
    assert raised.request_budget() == 600  # the document names no limit; the account does
    assert documented.request_budget() == 60  # "60 requests per minute per API key"
    with pytest.raises(ConfigError) as err:
        load_settings({"AIVIDEOAPI_API_KEY": "sk-1", "AIVIDEOAPI_REQUESTS_PER_MINUTE": "0"})
    assert err.value.variable == "AIVIDEOAPI_REQUESTS_PER_MINUTE"


def test_nanobanana_needs_a_base_url():
    with pytest.raises(ConfigError) as err:
        load_settings({"NANOBANANA_API_KEY": "nb_sk_x"})
    assert err.value.variable == "NANOBANANA_BASE_URL"


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"QUOTA_PERIOD": "hourly"}, "QUOTA_PERIOD"),
        ({"QUOTA_DEFAULT_CREDITS": "lots"}, "QUOTA_DEFAULT_CREDITS"),
        ({"MAX_JOBS_PER_USER": "0"}, "MAX_JOBS_PER_USER"),
        ({"DATABASE_URL": "postgres://x"}, "DATABASE_URL"),
        ({"SYNC_COMMANDS": "maybe"}, "SYNC_COMMANDS"),
        ({"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
        ({"DEV_GUILD_ID": "abc"}, "DEV_GUILD_ID"),
        ({"MODERATOR_ROLE_IDS": "12,mods"}, "MODERATOR_ROLE_IDS"),
        (
            {"AIVIDEOAPI_API_KEY": "sk-1", "AIVIDEOAPI_BASE_URL": "https://h/v1"},
            "AIVIDEOAPI_BASE_URL",
        ),
        ({"AIVIDEOAPI_API_KEY": "sk-1", "AIVIDEOAPI_CREDIT_RATE": "-1"}, "AIVIDEOAPI_CREDIT_RATE"),
        ({"SANDBOX_PROVIDER": "maybe"}, "SANDBOX_PROVIDER"),
        ({"MEDIA_TRUSTED_ORIGINS": "cdn.example.com"}, "MEDIA_TRUSTED_ORIGINS"),
        ({"MEDIA_TRUSTED_ORIGINS": "https://cdn.example.com/files"}, "MEDIA_TRUSTED_ORIGINS"),
        ({"MEDIA_TRUSTED_ORIGINS": "ftp://cdn.example.com"}, "MEDIA_TRUSTED_ORIGINS"),
        ({"MEDIA_TRUSTED_ORIGINS": "https://user:pw@cdn.example.com"}, "MEDIA_TRUSTED_ORIGINS"),
        ({"MEDIA_TRUSTED_ORIGINS": "http://127.0.0.1:99999"}, "MEDIA_TRUSTED_ORIGINS"),
        ({"DOWNLOAD_CONCURRENCY": "0"}, "DOWNLOAD_CONCURRENCY"),
        (
            {"AIVIDEOAPI_API_KEY": "sk-1", "AIVIDEOAPI_REQUESTS_PER_MINUTE": "lots"},
            "AIVIDEOAPI_REQUESTS_PER_MINUTE",
        ),
        ({"DOWNLOAD_CONCURRENCY": "many"}, "DOWNLOAD_CONCURRENCY"),
        ({"CALLBACK_URL": "https://bot.example"}, "CALLBACK_SECRET"),
        ({"CALLBACK_URL": "https://bot.example", "CALLBACK_SECRET": "short"}, "CALLBACK_SECRET"),
        ({"CALLBACK_LISTEN": "8080"}, "CALLBACK_LISTEN"),
    ],
)
def test_malformed_values_name_the_variable(env, variable):
    with pytest.raises(ConfigError) as err:
        load_settings(env)
    assert err.value.variable == variable
    assert str(err.value).startswith(variable)


def test_media_trusted_origins_default_to_the_providers_base_urls():
    settings = load_settings(
        {
            "AIVIDEOAPI_API_KEY": "sk-1",
            "NANOBANANA_API_KEY": "nb_sk_x",
            "NANOBANANA_BASE_URL": "http://127.0.0.1:8001",
        }
    )
    assert settings.media_trusted_origins == (
        "http://127.0.0.1:8001",
        "https://api.aivideoapi.ai:443",
    )
    assert settings.download_concurrency == 4


def test_media_trusted_origins_replace_the_default_and_are_normalised():
    settings = load_settings(
        {
            "AIVIDEOAPI_API_KEY": "sk-1",
            "MEDIA_TRUSTED_ORIGINS": "HTTPS://CDN.Example.com, http://[::1]:9000/ ,",
            "DOWNLOAD_CONCURRENCY": "2",
        }
    )
    assert settings.media_trusted_origins == ("https://cdn.example.com:443", "http://[::1]:9000")
    assert settings.download_concurrency == 2
    none = load_settings({"AIVIDEOAPI_API_KEY": "sk-1", "MEDIA_TRUSTED_ORIGINS": "none"})
    assert none.media_trusted_origins == ()


def test_secrets_do_not_show_in_repr():
    settings = load_settings(
        {"DISCORD_TOKEN": "tok-SECRET-123", "AIVIDEOAPI_API_KEY": "sk-SECRET-456"}
    )
    text = repr(settings)
    assert "tok-SECRET-123" not in text
    assert "sk-SECRET-456" not in text


def _run_bot(env: dict[str, str], tmp_path: Path) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.endswith(("_API_KEY", "_TOKEN"))}
    clean.update(env)
    return subprocess.run(
        [sys.executable, str(ROOT / "bot.py")],
        cwd=tmp_path,  # no .env there
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_run_without_token_prints_one_line_and_exits_2(tmp_path):
    result = _run_bot({"SANDBOX_PROVIDER": "1"}, tmp_path)
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "DISCORD_TOKEN" in lines[0]
    assert "Traceback" not in result.stderr + result.stdout


def test_malformed_setting_exits_2_naming_it(tmp_path):
    result = _run_bot(
        {"DISCORD_TOKEN": "x", "SANDBOX_PROVIDER": "1", "QUOTA_PERIOD": "yearly"}, tmp_path
    )
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0
    assert "QUOTA_PERIOD" in result.stderr
    assert "Traceback" not in result.stderr


def test_callback_url_without_its_secret_stops_the_bot_with_one_line(tmp_path):
    result = _run_bot(
        {"DISCORD_TOKEN": "x", "SANDBOX_PROVIDER": "1", "CALLBACK_URL": "https://bot.example"},
        tmp_path,
    )
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "CALLBACK_SECRET" in lines[0], result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_callback_settings():
    settings = load_settings({})
    assert settings.callback_url is None and settings.callback_secret is None
    assert (settings.callback_host, settings.callback_port) == ("127.0.0.1", 8080)
    settings = load_settings(
        {
            "CALLBACK_URL": "https://bot.example/hooks/",
            "CALLBACK_SECRET": "s3cret-s3cret-s3cret",
            "CALLBACK_LISTEN": "[::1]:9000",
        }
    )
    assert settings.callback_url == "https://bot.example/hooks"
    assert settings.callback_secret == "s3cret-s3cret-s3cret"
    assert "s3cret" not in repr(settings)
    assert (settings.callback_host, settings.callback_port) == ("::1", 9000)


def test_no_provider_enabled_exits_2(tmp_path):
    result = _run_bot({"DISCORD_TOKEN": "x"}, tmp_path)
    assert result.returncode == 2
    assert "SANDBOX_PROVIDER" in result.stderr and "API_KEY" in result.stderr


def test_dotenv_file_is_read(tmp_path):
    (tmp_path / ".env").write_text("QUOTA_PERIOD=sometimes\nSANDBOX_PROVIDER=1\nDISCORD_TOKEN=x\n")
    result = _run_bot({}, tmp_path)
    assert result.returncode == 2
    assert "QUOTA_PERIOD" in result.stderr


def test_env_example_documents_every_variable_the_bot_reads():
    import re

    read = set(re.findall(r'"([A-Z][A-Z0-9_]+)"', (ROOT / "settings.py").read_text()))
    read |= {
        f"{p.upper()}_{suffix}"
        for p in ("nanobanana", "nanobananavideo", "aivideoapi", "nananobanana")
        for suffix in (
            "API_KEY",
            "BASE_URL",
            "CREDIT_RATE",
            "MAX_CONCURRENCY",
            "REQUESTS_PER_MINUTE",
        )
    }
    read -= {"INFO", "DEBUG", "WARNING", "ERROR", "CRITICAL"}
    documented = set(re.findall(r"^([A-Z][A-Z0-9_]+)=", (ROOT / ".env.example").read_text(), re.M))
    assert read - documented == set()


async def test_a_raised_request_budget_replaces_the_documented_one():
    from providers.registry import ProviderRegistry

    settings = load_settings(
        {
            "NANOBANANA_API_KEY": "nb-key",
            "NANOBANANA_BASE_URL": "https://nb.example",
            "NANOBANANA_REQUESTS_PER_MINUTE": "600",
            "AIVIDEOAPI_API_KEY": "sk-1",
        }
    )
    assert settings.providers["nanobanana"].requests_per_minute == 600
    registry = ProviderRegistry.from_settings(settings)
    nanobanana = registry.providers["nanobanana"]
    assert nanobanana.limits.requests_per_minute == 600  # documented: 60
    assert nanobanana._http.pacer.limit == 600
    assert registry.providers["aivideoapi"]._http.pacer is None  # none documented, none set
    await registry.aclose()
