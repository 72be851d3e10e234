"""The bot's one web server (aiohttp), in both modes: /healthz, /readyz, /metrics, the calendar
feeds, the organisers' Mini App (/app/, bot.miniapp), and in webhook mode the updates on
WEBHOOK_URL's path.

It listens on WEBHOOK_LISTEN; in polling mode an empty WEBHOOK_LISTEN turns it off. Links to
it are built from PUBLIC_URL (Settings.public_base_url).
"""

from __future__ import annotations

import asyncio
import errno
import hmac
import logging
from typing import TYPE_CHECKING, Any

from aiogram import Bot
from aiogram.methods import TelegramMethod
from aiogram.types import Update, WebhookInfo
from aiogram.webhook.aiohttp_server import SimpleRequestHandler
from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST
from pydantic import ValidationError

from bot.health import Readiness, database_problem
from bot.miniapp.routes import MiniAppRoutes
from bot.services import calendar, delivery, schedule
from bot.services.locales import member_locale
from bot.services.updates import Outcome
from bot.startup import ListenError
from bot.telegram.retries import Retries, retries
from bot.telegram.views import calendar as views
from models.base import utcnow

if TYPE_CHECKING:
    from bot.app import Application

logger = logging.getLogger(__name__)

CALENDAR_CONTENT_TYPE = "text/calendar"
# Calendar apps poll every few hours at most; a few minutes of caching costs nobody anything.
PERSONAL_CACHE = "private, max-age=300"
PUBLIC_CACHE = "public, max-age=900"


def _calendar_response(body: bytes, *, cache: str, filename: str) -> web.Response:
    response = web.Response(body=body, content_type=CALENDAR_CONTENT_TYPE, charset="utf-8")
    response.headers["Cache-Control"] = cache
    response.headers["Content-Disposition"] = f'inline; filename="{filename}"'
    return response


def _bearer_matches(request: web.Request, token: str) -> bool:
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    # Compared in constant time: the answer's timing tells nothing about the token.
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def _not_found() -> web.Response:
    # The same answer for unknown, replaced and malformed tokens: nothing to learn from it.
    return web.Response(status=404, text="not found")


class CalendarRoutes:
    """GET /calendar/kv.ics (the public KV feed) and /calendar/<token>.ics (a member's feed)."""

    def __init__(self, app: Application) -> None:
        self.app = app

    def register(self, web_app: web.Application) -> None:
        """Add the feed routes (HEAD included) to `web_app`."""
        web_app.router.add_get("/calendar/{name}.ics", self.feed)

    async def feed(self, request: web.Request) -> web.Response:
        """The feed the name points to, or 404."""
        name = request.match_info["name"]
        if name == calendar.PUBLIC_FEED_NAME:
            return await self._public()
        return await self._personal(name)

    async def _public(self) -> web.Response:
        settings = self.app.settings
        async with self.app.session_pool() as session:
            body = await calendar.public_ics(
                session,
                name=settings.kv_name,
                zone=settings.zone,
                domain=calendar.uid_domain(settings.bot_id),
                now=utcnow(),
            )
        return _calendar_response(body, cache=PUBLIC_CACHE, filename="kv.ics")

    async def _personal(self, token: str) -> web.Response:
        settings, i18n = self.app.settings, self.app.i18n
        now = utcnow()
        async with self.app.session_pool() as session:
            member = await calendar.feed_member(session, token)
            if member is None:
                return _not_found()
            items = await calendar.member_calendar(
                session,
                member.id,
                now=now - calendar.FEED_PAST,
                until=now + schedule.MAX_AHEAD,
                zone=settings.zone,
            )
            locale = member_locale(
                member, available=i18n.available_locales, default=settings.default_locale
            )
            with i18n.context(), i18n.use_locale(locale):
                body = views.personal_ics(
                    items,
                    kv_name=settings.kv_name,
                    zone=settings.zone,
                    bot_id=settings.bot_id,
                    now=now,
                )
        return _calendar_response(body, cache=PERSONAL_CACHE, filename="calendar.ics")


class HealthRoutes:
    """GET /healthz (liveness), /readyz (readiness, see bot.health), /metrics (when enabled)."""

    def __init__(self, app: Application, *, webhook: bool) -> None:
        """`webhook`: readiness follows webhook updates instead of getUpdates."""
        self.app = app
        self.webhook = webhook

    def register(self, web_app: web.Application) -> None:
        """Add the three routes (HEAD included) to `web_app`."""
        web_app.router.add_get("/healthz", self.healthz)
        web_app.router.add_get("/readyz", self.readyz)
        web_app.router.add_get("/metrics", self.metrics)

    async def healthz(self, _request: web.Request) -> web.Response:
        """200 whenever the event loop gets to answer; nothing else is asked."""
        return web.json_response({"ok": True})

    async def readyz(self, _request: web.Request) -> web.Response:
        """200 and each check's "ok" when ready; 503 and what is wrong otherwise."""
        verdict = await self.app.readiness.verdict(self._database, self._telegram)
        response = web.json_response(verdict.as_json(), status=200 if verdict.ready else 503)
        response.headers["Cache-Control"] = "no-store"
        return response

    async def _database(self) -> str | None:
        return await database_problem(self.app.engine)

    async def _telegram(self) -> str | None:
        readiness = self.app.readiness
        if not self.webhook:
            return readiness.polling_problem()
        return await readiness.webhook_problem(
            self._webhook_info, self.app.settings.webhook_url or ""
        )

    async def _webhook_info(self) -> WebhookInfo:
        # Once: /readyz must answer in seconds, not after a minute of retries.
        with retries(Retries.NONE):
            return await self.app.bot.get_webhook_info()

    async def metrics(self, request: web.Request) -> web.Response:
        """Prometheus' text format with METRICS_ENABLED, else 404 as for any unknown path;
        with METRICS_TOKEN, 401 to a request without it."""
        metrics = self.app.metrics
        if metrics is None:
            return _not_found()
        token = self.app.settings.metrics_token
        if token is not None and not _bearer_matches(request, token.get_secret_value()):
            return web.Response(
                status=401,
                text="Unauthorized",
                headers={"WWW-Authenticate": 'Bearer realm="metrics"'},
            )
        await metrics.refresh_pending(self._count_pending)
        return web.Response(
            body=metrics.exposition(), headers={"Content-Type": CONTENT_TYPE_LATEST}
        )

    async def _count_pending(self) -> int:
        async with self.app.session_pool() as session:
            return await delivery.count_waiting(session)


# How long the webhook waits for an update's handler before answering anyway (it goes on in
# the background): well under what Telegram waits for an answer, and long enough for every
# handler but one waiting out a database outage (bot.middlewares.outage).
ANSWER_WITHIN = 5.0
# Seconds Telegram is asked to wait before bringing an update back that another instance is
# still handling.
BUSY_RETRY_AFTER = 1


class UpdateRequestHandler(SimpleRequestHandler):
    """aiogram's webhook handler, answering once the update was handled, and 400 to a body that
    isn't a Telegram update.

    Answered after the handler (within ANSWER_WITHIN), so an update whose instance is killed
    while handling it was never answered: Telegram brings it again, and the instance that gets
    it takes it over (bot.services.updates). An update another live instance is handling is
    answered 503 with Retry-After, so Telegram comes again once that one is done.

    aiogram parses the body only once it handles the update: JSON that doesn't parse became a
    500 with a traceback, JSON that isn't an update a 200 and a traceback in the background
    task. Here both are checked first (after the secret, so a stranger learns nothing), and
    logged in one line without the body, which may hold a member's message.

    Every update accepted is reported to `readiness` (webhook mode's sign of life).
    """

    def __init__(
        self,
        *args: Any,
        readiness: Readiness | None = None,
        answer_within: float = ANSWER_WITHIN,
        **kwargs: Any,
    ) -> None:
        """aiogram's arguments, plus the Readiness to tell of updates and the answer bound."""
        super().__init__(*args, **kwargs)
        self.readiness = readiness
        self.answer_within = answer_within
        self._handling: set[asyncio.Task[Any]] = set()

    async def handle(self, request: web.Request) -> web.Response:
        """401 without the right secret, 400 for a body that isn't an update, 503 for one
        being handled elsewhere, else 200 once it was handled (or ANSWER_WITHIN passed)."""
        bot = await self.resolve_bot(request)
        if not self.verify_secret(request.headers.get("X-Telegram-Bot-Api-Secret-Token", ""), bot):
            return web.Response(body="Unauthorized", status=401)
        update = await self._parse(request, bot)
        if isinstance(update, str):
            logger.warning(
                "webhook request rejected with 400: %s (%s bytes, %s)",
                update,
                request.content_length,
                request.content_type,
            )
            return web.Response(status=400, text=f"Bad Request: {update}")
        if self.readiness is not None:
            self.readiness.update_received()
        outcome = Outcome()
        task = asyncio.create_task(self._feed(bot, update, outcome))
        self._handling.add(task)
        task.add_done_callback(self._handling.discard)
        # Not cancelled when the request is (Telegram gave up waiting): it finishes regardless.
        done, _ = await asyncio.wait({task}, timeout=self.answer_within)
        if not done:
            logger.warning(
                "update %s still being handled after %.0f s: answered, it goes on",
                update.update_id,
                self.answer_within,
            )
        elif outcome.busy:
            return web.Response(
                status=503,
                text="Service Unavailable: this update is being handled by another instance",
                headers={"Retry-After": str(BUSY_RETRY_AFTER)},
            )
        return web.json_response({}, dumps=bot.session.json_dumps)

    async def _feed(self, bot: Bot, update: Update, outcome: Outcome) -> None:
        try:
            result = await self.dispatcher.feed_update(
                bot, update, update_outcome=outcome, **self.data
            )
            if isinstance(result, TelegramMethod):
                await self.dispatcher.silent_call_request(bot=bot, result=result)
        except Exception:
            # The error handler (handlers.errors) has answered the member where it could;
            # answering 200 anyway keeps Telegram from bringing a failing update back forever.
            logger.exception("update %s failed", update.update_id)

    @staticmethod
    async def _parse(request: web.Request, bot: Bot) -> Update | str:
        """The update, or why the body is not one."""
        try:
            body = await request.json(loads=bot.session.json_loads)
        except (ValueError, LookupError):  # not JSON, not UTF-8 or an unknown charset
            return "the body is not JSON"
        except RecursionError:  # [[[[...]]]] nested deeper than the parser goes
            return "the body is nested too deeply"
        try:
            return Update.model_validate(body, context={"bot": bot})
        except ValidationError as exc:
            first = exc.errors()[0]
            where = ".".join(str(part) for part in first["loc"]) or "the body"
            return f"not a Telegram update ({where}: {first['msg']})"


def build_web_app(app: Application, *, webhook: bool = False) -> web.Application:
    """The aiohttp app: /healthz, /readyz, /metrics, the calendar feeds, the Mini App, and with
    `webhook` the updates on WEBHOOK_URL's path (401 without the right secret token)."""
    settings = app.settings
    web_app = web.Application()
    if webhook:
        if settings.webhook_secret is None:
            raise ValueError("WEBHOOK_SECRET is required in webhook mode")
        UpdateRequestHandler(
            dispatcher=app.dispatcher,
            bot=app.bot,
            secret_token=settings.webhook_secret.get_secret_value(),
            readiness=app.readiness,
        ).register(web_app, path=settings.webhook_path)
    HealthRoutes(app, webhook=webhook).register(web_app)
    CalendarRoutes(app).register(web_app)
    MiniAppRoutes(app.settings, app.session_pool, app.i18n).register(web_app)
    return web_app


async def start_web_server(web_app: web.Application, host: str, port: int) -> web.AppRunner:
    """Listen on host:port; the returned runner's cleanup() stops the server.

    Raises ListenError when the address can't be used, so start-up ends with one clear line.
    """
    runner = web.AppRunner(web_app, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ListenError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}",
            in_use=exc.errno == errno.EADDRINUSE,
        ) from exc
    except BaseException:
        await runner.cleanup()
        raise
    logger.info("web server listening on %s:%s", host, port)
    return runner
