"""bananabot: the bot class, its start-up and shutdown, and the command-line entry point.

``python bot.py [command]`` or the ``bananabot`` console script (``cli:main``); the commands
live in cli.py (``python bot.py --help``). Configuration errors end the process with one line
naming the variable and exit code 2.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import signal
import sys
from collections.abc import Iterable
from urllib.parse import urlsplit

import aiohttp
import discord
from discord import app_commands
from discord.ext import commands

from db.database import DATABASE_ERRORS, Database
from db.ledger import consistency_problems
from errors import BotError
from jobs.balances import AccountBalances
from jobs.callbacks import CallbackServer
from jobs.download import MediaFetcher
from jobs.engine import EnginePolicy, JobEngine
from jobs.health import ProviderHealth
from jobs.metrics import Metrics
from jobs.models import ModelChooser
from jobs.monitor import MonitorServer, rate_limit_trace
from jobs.pricing import PriceHints, Pricer
from jobs.service import JobService
from jobs.status import StatusService
from jobs.timebase import Timebase
from presentation import command_limits, sentences
from presentation.audit import AuditLog
from presentation.bot_permissions import REQUIRED_PERMISSIONS, SCOPES, invite_url
from presentation.delivery import DiscordNotifier
from presentation.discord_limits import CONTENT_MAX, clip
from presentation.preview import PreviewBook
from presentation.tunables import DISCORD_CONNECTIONS
from providers.http import fan_out
from providers.registry import ProviderRegistry
from quota.moderation import ModerationSettings
from quota.server_settings import ServerSettings
from quota.service import QuotaService
from quota.usage import UsageService
from settings import PROVIDER_IDS, ConfigError, Settings

log = logging.getLogger("bananabot")

EXTENSIONS = (
    "cogs.image",
    "cogs.video",
    "cogs.results",
    "cogs.preview",
    "cogs.edit",
    "cogs.history",
    "cogs.credits",
    "cogs.quota",
    "cogs.settings",
    "cogs.status",
)
MODEL_REFRESH_TIMEOUT = 10.0
DATABASE_CHECK_TIMEOUT = 2.0  # /healthz: a database slower than this to answer is unhealthy
PROBLEMS_SHOWN = 3  # ledger problems named in one log or console line
# The cyclic garbage collector, tuned once the bot is ready. Everything alive then (modules,
# the command tree, the gateway's caches) stays alive, so it is frozen out of every later
# collection; and a burst of commands allocates fast enough that Python's default of a
# collection every 700 new objects would run a few hundred of them, one of them a full pass
# over every object, in the seconds Discord gives to answer. Cycles are still found within
# this many allocations (a few MB at most); memory freed by reference counting is unaffected.
GC_YOUNG_THRESHOLD = 50_000


def _tune_gc_once() -> None:
    """GC_YOUNG_THRESHOLD's tuning, once per process (the collector is the process's)."""
    if gc.get_freeze_count():
        return
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_YOUNG_THRESHOLD, *gc.get_threshold()[1:])


class StartupError(BotError):
    """Something the bot cannot start without; its message is the one line the operator sees."""


# Interaction tokens are not known in advance (each interaction brings its own), so they are
# found by the shapes that carry them: the URLs /webhooks/<id>/<token>[/messages/...]
# (followups and edits; discord.webhook.async_ logs these at DEBUG) and
# /interactions/<id>/<token>/callback (the first answer; discord.http logs it at DEBUG), and
# a "token" field in a logged payload (discord.gateway logs every event at DEBUG).
_TOKEN_IN_URL = re.compile(r"(/(?:webhooks|interactions)/\d+/)[^/\s?#'\"<>]+")
_TOKEN_FIELD = re.compile(r"""(['"]token['"]\s*:\s*['"])[^'"]+""")


class RedactingFilter(logging.Filter):
    """Replaces every known secret, and every interaction token in a Discord URL, in a log
    record's final text (message and traceback) with ***."""

    def __init__(self, secrets: Iterable[str]) -> None:
        super().__init__()
        self.secrets = sorted({s for s in secrets if s and len(s) >= 4}, key=len, reverse=True)

    def _redact(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return _TOKEN_FIELD.sub(r"\1***", _TOKEN_IN_URL.sub(r"\1***", text))

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = self._redact(message)
        if redacted != message:
            record.msg, record.args = redacted, None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = self._redact(record.exc_text)
        return True


def secrets_of(settings: Settings) -> list[str]:
    found = [str(settings.discord_token or "")]
    found += [str(c.api_key) for c in settings.providers.values()]
    found.append(str(settings.callback_secret or ""))
    if settings.database_url:
        found.append(urlsplit(settings.database_url).password or "")
    return found


def configure_logging(settings: Settings, stream=None) -> logging.Handler:
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%Y-%m-%dT%H:%M:%S")
    )
    handler.addFilter(RedactingFilter(secrets_of(settings)))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(settings.log_level)
    for noisy in ("httpx", "httpcore", "discord.gateway", "discord.http", "aiosqlite"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
    return handler


class BananaBot(commands.Bot):
    def __init__(
        self,
        settings: Settings,
        *,
        registry: ProviderRegistry | None = None,
        timebase: Timebase | None = None,
        engine_policy: EnginePolicy | None = None,
        fetcher: MediaFetcher | None = None,
    ) -> None:
        intents = discord.Intents.none()
        intents.guilds = True  # guild cache: upload limits and channels
        self.metrics = Metrics()
        shards = {}
        if settings.shard_count is not None:  # ShardedBananaBot: AutoShardedClient takes these
            shards = {"shard_count": settings.shard_count, "shard_ids": settings.shard_ids}
        super().__init__(
            command_prefix=commands.when_mentioned,
            intents=intents,
            allowed_mentions=discord.AllowedMentions.none(),
            help_command=None,
            http_trace=rate_limit_trace(self.metrics),  # counts Discord's 429s
            **shards,
        )
        self.gateway_connected = False  # READY or RESUMED seen, no disconnect since
        self.monitor: MonitorServer | None = None
        self.settings = settings
        self.timebase = timebase or Timebase()
        self.previews = PreviewBook(self.timebase)  # cost previews waiting for Confirm
        self.registry = registry or ProviderRegistry.from_settings(
            settings, clock=self.timebase.now
        )
        self.models = ModelChooser(  # which model each command uses: one answer for all
            self.registry,
            {
                "image": settings.default_image_model,
                "video": settings.default_video_model,
                "animate": settings.default_animate_model,
            },
        )
        self.engine_policy = engine_policy or EnginePolicy(
            image_deadline=settings.image_deadline_seconds,
            video_deadline=settings.video_deadline_seconds,
        )
        self.fetcher = fetcher or MediaFetcher(
            trusted_origins=settings.media_trusted_origins,
            concurrency=settings.download_concurrency,
        )
        self.tree.on_error = self.on_app_command_error

    async def setup_hook(self) -> None:
        self.db = await Database.open(self.settings.database)
        self.moderation = ModerationSettings(self.db, clock=self.timebase.now)
        self.server_settings = ServerSettings(self.db, clock=self.timebase.now)
        self.audit = AuditLog(self, self.moderation)
        problems = await consistency_problems(self.db)
        if problems:
            log.warning(
                "ledger check at start found %s: %s",
                count(problems, "problem"),
                describe_problems(problems),
            )
        await self._refresh_models()
        self.health = ProviderHealth()  # routing and /status read how providers answer
        self.registry.observe_requests(fan_out(self.metrics.provider_request, self.health.observe))
        self.quota = QuotaService(
            self.db,
            period=self.settings.quota_period,
            default_credits=self.settings.quota_default_credits,
            max_jobs_per_user=self.settings.max_jobs_per_user,
            clock=self.timebase.now,
            on_credits=lambda kind, credits: self.metrics.credits.inc(credits, kind=kind),
        )
        self.usage = UsageService(
            self.db,
            default_allowance=self.settings.quota_default_credits,
            period=self.settings.quota_period,
            clock=self.timebase.now,
        )
        self.notifier = DiscordNotifier(
            self, now=self.timebase.now, audit=self.audit, registry=self.registry
        )
        self.callbacks = self._callback_server()
        self.engine = JobEngine(
            db=self.db,
            quota=self.quota,
            providers=self.registry.providers,
            notifier=self.notifier,
            max_in_flight={
                pid: config.max_concurrency
                for pid, config in self.settings.providers.items()
                if config.max_concurrency is not None
            },
            credit_rates={pid: self.settings.credit_rate(pid) for pid in self.registry.providers},
            policy=self.engine_policy,
            timebase=self.timebase,
            callback_url=self.callbacks.url_for if self.callbacks else None,
            fetcher=self.fetcher,
            metrics=self.metrics,
        )
        self.jobs = JobService(  # the cogs' and presentation's way to jobs
            self.engine,
            health=self.health,
            offered=lambda spec: self.registry.models(spec.kind),
            price=lambda provider, request: self.pricer.price(provider, request),
            price_now=lambda provider, request: self.pricer.price_now(provider, request),
        )
        self.provider_status = StatusService(
            self.jobs.live_states, self.health, self.registry.providers
        )
        self.balances = AccountBalances(self.registry.providers)  # /credits and /status
        self.metrics.collectors.append(self._collect_metrics)
        if self.callbacks:
            await self.callbacks.start()
        for extension in EXTENSIONS:
            await self.load_extension(extension)
        await self._sync_commands()
        self.pricer = Pricer(self.registry.providers, self.engine.credit_rate)
        self.price_hints = PriceHints(self.pricer)
        self._warming = asyncio.create_task(self.price_hints.warm(), name="warm-price-hints")
        resumed = await self.engine.start()
        await self._start_monitor()
        self._log_invite()
        log.info(
            "ready to work providers=%s resumed_jobs=%d",
            ",".join(self.registry.providers),
            resumed,
        )

    def _log_invite(self) -> None:
        """Once per start (setup_hook runs once; on_ready runs on every reconnect)."""
        if self.application_id is None:
            return
        log.info(
            "invite the bot with client_id=%s scopes=%s permissions=%d: %s",
            self.application_id,
            ",".join(SCOPES),
            REQUIRED_PERMISSIONS.value,
            invite_url(self.application_id),
        )

    def _callback_server(self) -> CallbackServer | None:
        if not self.settings.callback_url or not self.settings.callback_secret:
            return None  # settings refuse a CALLBACK_URL without its CALLBACK_SECRET
        return CallbackServer(
            public_url=self.settings.callback_url,
            host=self.settings.callback_host,
            port=self.settings.callback_port,
            secret=str(self.settings.callback_secret).encode(),
            on_callback=lambda provider_id, job_id: self.engine.nudge(provider_id, job_id),
        )

    async def _refresh_models(self) -> None:
        async def refresh(provider) -> None:
            try:
                await asyncio.wait_for(provider.refresh_models(), MODEL_REFRESH_TIMEOUT)
            except Exception as exc:  # the documented tables stay in force
                log.warning("model list refresh failed provider=%s: %s", provider.id, exc)

        await asyncio.gather(*(refresh(p) for p in self.registry.providers.values()))
        for variable, why in self.models.unusable_defaults():
            log.warning(
                "%s is not usable, the first enabled model is used: %s",
                variable,
                sentences.for_member(why),
            )

    async def _sync_commands(self) -> None:
        """Check the command tree against Discord's limits, then sync it. Either refusal
        stops the bot with one line: without its commands the bot is of no use."""
        guild = discord.Object(self.settings.dev_guild_id) if self.settings.dev_guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        payloads = [command.to_dict(self.tree) for command in self.tree.get_commands(guild=guild)]
        found = command_limits.problems(payloads)
        if found:
            raise StartupError(f"a command breaks Discord's limits: {'; '.join(found)}")
        if not self.settings.sync_commands:
            log.info("commands not synced by this process (SYNC_COMMANDS=0)")
            return
        try:
            synced = await self.tree.sync(guild=guild)
        except discord.HTTPException as exc:
            if exc.status != 400:
                raise
            raise StartupError(
                "Discord refused the commands: "
                + command_limits.describe_refusal(exc.text, payloads)
            ) from None
        log.info(
            "commands synced to %s count=%d", f"guild={guild.id}" if guild else "all", len(synced)
        )

    async def _start_monitor(self) -> None:
        """The /healthz and /metrics listener, when METRICS_LISTEN asks for one."""
        host, port = self.settings.metrics_host, self.settings.metrics_port
        if host is None or port is None:
            return
        self.monitor = MonitorServer(
            host=host, port=port, problems=self.health_problems, metrics=self.metrics
        )
        try:
            await self.monitor.start()
        except OSError as exc:
            self.monitor = None
            raise StartupError(f"METRICS_LISTEN {host}:{port} cannot be used: {exc}") from None

    async def health_problems(self) -> list[str]:
        """Why the bot is not healthy, in a few words each; empty when it is."""
        problems = []
        if self.is_closed() or not self.gateway_connected:
            problems.append("the Discord gateway is not connected")
        try:
            await asyncio.wait_for(self.db.fetchone("SELECT 1"), DATABASE_CHECK_TIMEOUT)
        except Exception as exc:
            problems.append(f"the database does not answer ({type(exc).__name__})")
        engine = getattr(self, "engine", None)
        if engine is None or not engine.alive:
            problems.append("the job engine is not running")
        return problems

    def _collect_metrics(self, metrics: Metrics) -> None:
        """The gauges that describe now: jobs by state, queue depth, the gateway."""
        states = self.engine.live_states()
        metrics.jobs.set_all({key: float(n) for key, n in states.items()})
        queued = {pid: 0.0 for pid in self.registry.providers}
        for (provider, state), count in states.items():
            if state == "queued":
                queued[provider] = queued.get(provider, 0.0) + count
        metrics.queue_depth.set_all({(pid,): n for pid, n in queued.items()})
        metrics.gateway_connected.set_all({(): 1.0 if self.gateway_connected else 0.0})

    async def on_connect(self) -> None:
        self.gateway_connected = True

    async def on_resumed(self) -> None:
        self.gateway_connected = True

    async def on_disconnect(self) -> None:
        self.gateway_connected = False

    async def login(self, token: str) -> None:
        # discord.py's default pool opens a connection per request in flight, without end
        self.http.connector = aiohttp.TCPConnector(limit=0, limit_per_host=DISCORD_CONNECTIONS)
        await super().login(token)

    async def on_ready(self) -> None:
        _tune_gc_once()
        shards = getattr(self, "shard_ids", None)
        log.info(
            "connected as user=%s guilds=%d%s",
            self.user.id if self.user else "?",
            len(self.guilds),
            f" shards={','.join(map(str, shards))}/{self.shard_count}" if shards else "",
        )
        for guild in self.guilds:  # the first commands then find each server's rules ready
            self.server_settings.prefetch(guild.id)

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        await self.report_error(interaction, error)

    async def report_error(self, interaction: discord.Interaction, error: Exception) -> None:
        """Answer a command's error with its sentence (presentation/sentences.py): ephemeral,
        except after a public deferral (a price that was slow to come), where the first
        followup replaces the "thinking…" message and Discord keeps it public; the sentences
        are written so that is harmless (they say what happened and that nothing was charged)."""
        message = sentences.for_member(error)
        if message is None:
            command = interaction.command.name if interaction.command else "button"
            log.error("interaction /%s failed", command, exc_info=getattr(error, "original", error))
            message = sentences.something_went_wrong()
        message = clip(message, CONTENT_MAX)  # refusals may echo what the member typed
        try:
            if interaction.response.is_done():
                await interaction.followup.send(message, ephemeral=True)
            else:
                await interaction.response.send_message(message, ephemeral=True)
        except discord.HTTPException:
            log.warning("could not send an error reply: %s", message)

    async def close(self) -> None:
        self.gateway_connected = False
        if self.monitor is not None:
            await self.monitor.stop()
        self.previews.close()
        warming = getattr(self, "_warming", None)
        if warming is not None:
            warming.cancel()
        pricer = getattr(self, "pricer", None)
        if pricer is not None:
            pricer.close()
        engine = getattr(self, "engine", None)
        if engine is not None:
            await engine.stop()
        callbacks = getattr(self, "callbacks", None)
        if callbacks is not None:
            await callbacks.stop()
        await self.registry.aclose()
        await self.fetcher.aclose()
        db = getattr(self, "db", None)
        if db is not None:
            await db.close()
        await super().close()


class ShardedBananaBot(BananaBot, commands.AutoShardedBot):
    """SHARD_COUNT (and SHARD_IDS): one gateway connection per shard, each serving the
    servers Discord assigns to it ((guild_id >> 22) % SHARD_COUNT). Jobs are not tied to a
    shard: any process holding a job's lease posts its result over REST."""


def make_bot(settings: Settings, **options) -> BananaBot:
    """The bot for these settings: sharded when SHARD_COUNT is set."""
    if settings.shard_count is not None:
        return ShardedBananaBot(settings, **options)
    return BananaBot(settings, **options)


def check_providers(settings: Settings) -> None:
    if not settings.providers and not settings.sandbox:
        keys = ", ".join(f"{p.upper()}_API_KEY" for p in PROVIDER_IDS)
        raise ConfigError(
            "NANOBANANA_API_KEY",
            f"(or another provider key: {keys}) must be set, or SANDBOX_PROVIDER=1 to try the "
            "bot offline; no provider is enabled",
        )


def event_loop_runner() -> asyncio.Runner:
    """The event loop ``run`` runs on: uvloop's where it is installed (everywhere but
    Windows), measured by bench/ to answer a burst of commands sooner; else asyncio's own."""
    try:
        import uvloop
    except ImportError:
        return asyncio.Runner()
    return asyncio.Runner(loop_factory=uvloop.new_event_loop)


async def run(settings: Settings) -> None:
    """Run until Discord disconnects for good or SIGTERM/SIGINT asks to stop. Stopping takes
    no new jobs and leaves running ones in the database, to resume on the next start."""
    # Migrations apply before Discord is contacted; a database newer than this code
    # (SchemaTooNew) stops the start here, untouched.
    try:
        db = await Database.open(settings.database)
    except (*DATABASE_ERRORS, OSError) as exc:
        raise StartupError(f"cannot open the database {settings.database_shown}: {exc}") from None
    await db.close()
    bot = make_bot(settings)
    loop = asyncio.get_running_loop()
    stopping = asyncio.Event()

    def request_stop() -> None:
        log.info("stop requested: finishing up; unfinished jobs resume on the next start")
        stopping.set()

    handled = []
    for sig in (signal.SIGTERM, signal.SIGINT):
        try:
            loop.add_signal_handler(sig, request_stop)
            handled.append(sig)
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
    try:
        async with bot:
            runner = asyncio.create_task(bot.start(settings.require_token()))
            stopper = asyncio.create_task(stopping.wait())
            done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if stopper in done:
                await bot.close()
            stopper.cancel()
            await asyncio.gather(runner, return_exceptions=stopper in done)
    finally:
        for sig in handled:
            loop.remove_signal_handler(sig)


def describe_problems(problems: list[str]) -> str:
    """The first few ledger problems, in one line."""
    shown = "; ".join(problems[:PROBLEMS_SHOWN])
    more = len(problems) - PROBLEMS_SHOWN
    return shown + (f"; and {more} more" if more > 0 else "")


def count(items: list, word: str) -> str:
    return f"{len(items)} {word}{'' if len(items) == 1 else 's'}"


if __name__ == "__main__":  # python bot.py: the same command line as the console script
    import cli  # only here: cli imports this module (as ``bot``, not as this script)

    sys.exit(cli.main())
