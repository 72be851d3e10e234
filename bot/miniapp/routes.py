"""The Mini App's routes on the bot's web server: GET /app/ (the page) and
GET /app/api/dashboard (its figures, for organisers only).

The page holds no data; every API request carries Telegram's initData
("Authorization: tma <initData>"), checked here for signature, age and role (bot.miniapp.auth)
before a single figure is read. Refusals are JSON with a code and a text, never a traceback.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiogram.utils.i18n import I18n
from aiogram.utils.web_app import WebAppUser
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.session import SessionPool
from bot.miniapp import payload
from bot.miniapp.auth import (
    AuthError,
    Refusal,
    dashboard_viewer,
    init_data_from_header,
    verify_init_data,
)
from bot.miniapp.page import render_page
from bot.services.dashboard import dashboard
from bot.services.locales import resolve_locale
from bot.services.reports.model import Report
from bot.settings import Settings
from models.base import utcnow

logger = logging.getLogger(__name__)

PAGE_PATH = "/app/"
API_PATH = "/app/api/dashboard"
DEFAULT_PERIOD = payload.PERIOD_KEYS[0]

# The report for a period key ("last_30_days", ...) as of `now`, in the KV's zone.
ReportSource = Callable[[AsyncSession, str, datetime], Awaitable[Report]]
Clock = Callable[[], datetime]


def report_source(settings: Settings) -> ReportSource:
    """The real reports (bot.services.reports), imported on first use."""

    async def compute(session: AsyncSession, period_key: str, now: datetime) -> Report:
        from bot.services.directory import kv_name  # noqa: PLC0415 (see below)
        from bot.services.reports import figures, period  # noqa: PLC0415

        # Imported here: the reports are a heavier module the idle bot needn't load, and the
        # Mini App's own tests inject a ready Report instead.
        today = now.astimezone(settings.zone).date()
        choose = {
            "last_30_days": period.last_30_days,
            "half_year": period.half_year,
            "previous_half_year": period.previous_half_year,
        }[period_key]
        return await figures.compute_report(
            session,
            period=choose(today),
            kv_name=await kv_name(session, settings.kv_name),
            tz=settings.zone,
            now=now,
        )

    return compute


def _secure(response: web.StreamResponse, *, nonce: str | None = None) -> web.StreamResponse:
    """Headers every Mini App response carries: nothing loads but from here, nothing leaks."""
    script = f"'nonce-{nonce}'" if nonce else "'none'"
    response.headers["Content-Security-Policy"] = (
        f"default-src 'none'; script-src {script}; style-src 'unsafe-inline'; "
        "connect-src 'self'; img-src 'self' data:; base-uri 'none'; form-action 'none'; "
        # Telegram's web clients show Mini Apps in a frame.
        "frame-ancestors 'self' https://web.telegram.org https://*.telegram.org"
    )
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["Cache-Control"] = "no-store"
    return response


@dataclass
class MiniAppRoutes:
    """The page and its API; `reports` and `clock` are injectable for tests."""

    settings: Settings
    session_pool: SessionPool
    i18n: I18n
    reports: ReportSource | None = None
    clock: Clock = utcnow

    def register(self, web_app: web.Application) -> None:
        """Add GET /app, /app/ and /app/api/dashboard (HEAD included) to `web_app`."""
        web_app.router.add_get("/app", self.redirect)
        web_app.router.add_get(PAGE_PATH, self.page)
        web_app.router.add_get(API_PATH, self.api)

    @property
    def zone(self) -> ZoneInfo:
        return self.settings.zone

    async def redirect(self, _request: web.Request) -> web.StreamResponse:
        """/app without the slash: the page's relative API path needs it."""
        raise web.HTTPFound(PAGE_PATH)

    async def page(self, _request: web.Request) -> web.StreamResponse:
        """The page: no data in it; it asks the API with the initData Telegram gave it."""
        nonce = secrets.token_urlsafe(16)
        response = web.Response(
            text=render_page(nonce=nonce, lang=self.settings.default_locale),
            content_type="text/html",
            charset="utf-8",
        )
        return _secure(response, nonce=nonce)

    async def api(self, request: web.Request) -> web.StreamResponse:
        """The figures for the period asked (?period=...), or a refusal; never a traceback."""
        try:
            return _secure(await self._answer(request))
        except Exception:
            logger.exception("mini app request failed")
            return _secure(web.json_response({"error": "internal"}, status=500))

    async def _answer(self, request: web.Request) -> web.Response:
        settings, now = self.settings, self.clock()
        init_data = init_data_from_header(request.headers.get("Authorization"))
        try:
            user = verify_init_data(
                init_data,
                token=settings.require_token().get_secret_value(),
                now=now,
                max_age=timedelta(seconds=settings.miniapp_max_age_seconds),
            )
        except AuthError as exc:
            return self._refusal(exc.reason, exc.user)
        async with self.session_pool() as session:
            try:
                member = await dashboard_viewer(session, user.id, admin_ids=settings.admin_ids)
            except AuthError as exc:
                return self._refusal(exc.reason, user)
            period_key = request.query.get("period", DEFAULT_PERIOD)
            if period_key not in payload.PERIOD_KEYS:
                return web.json_response({"error": "period"}, status=400)
            locale = resolve_locale(
                member.language if member is not None else None,
                user.language_code,
                available=self.i18n.available_locales,
                default=settings.default_locale,
            )
            report = await self._report(session, period_key, now)
            figures = await dashboard(session, now=now, newcomer_days=settings.newcomer_days)
        with self.i18n.context(), self.i18n.use_locale(locale):
            body: dict[str, Any] = {
                "locale": locale,
                "labels": payload.labels(),
                "periods": payload.period_labels(),
                "period": period_key,
                "kv_name": settings.kv_name,
                "generated": payload.generated(now, self.zone),
                "report": None if report is None else payload.report_json(report, self.zone),
                **payload.dashboard_json(figures, self.zone),
            }
        logger.info("mini app dashboard shown to member=%s period=%s", user.id, period_key)
        return web.json_response(body)

    async def _report(self, session: AsyncSession, period_key: str, now: datetime) -> Report | None:
        """The report, or None when it fails: the rest of the dashboard is still worth showing."""
        source = self.reports or report_source(self.settings)
        try:
            return await source(session, period_key, now)
        except Exception:
            logger.exception("mini app: the report for %s could not be computed", period_key)
            await session.rollback()
            return None

    def _refusal(self, reason: Refusal, user: WebAppUser | None) -> web.Response:
        # The text in the person's language once the signature is known to be Telegram's.
        locale = resolve_locale(
            None,
            user.language_code if user is not None else None,
            available=self.i18n.available_locales,
            default=self.settings.default_locale,
        )
        with self.i18n.context(), self.i18n.use_locale(locale):
            text = payload.refusal_texts()[reason.value]
        logger.info(
            "mini app request refused: %s (user=%s)",
            reason.value,
            user.id if user is not None else "unknown",
        )
        return web.json_response(
            {"error": reason.value, "message": text, "locale": locale}, status=reason.status
        )
