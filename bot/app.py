"""The factory: builds Bot, Dispatcher, database and scheduler from Settings, and runs them.

Nothing here runs at import time, so tests assemble their own application from the same parts.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import signal
from collections.abc import AsyncIterator, Awaitable, Callable, Collection
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramAPIError
from aiogram.fsm.storage.base import BaseEventIsolation, BaseStorage
from aiogram.fsm.storage.memory import SimpleEventIsolation
from aiogram.types import LinkPreviewOptions
from aiogram.utils.i18n import I18n
from aiohttp import web
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.context import JobContext
from bot.db import migrations
from bot.db.availability import describe_unavailable, is_database_unavailable
from bot.db.engine import engine_from_settings
from bot.db.fsm_storage import SqlAlchemyStorage
from bot.db.session import SessionPool, create_session_pool
from bot.health import PollWatchMiddleware, Readiness
from bot.i18n import create_i18n
from bot.metrics import Metrics
from bot.middlewares.database import BookkeepingMiddleware, DbSessionMiddleware
from bot.middlewares.flood import FloodMiddleware
from bot.middlewares.i18n import MemberI18nMiddleware
from bot.middlewares.inflight import InFlightMiddleware
from bot.middlewares.logging import HandlerNameMiddleware, UpdateLogMiddleware
from bot.middlewares.outage import DatabaseRetryMiddleware, NoteRequestMiddleware
from bot.middlewares.request import ReleaseBeforeRequestMiddleware, RetryRequestMiddleware
from bot.outbox.renderers import RENDERERS
from bot.outbox.worker import DeliveryWorker
from bot.scheduler import create_scheduler, register_jobs, watch_jobs
from bot.services import leases
from bot.services.flood import FloodGate
from bot.services.locales import member_locale
from bot.services.pacing import Pacer, PacingLimits
from bot.services.roles import effective_roles, privileged_members
from bot.services.send_bucket import send_bucket
from bot.services.updates import UpdateLedger
from bot.services.welcome import WelcomeBook
from bot.settings import Settings
from bot.startup import StartupError, telegram_call
from bot.telegram.commands import set_default_menus, set_member_menu
from bot.telegram.dashboard_button import set_dashboard_button
from bot.telegram.retries import Retries, RetryBounds, retries
from bot.telegram.session import BotApiSession
from bot.web import build_web_app, start_web_server
from handlers import build_router

logger = logging.getLogger(__name__)

# How long a shutdown waits for updates being handled; in webhook mode Telegram redelivers what
# was cut off (it was not answered) and another instance or the next start takes it over
# (bot.services.updates).
SHUTDOWN_GRACE_SECONDS = 10.0
# Without Redis, the running bot's lease on the database lasts this long unless renewed (every
# third of it): after a SIGKILL on another host, the next start waits at most this long.
INSTANCE_LEASE = timedelta(seconds=60)
# The exit code of a start refused because another instance runs against the database.
EXIT_OTHER_INSTANCE = 3


def create_events_isolation(settings: Settings) -> BaseEventIsolation:
    """In-process locks for one instance; with REDIS_URL, locks in Redis shared by all instances,
    so one member's updates are handled one after the other wherever they arrive."""
    if not settings.redis_url:
        return SimpleEventIsolation()
    from aiogram.fsm.storage.base import DefaultKeyBuilder  # noqa: PLC0415

    from bot.event_isolation import RenewedRedisEventIsolation  # noqa: PLC0415

    return RenewedRedisEventIsolation.from_url(
        settings.redis_url,
        key_builder=DefaultKeyBuilder(prefix=f"{settings.redis_prefix}:fsm", with_bot_id=True),
    )


def create_bot(
    settings: Settings,
    gate: FloodGate | None = None,
    *,
    metrics: Metrics | None = None,
    readiness: Readiness | None = None,
) -> Bot:
    """The Bot client, talking to TELEGRAM_API_URL, HTML as the default parse mode.

    `gate` is the 429 pause shared with the outbox's Pacer (build_application passes it);
    `metrics` counts retried requests; `readiness` hears of every getUpdates.
    """
    session = BotApiSession(api=TelegramAPIServer.from_base(settings.telegram_api_url))
    # The first registered runs outermost: the transaction is committed before the retrying
    # middleware makes (or waits to make) any attempt.
    session.middleware(ReleaseBeforeRequestMiddleware())
    # After the commit above: a request made counts against repeating the update.
    session.middleware(NoteRequestMiddleware())
    session.middleware(
        RetryRequestMiddleware(
            gate or FloodGate(),
            RetryBounds(total_seconds=settings.telegram_retry_seconds),
            metrics=metrics,
        )
    )
    if readiness is not None:
        session.middleware(PollWatchMiddleware(readiness))
    return Bot(
        token=settings.require_token().get_secret_value(),
        session=session,
        # link_preview, not link_preview_is_disabled: the latter fills the deprecated
        # disable_web_page_preview field, which the current Bot API no longer lists.
        default=DefaultBotProperties(
            parse_mode=ParseMode.HTML, link_preview=LinkPreviewOptions(is_disabled=True)
        ),
    )


def create_dispatcher(
    settings: Settings,
    session_pool: SessionPool,
    i18n: I18n,
    *,
    storage: BaseStorage | None = None,
    events_isolation: BaseEventIsolation | None = None,
    welcome_book: WelcomeBook | None = None,
    metrics: Metrics | None = None,
) -> Dispatcher:
    """Dispatcher with routers and middlewares, in the order they must run.

    Objects with state that handlers share are made here and handed to them as workflow data.
    With `metrics`, updates and database retries are counted.
    """
    dispatcher = Dispatcher(
        storage=storage or SqlAlchemyStorage(session_pool),
        # One member's quick double press runs one handler after the other, never both at once.
        events_isolation=events_isolation or SimpleEventIsolation(),
        # Registered below instead, after the session middleware (see the order there).
        disable_fsm=True,
        settings=settings,
        i18n=i18n,
        # Which welcome was posted when in which group, so joins a minute apart share one.
        welcome_book=welcome_book or WelcomeBook(),
    )
    # Outer update middlewares, after aiogram's errors and user-context ones, in this order:
    # the log line wraps everything; the session exists before the FSM middleware, so reading
    # the conversation state, claiming the update id and recording the member share one
    # transaction; the FSM middleware's per-member lock is taken before the bookkeeping, so one
    # member's updates in a chat are recorded one after the other (and the storage may keep
    # what it read for the whole update; across chats the member insert tolerates a race).
    in_flight = dispatcher["in_flight"] = InFlightMiddleware()
    dispatcher.update.outer_middleware(in_flight)
    dispatcher.update.outer_middleware(UpdateLogMiddleware(metrics))
    # A flooding member's updates wait here, before they take a database connection.
    dispatcher.update.outer_middleware(
        FloodMiddleware(
            burst=settings.flood_burst,
            rate=settings.flood_rate,
            max_delay=settings.flood_max_delay,
            i18n=i18n,
            default_locale=settings.default_locale,
        )
    )
    # Before the session: each attempt at an update gets a fresh one (bot.middlewares.outage).
    db_retry = dispatcher["db_retry"] = DatabaseRetryMiddleware(
        retry_for=settings.db_retry_seconds, metrics=metrics
    )
    dispatcher.update.outer_middleware(db_retry)
    dispatcher.update.outer_middleware(DbSessionMiddleware(session_pool))
    # Does the FSM middleware's part too (its lock, then the state read with the member).
    # Which updates this process is handling, and done marks written once a second.
    ledger = dispatcher["update_ledger"] = UpdateLedger(session_pool)
    dispatcher.update.outer_middleware(
        BookkeepingMiddleware(
            admin_ids=settings.admin_ids, i18n=i18n, fsm=dispatcher.fsm, ledger=ledger
        )
    )
    MemberI18nMiddleware(i18n).setup(dispatcher)
    handler_names = HandlerNameMiddleware()
    for name, observer in dispatcher.observers.items():
        if name not in ("update", "error"):
            observer.middleware(handler_names)
    dispatcher.include_router(build_router())
    _run_magic_filters_on_the_loop(dispatcher)
    return dispatcher


def _run_magic_filters_on_the_loop(dispatcher: Dispatcher) -> None:
    """Evaluate magic filters (``F.chat.type == ...``) on the event loop.

    aiogram runs every synchronous filter through asyncio.to_thread; for a magic filter, a few
    attribute look-ups, the thread hand-off and the event-loop wake-up cost a hundred times the
    check itself, several times per update. Router-wide filters sit on the observer's own
    handler object, hence the private attribute.
    """
    for router in dispatcher.chain_tail:
        for observer in router.observers.values():
            own = getattr(observer, "_handler", None)
            for handler in (own, *observer.handlers) if own is not None else observer.handlers:
                for filter_object in handler.filters or ():
                    if filter_object.magic is not None and not filter_object.awaitable:
                        filter_object.callback = _on_the_loop(filter_object.callback)
                        filter_object.awaitable = True


def _on_the_loop(check: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    async def run(*args: Any, **kwargs: Any) -> Any:
        return check(*args, **kwargs)

    return run


async def sync_command_menus(
    bot: Bot, i18n: I18n, session_pool: SessionPool, settings: Settings
) -> None:
    """Default menus per language, and personal ones for members with roles or a chosen language."""
    await set_default_menus(bot, i18n, settings.default_locale)
    async with session_pool() as session:
        privileged = await privileged_members(session)
    seen: set[int] = set()
    for member, stored in privileged:
        seen.add(member.id)
        roles = effective_roles(member.id, stored, settings.admin_ids)
        locale = member_locale(
            member, available=i18n.available_locales, default=settings.default_locale
        )
        await set_member_menu(
            bot,
            i18n,
            chat_id=member.id,
            roles=roles,
            locale=locale,
            chose_language=member.language is not None,
        )
        # Organisers' dashboard (with a public https address only); failures are logged there.
        await set_dashboard_button(
            bot, i18n, settings, chat_id=member.id, roles=roles, locale=locale
        )
    await _admin_menus(bot, i18n, settings, settings.admin_ids - seen)


async def _admin_menus(
    bot: Bot, i18n: I18n, settings: Settings, admin_ids: Collection[int]
) -> None:
    for admin_id in admin_ids:
        try:
            await set_member_menu(
                bot,
                i18n,
                chat_id=admin_id,
                roles=effective_roles(admin_id, (), settings.admin_ids),
                locale=settings.default_locale,
                chose_language=False,
            )
        except TelegramAPIError as exc:
            # An admin who never opened the private chat has no chat scope yet.
            logger.info("no command menu for admin=%s yet: %s", admin_id, exc)
            continue
        await set_dashboard_button(
            bot,
            i18n,
            settings,
            chat_id=admin_id,
            roles=effective_roles(admin_id, (), settings.admin_ids),
            locale=settings.default_locale,
        )


@dataclass
class Application:
    """Everything the running bot consists of; built by `build_application`, closed by `close`."""

    settings: Settings
    engine: AsyncEngine
    session_pool: SessionPool
    i18n: I18n
    bot: Bot
    dispatcher: Dispatcher
    scheduler: AsyncIOScheduler
    worker: DeliveryWorker
    # What /readyz judges by (bot.health); the metrics only with METRICS_ENABLED (bot.metrics).
    readiness: Readiness
    metrics: Metrics | None = None

    @property
    def events_isolation(self) -> BaseEventIsolation:
        """The dispatcher's per-member locks (in Redis with REDIS_URL)."""
        return self.dispatcher.fsm.events_isolation

    def job_context(self) -> JobContext:
        """What jobs and the delivery worker get: sessions, bot, translations, settings."""
        return JobContext(
            self.session_pool, self.bot, self.i18n, self.settings, wake=self.worker.wake
        )

    async def on_startup(self) -> None:
        """Start the clock and the outbox; publish the menus (a Telegram hiccup isn't fatal)."""
        self.dispatcher["db_retry"].resume()
        register_jobs(self.scheduler, self.job_context())
        self.scheduler.start()
        self.worker.start()
        self.dispatcher["update_ledger"].start()
        try:
            # Once, as before the retrying middleware: a start with Telegram away isn't held up
            # by a minute of retries per menu.
            with retries(Retries.NONE):
                await sync_command_menus(self.bot, self.i18n, self.session_pool, self.settings)
        except TelegramAPIError as exc:
            logger.warning("could not set the command menus: %s", exc)
        except Exception as exc:
            # A database locked or away for a moment must not stop the bot from starting: the
            # menus are published again at the next start, updates wait for the database.
            if not is_database_unavailable(exc):
                raise
            logger.warning(
                "could not set the command menus, the database is unavailable: %s",
                describe_unavailable(exc),
            )

    async def on_shutdown(self) -> None:
        """Let updates in flight finish (bounded), then stop the clock.

        Running jobs are not waited for: the database keeps their truth.
        """
        in_flight: InFlightMiddleware = self.dispatcher["in_flight"]
        # Updates waiting for the database try once more now, then apologise (bounded).
        db_retry: DatabaseRetryMiddleware = self.dispatcher["db_retry"]
        db_retry.stop()
        if not await in_flight.wait_idle(SHUTDOWN_GRACE_SECONDS):
            logger.warning("stopping with %d updates still being handled", in_flight.count)
        # What finished is marked done; what was cut off, another instance (or the next start)
        # takes over when Telegram redelivers it.
        ledger: UpdateLedger = self.dispatcher["update_ledger"]
        await ledger.stop()
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)
        await self.worker.stop()

    async def close(self) -> None:
        """Release the HTTP session, the Redis connections and the database connections."""
        await self.bot.session.close()
        isolation = self.events_isolation
        await isolation.close()
        # aiogram's RedisEventIsolation.close leaves its connection pool open.
        redis = getattr(isolation, "redis", None)
        if redis is not None:
            await redis.aclose()
        await self.engine.dispose()


async def build_application(settings: Settings, *, migrate: bool = True) -> Application:
    """Assemble the application; with `migrate`, bring the database to the newest schema first."""
    i18n = create_i18n(settings.default_locale)
    engine = engine_from_settings(settings)
    if migrate:
        await migrations.upgrade(engine)
    session_pool = create_session_pool(engine)
    # One 429 pause for the outbox and for direct replies, so the two don't fight.
    gate = FloodGate()
    readiness = Readiness(max_age=settings.ready_max_age_seconds)
    metrics = Metrics() if settings.metrics_enabled else None
    if metrics is not None:
        metrics.watch_gate(gate)
    bot = create_bot(settings, gate, metrics=metrics, readiness=readiness)
    dispatcher = create_dispatcher(
        settings,
        session_pool,
        i18n,
        events_isolation=create_events_isolation(settings),
        metrics=metrics,
    )
    # Paid broadcasts are under their own limit (1000/s): a direct reply's 429 on the free
    # limit, which the paid sends fill, must not pause them for a second, so they get a gate of
    # their own.
    pacer = Pacer(
        PacingLimits(global_per_second=settings.send_rate, paid=settings.paid_broadcast),
        gate=None if settings.paid_broadcast else gate,
    )
    worker = DeliveryWorker(
        JobContext(session_pool, bot, i18n, settings),
        pacer,
        renderers=RENDERERS,
        lease=timedelta(seconds=settings.delivery_lease_seconds),
        metrics=metrics,
        # With REDIS_URL, all instances together keep to SEND_RATE.
        bucket=send_bucket(
            settings.redis_url, bot.id, settings.send_rate, prefix=settings.redis_prefix
        ),
    )
    scheduler = create_scheduler()
    if metrics is not None:
        watch_jobs(scheduler, metrics)
    app = Application(
        settings=settings,
        engine=engine,
        session_pool=session_pool,
        i18n=i18n,
        bot=bot,
        dispatcher=dispatcher,
        scheduler=scheduler,
        worker=worker,
        readiness=readiness,
        metrics=metrics,
    )
    # Handlers that queue messages (a broadcast sent now) tell the worker to look at once.
    dispatcher["wake_outbox"] = worker.wake
    dispatcher.startup.register(app.on_startup)
    dispatcher.shutdown.register(app.on_shutdown)
    return app


def freeze_startup_heap() -> None:
    """Move what start-up made out of the garbage collector's sight, once it is all made.

    aiogram's and pydantic's types, the ORM's mappers and the routers live as long as the
    process (about 200 MB). Frozen, a full collection scans only what updates and broadcasts
    made since, instead of pausing the event loop for a quarter of a second now and then.
    """
    gc.collect()
    gc.freeze()


@asynccontextmanager
async def single_instance(app: Application) -> AsyncIterator[None]:
    """Without REDIS_URL, hold the database's instance lease while the block runs.

    A second instance against the same database would run every job and send every message
    twice and handle one member's updates at once; so it refuses to start (StartupError, one
    line, EXIT_OTHER_INSTANCE). A lease left by a killed process expires after INSTANCE_LEASE,
    or is taken over at once on the same host once its process is gone. With REDIS_URL several
    instances are meant to run: each holds a presence lease of its own instead.
    """
    if app.settings.redis_url:
        # Each instance holds a lease of its own: the sign of life by which another instance
        # tells whether an update this one claimed is still being handled (bot.services.updates).
        presence = leases.HeldLease(
            app.session_pool, leases.presence_lease_name(), ttl=INSTANCE_LEASE
        )
        await presence.acquire()
        try:
            yield
        finally:
            try:
                await presence.release()
            except Exception:
                logger.warning("could not release the presence lease", exc_info=True)
        return
    lease = leases.HeldLease(app.session_pool, leases.INSTANCE, ttl=INSTANCE_LEASE)
    if not await lease.acquire():
        async with app.session_pool() as session:
            other = await leases.held_by(session, leases.INSTANCE)
        where = (
            f"host {other.host}, pid {other.pid}, lease renewed until "
            f"{other.expires_at:%Y-%m-%d %H:%M:%S} UTC"
            if other is not None
            else "just now"
        )
        raise StartupError(
            f"Another Mitmachbot instance runs against this database ({where}). Stop it, or "
            "set REDIS_URL to run several instances; a killed instance's lease expires within "
            f"{int(INSTANCE_LEASE.total_seconds())} s.",
            exit_code=EXIT_OTHER_INSTANCE,
        )
    try:
        yield
    finally:
        try:
            await lease.release()
        except Exception:
            # The bot has stopped cleanly; a lease left behind expires (or is taken over on this
            # host at once), so a failing release must not turn the stop into a failure.
            logger.warning("could not release the instance lease", exc_info=True)


async def run_polling(app: Application, *, handle_signals: bool = True) -> None:
    """Long polling until stopped (SIGINT/SIGTERM, or dispatcher.stop_polling()); the web server
    (/healthz, /readyz, /metrics, calendar feeds) runs alongside unless WEBHOOK_LISTEN is empty."""
    runner = None
    if app.settings.web_server:
        host, port = app.settings.webhook_host_port
        runner = await start_web_server(build_web_app(app), host, port)
    try:
        # getUpdates is refused while a webhook is set, e.g. after switching modes.
        await telegram_call(
            "deleteWebhook",
            lambda: app.bot.delete_webhook(drop_pending_updates=False),
            app.settings,
            setting="BOT_TOKEN",
        )
        await app.dispatcher.start_polling(
            app.bot,
            allowed_updates=app.dispatcher.resolve_used_update_types(),
            handle_signals=handle_signals,
            close_bot_session=False,
        )
    finally:
        if runner is not None:
            await runner.cleanup()


def build_webhook_app(app: Application) -> web.Application:
    """The aiohttp app of webhook mode: updates on WEBHOOK_URL's path (401 without the right
    secret token), /healthz, /readyz, /metrics and the calendar feeds."""
    return build_web_app(app, webhook=True)


async def run_webhook(app: Application, *, stop: asyncio.Event | None = None) -> None:
    """Serve webhooks on WEBHOOK_LISTEN until `stop` is set (or SIGINT/SIGTERM when not given)."""
    settings = app.settings
    if not settings.webhook_url or settings.webhook_secret is None:
        raise ValueError("WEBHOOK_URL and WEBHOOK_SECRET are required in webhook mode")
    if not settings.web_server:
        raise ValueError("WEBHOOK_LISTEN is required in webhook mode")
    host, port = settings.webhook_host_port
    own_stop = stop is None
    stop = stop or asyncio.Event()
    if own_stop:
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
    await app.dispatcher.emit_startup(bot=app.bot, dispatcher=app.dispatcher)
    runner = None
    try:
        runner = await start_web_server(build_webhook_app(app), host, port)
        secret = settings.webhook_secret.get_secret_value()
        await telegram_call(
            "setWebhook",
            lambda: app.bot.set_webhook(
                settings.webhook_url or "",
                secret_token=secret,
                allowed_updates=app.dispatcher.resolve_used_update_types(),
                drop_pending_updates=False,
            ),
            settings,
            setting="WEBHOOK_URL",
        )
        logger.info("webhook registered; updates arrive on %s", settings.webhook_path)
        await stop.wait()
    finally:
        if runner is not None:
            await runner.cleanup()
        await app.dispatcher.emit_shutdown(bot=app.bot, dispatcher=app.dispatcher)
