"""What the Mini App's tests share: initData signed as Telegram signs it, a ready Report, a
seeded database, and the Mini App served on its own aiohttp application."""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from aiogram.utils.i18n import I18n
from aiohttp import web
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.session import SessionPool
from bot.i18n import create_i18n
from bot.miniapp.routes import MiniAppRoutes
from bot.services.reports.model import (
    ActionKindFigures,
    DistrictFigures,
    FunnelStage,
    FunnelStep,
    GroupFigures,
    GroupMonth,
    Period,
    PeriodKind,
    Report,
)
from bot.settings import Settings
from models import (
    ActionDate,
    ActionKind,
    Broadcast,
    BroadcastStatus,
    Category,
    Delivery,
    DeliveryStatus,
    District,
    FieldAction,
    Member,
    MemberRole,
    Profile,
    Role,
    Shift,
    ShiftSignup,
)

TOKEN = "123456789:AAF0abcdefghijklmnopqrstuvwxyz0123456"
NOW = datetime(2026, 5, 20, 10, 0, tzinfo=UTC)
ORGANISER_ID = 501
MEMBER_ID = 502
ADMIN_ID = 503  # in ADMIN_IDS only, never stored as admin
ENGLISH_ORGANISER_ID = 504  # chose English with /sprache
VOLUNTEER_IDS = (601, 602, 603, 604, 605)
KV_NAME = "KV Testhausen"
BROADCAST_SUMMARY = "Sommerfest am <b>Samstag</b> & mehr"


def sign_init_data(
    token: str,
    *,
    user: dict[str, Any] | None,
    auth_date: datetime,
    extra: dict[str, str] | None = None,
) -> str:
    """initData as a Telegram client gets it: the fields as a query string, `hash` the
    HMAC-SHA256 of their sorted "key=value" lines under the key HMAC-SHA256("WebAppData", token).
    """
    fields: dict[str, str] = {"auth_date": str(int(auth_date.timestamp())), **(extra or {})}
    if user is not None:
        fields["user"] = json.dumps(user, separators=(",", ":"), ensure_ascii=False)
    check = "\n".join(f"{key}={value}" for key, value in sorted(fields.items()))
    secret = hmac.new(b"WebAppData", token.encode(), hashlib.sha256).digest()
    fields["hash"] = hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    return urlencode(fields, quote_via=quote)


def telegram_user(user_id: int, *, language_code: str = "de") -> dict[str, Any]:
    """The user object Telegram puts into initData."""
    return {
        "id": user_id,
        "first_name": "Olga",
        "last_name": "Orga",
        "username": f"user{user_id}",
        "language_code": language_code,
        "allows_write_to_pm": True,
    }


def init_data_for(user_id: int, *, age: timedelta = timedelta(minutes=1), **user: Any) -> str:
    """Genuine initData for `user_id`, signed `age` before NOW."""
    return sign_init_data(TOKEN, user=telegram_user(user_id, **user), auth_date=NOW - age)


def settings(database_url: str, **overrides: Any) -> Settings:
    """Settings for a Mini App under test: TOKEN, ADMIN_ID configured as admin."""
    values: dict[str, Any] = {
        "bot_token": TOKEN,
        "database_url": database_url,
        "admin_ids": frozenset({ADMIN_ID}),
        "kv_name": KV_NAME,
        "default_locale": "de",
        "webhook_listen": "",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def period_for(key: str) -> Period:
    """A fixed period per key, so a test sees which one the page asked for."""
    periods = {
        "last_30_days": Period(PeriodKind.LAST_30_DAYS, date(2026, 4, 20), date(2026, 5, 19)),
        "half_year": Period(PeriodKind.HALF_YEAR, date(2026, 1, 1), date(2026, 6, 30)),
        "previous_half_year": Period(PeriodKind.HALF_YEAR, date(2025, 7, 1), date(2025, 12, 31)),
    }
    return periods[key]


def sample_report(key: str = "last_30_days") -> Report:
    """A report with every kind of figure, among them counts of 1 and 2 (shown as "< 3")."""
    funnel = (
        FunnelStep(FunnelStage.JOINED_CHAT, 41),
        FunnelStep(FunnelStage.OPENED_CHAT, 37),
        FunnelStep(FunnelStage.CONSENTED, 29),
        FunnelStep(FunnelStage.FINISHED_INTAKE, 23),
        FunnelStep(FunnelStage.JOINED_GROUP, 11),
        FunnelStep(FunnelStage.FIRST_MEETING, 2),
    )
    months = (
        GroupMonth(date(2026, 3, 1), meetings=2, attendees=14),
        GroupMonth(date(2026, 4, 1), meetings=2, attendees=19),
        GroupMonth(date(2026, 5, 1), meetings=1, attendees=1),
    )
    return Report(
        kv_name=KV_NAME,
        period=period_for(key),
        generated_at=NOW,
        funnel=funnel,
        groups=(GroupFigures("Stammtisch Nord", "stammtisch", "Nordstadt", 17, 4, months),),
        actions=(ActionKindFigures("infostand", 3, 6, 4, 13, 58, 400, 7),),
        districts=(
            DistrictFigures("Nordstadt", members=64, newcomers=9, in_groups=21, active=12),
            DistrictFigures("Südstadt", members=38, newcomers=5, in_groups=8, active=6),
            DistrictFigures("Weststadt", members=1, newcomers=1, in_groups=0, active=0),
        ),
    )


class FakeReports:
    """A ReportSource: the sample report for the period asked, remembering what was asked."""

    def __init__(self) -> None:
        self.asked: list[str] = []

    async def __call__(self, session: AsyncSession, period_key: str, now: datetime) -> Report:
        del session, now
        self.asked.append(period_key)
        return sample_report(period_key)


def build_app(
    settings: Settings,
    session_pool: SessionPool,
    *,
    reports: Any = None,
    i18n: I18n | None = None,
) -> web.Application:
    """An aiohttp application with the Mini App's routes alone, its clock at NOW."""
    web_app = web.Application()
    MiniAppRoutes(
        settings,
        session_pool,
        i18n or create_i18n(settings.default_locale),
        reports=reports or FakeReports(),
        clock=lambda: NOW,
    ).register(web_app)
    return web_app


def _profile(member_id: int, district_id: int | None) -> Profile:
    return Profile(
        member_id=member_id,
        district_id=district_id,
        consent_at=NOW,
        consent_version=1,
        outside_districts=False,
        free_time=[],
    )


async def seed(session_pool: SessionPool) -> None:
    """An organiser, a member, an organiser reading English, volunteers; one info stand in
    four days (two shifts: one with a single volunteer, one with four), one far ahead; one
    broadcast that went out; two newcomers waiting in one Stadtteil, and one in none."""
    async with session_pool() as session:
        session.add(District(id=1, key="nord", name="Nordstadt", position=0))
        for member_id, language in (
            (ORGANISER_ID, None),
            (MEMBER_ID, None),
            (ENGLISH_ORGANISER_ID, "en"),
            *((volunteer, None) for volunteer in VOLUNTEER_IDS),
        ):
            member = Member(
                id=member_id,
                first_name=f"Person {member_id}",
                language=language,
                created_at=NOW - timedelta(days=400),
                last_seen_at=NOW,
            )
            if member_id in (ORGANISER_ID, ENGLISH_ORGANISER_ID):
                member.roles.append(MemberRole(role=Role.ORGANISER, granted_at=NOW))
            session.add(member)
            if member_id in VOLUNTEER_IDS:
                session.add(_profile(member_id, None))
        for member_id, district in ((701, 1), (702, 1), (703, None)):
            session.add(
                Member(
                    id=member_id,
                    first_name=f"Neu {member_id}",
                    created_at=NOW - timedelta(days=20),
                    last_seen_at=NOW,
                )
            )
            session.add(_profile(member_id, district))
        action = FieldAction(kind=ActionKind.INFOSTAND, title="Infostand Markt", place="Markt")
        session.add(action)
        await session.flush()
        soon = ActionDate(action_id=action.id, day=(NOW + timedelta(days=4)).date())
        later = ActionDate(action_id=action.id, day=(NOW + timedelta(days=30)).date())
        session.add_all([soon, later])
        await session.flush()
        start = NOW + timedelta(days=4)
        first = Shift(
            action_date_id=soon.id, starts_at=start, ends_at=start + timedelta(hours=2), needed=3
        )
        second = Shift(
            action_date_id=soon.id,
            starts_at=start + timedelta(hours=2),
            ends_at=start + timedelta(hours=4),
            needed=3,
        )
        far = Shift(
            action_date_id=later.id,
            starts_at=NOW + timedelta(days=30),
            ends_at=NOW + timedelta(days=30, hours=2),
            needed=2,
        )
        session.add_all([first, second, far])
        await session.flush()
        session.add(ShiftSignup(shift_id=first.id, member_id=VOLUNTEER_IDS[0], signed_at=NOW))
        for volunteer in VOLUNTEER_IDS[1:]:
            session.add(ShiftSignup(shift_id=second.id, member_id=volunteer, signed_at=NOW))
        broadcast = Broadcast(
            source_chat_id=ORGANISER_ID,
            source_message_id=1,
            content_type="text",
            summary=BROADCAST_SUMMARY,
            category=Category.ANNOUNCEMENTS,
            scheduled_at=NOW - timedelta(days=2),
            status=BroadcastStatus.DONE,
            started_at=NOW - timedelta(days=2),
            finished_at=NOW - timedelta(days=2),
            total=7,
            opted_out=1,
            unreachable=1,
        )
        session.add(broadcast)
        await session.flush()
        for index, status in enumerate([DeliveryStatus.SENT] * 6 + [DeliveryStatus.BLOCKED]):
            session.add(
                Delivery(
                    recipient_id=900 + index,
                    kind="broadcast",
                    batch_id=broadcast.id,
                    status=status,
                    due_at=NOW - timedelta(days=2),
                )
            )
        await session.commit()
