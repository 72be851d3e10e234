"""The newcomer digest's service and view: who counts, the counts, the pages, bounded binds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import I18n
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.db.session import SessionPool
from bot.i18n import create_i18n
from bot.services import newcomer_digest as digest
from bot.services.newcomer_digest import DigestPage, Newcomer
from bot.telegram import format as fmt
from bot.telegram.callbacks import DigestCallback
from bot.telegram.views.newcomers import newcomer_digest as render
from models import (
    AuditAction,
    AuditEntry,
    Delivery,
    Group,
    GroupMembership,
    GroupType,
    MemberRole,
    Role,
)
from tests.fakebotapi import parse_html, utf16_len
from tests.newcomers import FIRST_ID, add_districts, add_newcomers

NOW = datetime(2026, 12, 1, 12, tzinfo=UTC)
DAYS = 14
DAY = timedelta(days=1)


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n("de")


@contextmanager
def statements(engine: AsyncEngine) -> Iterator[list[int]]:
    """The number of parameters each statement bound while inside."""
    binds: list[int] = []

    def count(_conn: Any, _cursor: Any, _statement: str, parameters: Any, *_args: Any) -> None:
        binds.append(len(parameters) if parameters else 0)

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    try:
        yield binds
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", count)


async def test_who_counts_as_a_waiting_newcomer(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        waiting = await add_newcomers(session, 3, now=NOW, first_id=FIRST_ID)
        # Exactly NEWCOMER_DAYS ago counts; exactly DIGEST_WEEKS more does not.
        [due] = await add_newcomers(session, 1, now=NOW, age=DAYS * DAY, first_id=FIRST_ID + 10)
        window = DAYS * DAY + digest.DIGEST_WEEKS * digest.WEEK
        await add_newcomers(session, 1, now=NOW, age=window, first_id=FIRST_ID + 11)
        await add_newcomers(session, 1, now=NOW, age=window - DAY, first_id=FIRST_ID + 12)
        await add_newcomers(session, 1, now=NOW, age=DAYS * DAY - DAY, first_id=FIRST_ID + 20)
        await add_newcomers(session, 1, now=NOW, first_id=FIRST_ID + 21, departed=True)
        await add_newcomers(session, 1, now=NOW, first_id=FIRST_ID + 22, consented=False)
        [joined] = await add_newcomers(session, 1, now=NOW, first_id=FIRST_ID + 23)
        group = Group(key="g", name="Stammtisch", type=GroupType.STAMMTISCH)
        session.add(group)
        await session.flush()
        session.add(GroupMembership(group_id=group.id, member_id=joined))
        await session.commit()

        page = await digest.digest_page(session, now=NOW, days=DAYS, page=0)
    assert page.total == 5
    assert {newcomer.id for newcomer in page.newcomers} == {*waiting, due, FIRST_ID + 12}
    # The newest first: the one just due, then the three of 20 days (newest id first among
    # equals), then the oldest still listed.
    assert [newcomer.id for newcomer in page.newcomers] == [
        due,
        *sorted(waiting, reverse=True),
        FIRST_ID + 12,
    ]
    assert [newcomer.weeks for newcomer in page.newcomers] == [2, 2, 2, 2, 7]
    assert page.weeks == ((2, 4), (7, 1))
    assert (page.pages, page.page, page.clamped) == (1, 0, False)


async def test_counts_per_stadtteil_largest_first_then_other_and_none(
    session_pool: SessionPool,
) -> None:
    names = ["Altstadt", "Bahnhof", "Chemnitz-Nord", "Dorf", "Eck", "Feld", "Gries"]
    async with session_pool() as session:
        ids = await add_districts(session, names)
        next_id = FIRST_ID
        # Altstadt 1 ... Gries 7, and 3 without a Stadtteil; each a day older than the last.
        for size, district_id in enumerate([*ids, None], start=1):
            count = 3 if district_id is None else size
            await add_newcomers(
                session,
                count,
                now=NOW,
                age=DAYS * DAY + size * 4 * DAY,
                districts=[district_id],
                first_id=next_id,
            )
            next_id += count
        await session.commit()
        page = await digest.digest_page(session, now=NOW, days=DAYS, page=0)
    assert page.total == 28 + 3
    assert page.districts == (
        ("Gries", 7),
        ("Feld", 6),
        ("Eck", 5),
        ("Dorf", 4),
        ("Chemnitz-Nord", 3),
    )
    assert (page.other_districts, page.no_district) == (1 + 2, 3)
    # 18, 22, 26, ... 46 days after joining: weeks 2, 3, 3, 4, 4, 5, 6, and 6 for those without.
    assert page.weeks == ((2, 1), (3, 2 + 3), (4, 4 + 5), (5, 6), (6, 7 + 3))
    assert sum(count for _weeks, count in page.weeks) == page.total


async def test_pages_newest_first_clamped_at_the_end(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        ids = await add_newcomers(session, 25, now=NOW, spread=timedelta(hours=1))
        await session.commit()
        first = await digest.digest_page(session, now=NOW, days=DAYS, page=0)
        last = await digest.digest_page(session, now=NOW, days=DAYS, page=2)
        past = await digest.digest_page(session, now=NOW, days=DAYS, page=9)
    assert [newcomer.id for newcomer in first.newcomers] == ids[:10]
    assert (first.pages, first.first_position) == (3, 1)
    assert [newcomer.id for newcomer in last.newcomers] == ids[20:]
    assert (last.page, last.first_position, last.clamped) == (2, 21, False)
    assert past.newcomers == last.newcomers
    assert (past.page, past.clamped) == (2, True)


async def test_nobody_waiting(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        page = await digest.digest_page(session, now=NOW, days=DAYS, page=3)
    assert (page.total, page.newcomers, page.pages, page.page) == (0, (), 1, 0)
    assert (page.districts, page.weeks, page.other_districts, page.no_district) == ((), (), 0, 0)


async def test_a_few_statements_with_a_few_binds_however_many_newcomers(
    session_pool: SessionPool, engine: AsyncEngine
) -> None:
    async with session_pool() as session:
        districts = await add_districts(session, [f"Stadtteil {i}" for i in range(12)])
        await add_newcomers(
            session, 3_000, now=NOW, spread=timedelta(minutes=17), districts=[*districts, None]
        )
        session.add(MemberRole(member_id=FIRST_ID, role=Role.ORGANISER))
        await session.commit()
    async with session_pool() as session:
        with statements(engine) as binds:
            page = await digest.digest_page(session, now=NOW, days=DAYS, page=4)
        assert page.total == 3_000
        assert len(binds) <= 3
        assert max(binds) <= 40
        with statements(engine) as binds:
            assert (
                await digest.queue_newcomer_digest(session, now=NOW, days=DAYS, admin_ids=[]) == 1
            )
            await session.commit()
        assert max(binds) <= 40


async def test_queued_once_a_day_naming_nobody(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        assert await digest.queue_newcomer_digest(session, now=NOW, days=DAYS, admin_ids=[7]) == 0
        await add_newcomers(session, 3, now=NOW)
        session.add(MemberRole(member_id=FIRST_ID, role=Role.ORGANISER))
        await session.commit()
        # The organisers, not the admins, while there are organisers.
        assert await digest.queue_newcomer_digest(session, now=NOW, days=DAYS, admin_ids=[7]) == 1
        await session.commit()
        # A second run the same day (a restart, a second instance) queues nothing more.
        assert await digest.queue_newcomer_digest(session, now=NOW, days=DAYS, admin_ids=[7]) == 0
        await session.commit()
        [row] = await session.scalars(select(Delivery))
        assert (row.recipient_id, row.kind, row.payload) == (
            FIRST_ID,
            digest.NEWCOMER_DIGEST,
            {"days": DAYS},
        )
        [entry] = await session.scalars(select(AuditEntry))
        assert (entry.actor_id, entry.action, entry.count) == (None, AuditAction.DIGEST, 3)
        # The next week's digest is queued again.
        assert (
            await digest.queue_newcomer_digest(session, now=NOW + 7 * DAY, days=DAYS, admin_ids=[])
            == 1
        )
        await session.commit()
        assert await session.scalar(select(func.count()).select_from(Delivery)) == 2


async def test_a_page_view_is_audited_only_with_names(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        await add_newcomers(session, 12, now=NOW)
        await session.commit()
        empty = await digest.digest_page(session, now=NOW, days=400, page=0)
        await digest.record_page_view(session, FIRST_ID, empty)
        second = await digest.digest_page(session, now=NOW, days=DAYS, page=1)
        await digest.record_page_view(session, FIRST_ID, second)
        await session.commit()
        [entry] = await session.scalars(select(AuditEntry))
    assert (entry.actor_id, entry.action, entry.count, entry.subject) == (
        FIRST_ID,
        AuditAction.NEWCOMER_LIST,
        2,
        "page 2 of 2",
    )


# --- the view ---------------------------------------------------------------------------------

# 64 characters, as long as a Telegram first name gets, with what costs the most.
LONG = ("Zoë 🌻 <Anna> & Maria-Magdalena 🌻 von und zu Hohenzollern-Sigmaringen" * 2)[:64]
# As long as a Stadtteil's name may be.
LONG_DISTRICT = ("Ober-Unter-Mittel-Stadtteil & <Nord> 🌻 " * 5)[:100]


def page_of(total: int, *, page: int = 0, long: bool = True) -> DigestPage:
    size = min(digest.PAGE_SIZE, max(0, total - page * digest.PAGE_SIZE))
    return DigestPage(
        total=total,
        days=DAYS,
        districts=tuple(
            (f"{LONG_DISTRICT[:96]} {index}", total // 10) for index in range(digest.TOP_DISTRICTS)
        )
        if total
        else (),
        other_districts=total // 4,
        no_district=total // 4,
        weeks=tuple((weeks, total // 7) for weeks in range(2, 9)) if total else (),
        newcomers=tuple(
            Newcomer(
                id=FIRST_ID + page * digest.PAGE_SIZE + index,
                first_name=f"{LONG[:60]} {index}" if long else None,
                weeks=8,
            )
            for index in range(size)
        ),
        page=page,
        pages=max(1, -(-total // digest.PAGE_SIZE)),
        clamped=False,
    )


def check(message: tuple[str, InlineKeyboardMarkup | None]) -> str:
    text, keyboard = message
    parsed = parse_html(text)
    assert not [problem for problem in parsed.problems if problem.fatal], parsed.problems
    assert utf16_len(parsed.text) <= fmt.TEXT_LIMIT
    if keyboard is not None:
        buttons = [button for row in keyboard.inline_keyboard for button in row]
        assert len(buttons) <= fmt.KEYBOARD_LIMIT
    return parsed.text


@pytest.mark.parametrize("locale", ["de", "en"])
def test_the_view_at_nobody_one_and_many(i18n: I18n, locale: str) -> None:
    with i18n.context(), i18n.use_locale(locale):
        nobody = render(page_of(0))
        one = render(page_of(1, long=False))
        many = render(page_of(100_000, page=3))
    _text, keyboard = nobody
    assert keyboard is None
    assert check(nobody).splitlines()[0] in {
        "Neue ohne Gruppe (0)",
        "Newcomers without a group (0)",
    }
    _text, keyboard = one
    assert keyboard is not None
    assert [[button.url for button in row] for row in keyboard.inline_keyboard] == [
        [f"tg://user?id={FIRST_ID}"]
    ]
    assert f"• ID {FIRST_ID} · 8 " in check(one)
    _text, keyboard = many
    visible = check(many)
    assert "100.000" in visible or "100,000" in visible
    assert keyboard is not None
    *writes, paging = keyboard.inline_keyboard
    assert len(writes) == digest.PAGE_SIZE
    assert [DigestCallback.unpack(button.callback_data or "").page for button in paging] == [2, 4]
    assert f"{LONG[:60]} 9" in visible


def test_the_view_in_english(i18n: I18n) -> None:
    with i18n.context(), i18n.use_locale("en"):
        text, _keyboard = render(page_of(23, page=2, long=False))
    lines = parse_html(text).text.splitlines()
    assert lines[0] == "Newcomers without a group (23)"
    assert lines[1].startswith("These newcomers have been with us for 14 days or more")
    assert lines[1].endswith("Listed for 6 weeks from then; the newest first.")
    assert lines[3].startswith("By Stadtteil: ")
    assert lines[3].endswith(" · other Stadtteile: 5 · no Stadtteil: 5")
    assert lines[4] == (
        "Weeks since joining: 2 weeks: 3 · 3 weeks: 3 · 4 weeks: 3 · 5 weeks: 3 · 6 weeks: 3"
        " · 7 weeks: 3 · 8 weeks: 3"
    )
    assert lines[6] == "Newest 21–23 of 23:"
    assert lines[7] == f"• ID {FIRST_ID + 20} · 8 weeks"
