"""Calls for help: exactly the intended members are called (a table of members), once per shift,
never for a full shift; a queued call is withdrawn when the shift fills and then does not count
as asked; the organiser's counts; the message in both languages.

The job gets `now=` (a fixed clock: 47 h before the shift); the renderer checks "has it started"
against the real clock, so the shift lies several days ahead of the real now.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import insert, select

from bot.app import Application
from bot.context import JobContext
from bot.db.session import SessionPool
from bot.outbox.renderers import RENDERERS
from bot.outbox.rendering import Rendered
from bot.services import field_actions, help_calls, shifts
from bot.services.field_actions import PlannedShift
from bot.services.help_calls import HELP_CALL, covers, shift_slots
from bot.services.locales import member_locale
from bot.telegram.callbacks import ActionAct, ActionCallback
from jobs.field_actions import queue_help_calls
from models import (
    ActionKind,
    ActivityType,
    AuditEntry,
    Category,
    Delivery,
    District,
    HelpCall,
    Member,
    OptOut,
    Profile,
    Shift,
)
from models.base import utcnow
from models.kv import district_neighbours
from tests.fakebotapi import FakeBotAPI

ZONE = ZoneInfo("Europe/Berlin")
REAL_NOW = utcnow().replace(second=0, microsecond=0)
HOUR, DAY = timedelta(hours=1), timedelta(days=1)
BOTH = ["weekday_daytime", "weekday_evening"]


def _weekday_ahead(days: int = 4) -> date:
    """A Monday-to-Friday at least `days` days ahead (local)."""
    day = REAL_NOW.astimezone(ZONE).date() + timedelta(days=days)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return day


DAY_OF_SHIFT = _weekday_ahead()
# 16:00-18:00 on a weekday: weekday daytime and weekday evening.
SHIFT_PLAN = (PlannedShift(time(16, 0), time(18, 0), 3),)


@dataclass
class Places:
    mitte: int
    nord: int  # next to Mitte
    sued: int
    stand: int  # activity type of kind infostand
    reading: int  # activity type of no field action


async def _places(pool: SessionPool) -> Places:
    async with pool() as session:
        districts = [
            District(key=key, name=name)
            for key, name in (("mitte", "Mitte"), ("nord", "Nord"), ("sued", "Süd"))
        ]
        stand = ActivityType(key="stand", name="Infostände", action_kind="infostand")
        reading = ActivityType(key="lesen", name="Lesekreis", action_kind=None)
        session.add_all([*districts, stand, reading])
        await session.flush()
        mitte, nord, sued = (row.id for row in districts)
        await session.execute(
            insert(district_neighbours),
            [
                {"district_id": mitte, "neighbour_id": nord},
                {"district_id": nord, "neighbour_id": mitte},
            ],
        )
        await session.commit()
        return Places(mitte, nord, sued, stand.id, reading.id)


async def _member(
    pool: SessionPool,
    member_id: int,
    name: str,
    *,
    district: int | None,
    activities: list[int],
    free: list[str],
    reachable: bool = True,
    consent: bool = True,
    language: str = "de",
) -> int:
    async with pool() as session:
        member = Member(id=member_id, first_name=name, reachable=reachable, language=language)
        if consent:
            types = list(
                await session.scalars(select(ActivityType).where(ActivityType.id.in_(activities)))
            )
            member.profile = Profile(
                member_id=member_id, district_id=district, free_time=free, activity_types=types
            )
        session.add(member)
        await session.commit()
    return member_id


async def _action(
    pool: SessionPool,
    *,
    district: int | None,
    title: str = "Infostand Marktplatz",
    plan: tuple[PlannedShift, ...] = SHIFT_PLAN,
    kind: ActionKind = ActionKind.INFOSTAND,
) -> Shift:
    async with pool() as session:
        action = await field_actions.create(
            session,
            kind=kind,
            title=title,
            place="Marktplatz",
            shifts=plan,
            on_day=DAY_OF_SHIFT,
            now=REAL_NOW,
            zone=ZONE,
            district_id=district,
            material="Flyer, Tisch",
        )
        await session.commit()
        [row] = await field_actions.upcoming_dates(
            session, now=REAL_NOW, until=REAL_NOW + 30 * DAY, action_ids=[action.id]
        )
        return row.shifts[0]


def _ctx(app: Application) -> JobContext:
    return JobContext(app.session_pool, app.bot, app.i18n, app.settings)


async def _call(
    app: Application, shift: Shift, *, before: timedelta = 47 * HOUR
) -> help_calls.Calls:
    return await queue_help_calls(_ctx(app), now=shift.starts_at - before)


async def _calls(app: Application) -> list[Delivery]:
    async with app.session_pool() as session:
        return list(
            await session.scalars(
                select(Delivery).where(Delivery.kind == HELP_CALL).order_by(Delivery.id)
            )
        )


async def _sign_up(
    app: Application, shift: Shift, member_id: int, *, via_call: bool = False
) -> None:
    async with app.session_pool() as session:
        await shifts.sign_up(session, shift.id, member_id, now=REAL_NOW, via_call=via_call)
        await session.commit()


async def _render(app: Application, row: Delivery) -> Rendered:
    """What the outbox would send for `row` now, in its recipient's language, committed like
    the outbox's batch (a withdrawn call deletes its HelpCall)."""
    async with app.session_pool() as session:
        member = await session.get(Member, row.recipient_id)
        locale = member_locale(member, available=app.i18n.available_locales, default="de")
        with app.i18n.context(), app.i18n.use_locale(locale):
            rendered = await RENDERERS[row.kind](session, row, member)
        await session.commit()
        return rendered


# --- rules without a database ----------------------------------------------------------------


def test_a_shift_touches_each_slot_it_overlaps_in_local_time() -> None:
    tuesday = datetime(2030, 1, 8, tzinfo=ZONE)

    def shift(start: int, end: int, day: datetime = tuesday) -> Shift:
        return Shift(
            starts_at=(day + timedelta(hours=start)).astimezone(UTC),
            ends_at=(day + timedelta(hours=end)).astimezone(UTC),
        )

    assert shift_slots(shift(10, 12), ZONE) == {"weekday_daytime"}
    assert shift_slots(shift(16, 17), ZONE) == {"weekday_daytime"}
    assert shift_slots(shift(16, 18), ZONE) == {"weekday_daytime", "weekday_evening"}
    assert shift_slots(shift(10, 12, tuesday + 4 * DAY), ZONE) == {"weekend"}
    assert covers(BOTH, {"weekday_daytime", "weekday_evening"})
    assert not covers(["weekday_evening"], {"weekday_daytime", "weekday_evening"})
    assert not covers([], {"weekend"})
    assert not covers(None, {"weekend"})


# --- who is called ---------------------------------------------------------------------------


async def test_exactly_the_intended_members_are_called(
    app: Application, caplog: pytest.LogCaptureFixture
) -> None:
    pool = app.session_pool
    places = await _places(pool)
    shift = await _action(pool, district=places.mitte)
    # Another action at an overlapping time (full: it gets no calls of its own).
    other = await _action(
        pool,
        district=places.sued,
        title="Haustür Süd",
        kind=ActionKind.DOOR_TO_DOOR,
        plan=(PlannedShift(time(17, 0), time(19, 0), 1),),
    )
    stand = [places.stand]
    table = {
        # id: (name, district, activity types, free time, extra, called?)
        101: ("Anna", places.mitte, stand, BOTH, None, True),
        102: ("Ben", places.nord, stand, BOTH, None, True),  # a neighbouring Stadtteil
        103: ("Cem", places.sued, stand, BOTH, None, False),  # another Stadtteil
        104: ("Dora", None, stand, BOTH, None, False),  # no Stadtteil
        105: ("Emil", places.mitte, [places.reading], BOTH, None, False),  # no such activity
        106: ("Fay", places.mitte, stand, ["weekday_evening"], None, False),  # not free 16-17
        107: ("Gus", places.mitte, stand, BOTH, "opted_out", False),
        108: ("Hana", places.mitte, stand, BOTH, "called_2_days_ago", False),
        109: ("Ida", places.mitte, stand, BOTH, "called_10_days_ago", True),
        110: ("Jan", places.mitte, stand, BOTH, "on_the_shift", False),
        111: ("Kim", places.mitte, stand, BOTH, "overlapping_shift", False),
        112: ("Lea", places.mitte, stand, BOTH, "unreachable", False),
        113: ("Max", places.mitte, stand, BOTH, "no_consent", False),
    }
    now = shift.starts_at - 47 * HOUR
    for member_id, (name, district, kinds, free, extra, _called) in table.items():
        await _member(
            pool,
            member_id,
            name,
            district=district,
            activities=kinds,
            free=free,
            reachable=extra != "unreachable",
            consent=extra != "no_consent",
        )
    async with pool() as session:
        session.add(OptOut(member_id=107, category=Category.CALLS_FOR_HELP))
        session.add(HelpCall(shift_id=other.id, member_id=108, called_at=now - 2 * DAY))
        session.add(HelpCall(shift_id=other.id, member_id=109, called_at=now - 10 * DAY))
        await session.commit()
    await _sign_up(app, shift, 110)
    await _sign_up(app, other, 111)

    with caplog.at_level(logging.INFO, logger="jobs.field_actions"):
        result = await _call(app, shift)
    expected = {member_id for member_id, row in table.items() if row[-1]}
    assert expected == {101, 102, 109}
    assert result == help_calls.Calls(shifts=1, called=3)
    rows = await _calls(app)
    assert {row.recipient_id for row in rows} == expected
    assert all(row.category == Category.CALLS_FOR_HELP.value for row in rows)
    assert all(row.payload == {"shift_id": shift.id} for row in rows)
    async with pool() as session:
        called = set(
            await session.scalars(select(HelpCall.member_id).where(HelpCall.shift_id == shift.id))
        )
    assert called == expected
    # Counts only in the log, no ids or names.
    [line] = [r.getMessage() for r in caplog.records if r.name == "jobs.field_actions"]
    assert line == "calls for help: 3 members called for 1 shifts lacking people"

    # Again, a restart, a second instance: nobody twice for the same shift.
    assert await _call(app, shift, before=46 * HOUR) == help_calls.Calls(shifts=1, called=0)
    assert len(await _calls(app)) == 3


async def test_an_action_without_stadtteil_calls_members_of_any(app: Application) -> None:
    pool = app.session_pool
    places = await _places(pool)
    shift = await _action(pool, district=None)
    for member_id, district in ((201, places.mitte), (202, places.sued), (203, None)):
        await _member(pool, member_id, "X", district=district, activities=[places.stand], free=BOTH)
    await _member(pool, 204, "Y", district=None, activities=[places.reading], free=BOTH)
    assert await _call(app, shift) == help_calls.Calls(shifts=1, called=3)
    assert {row.recipient_id for row in await _calls(app)} == {201, 202, 203}
    # Written to members on the KV's behalf: in the audit log, the bot as the actor.
    async with app.session_pool() as session:
        [entry] = list(await session.scalars(select(AuditEntry)))
    assert (entry.actor_id, entry.action, entry.count, entry.subject) == (
        None,
        "help_call",
        3,
        f"shift #{shift.id}",
    )
    # A second run calls nobody again and records nothing.
    assert await _call(app, shift, before=46 * HOUR) == help_calls.Calls(shifts=1, called=0)
    async with app.session_pool() as session:
        assert len(list(await session.scalars(select(AuditEntry)))) == 1


async def test_no_calls_before_the_shortfall_window_nor_for_a_full_or_started_shift(
    app: Application,
) -> None:
    pool = app.session_pool
    places = await _places(pool)
    shift = await _action(
        pool, district=places.mitte, plan=(PlannedShift(time(16, 0), time(18, 0), 1),)
    )
    await _member(pool, 301, "Anna", district=places.mitte, activities=[places.stand], free=BOTH)
    await _member(pool, 302, "Ben", district=places.mitte, activities=[places.stand], free=BOTH)
    assert await _call(app, shift, before=49 * HOUR) == help_calls.Calls(shifts=0, called=0)
    await _sign_up(app, shift, 302)
    assert await _call(app, shift) == help_calls.Calls(shifts=0, called=0)
    assert await _calls(app) == []


async def test_a_member_called_for_one_shift_rests_for_the_cooldown(app: Application) -> None:
    pool = app.session_pool
    places = await _places(pool)
    first = await _action(pool, district=places.mitte, title="Stand A")
    # Same time, another place: a member called for the first is not called for the second.
    second = await _action(pool, district=places.mitte, title="Stand B")
    await _member(pool, 401, "Anna", district=places.mitte, activities=[places.stand], free=BOTH)
    result = await _call(app, first)
    assert result == help_calls.Calls(shifts=2, called=1)
    [row] = await _calls(app)
    assert row.payload == {"shift_id": first.id}
    async with pool() as session:
        assert await help_calls.stats(session, [first.id, second.id]) == {
            first.id: help_calls.CallStats(asked=1)
        }


# --- the message, its withdrawal, the counts --------------------------------------------------


async def test_the_call_names_the_shift_and_signs_up_with_one_tap(
    app: Application, fake_api: FakeBotAPI
) -> None:
    pool = app.session_pool
    places = await _places(pool)
    shift = await _action(pool, district=places.mitte)
    anna = fake_api.add_user(first_name="Anna", language_code="de")
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    await _member(
        pool, anna.id, "Anna", district=places.mitte, activities=[places.stand], free=BOTH
    )
    await _member(
        pool,
        ben.id,
        "Ben",
        district=places.nord,
        activities=[places.stand],
        free=BOTH,
        language="en",
    )
    await _sign_up(app, shift, anna.id)  # one of three: two missing
    await _member(pool, 501, "Cem", district=places.mitte, activities=[places.stand], free=BOTH)
    assert (await _call(app, shift)).called == 2
    sent = await app.worker.run_once(now=shift.starts_at - 47 * HOUR)
    assert sent == 2
    [message] = fake_api.sent_to(ben.id)
    assert message.text is not None
    assert "Help wanted!" in message.text
    assert "This shift still lacks 2 people:" in message.text
    assert "Infostand Marktplatz (Infostand)" in message.text
    assert "Marktplatz (Mitte)" in message.text
    assert "Material: Flyer, Tisch" in message.text
    buttons = [button for row in message.reply_markup["inline_keyboard"] for button in row]
    assert (
        buttons[0]["callback_data"]
        == ActionCallback(act=ActionAct.SIGN_UP, shift_id=shift.id, call=1).pack()
    )
    assert (
        buttons[1]["callback_data"]
        == ActionCallback(act=ActionAct.DATE, date_id=shift.action_date_id).pack()
    )
    async with pool() as session:
        row = await session.scalar(select(Delivery).where(Delivery.recipient_id == 501))
    assert row is not None
    with app.i18n.context(), app.i18n.use_locale("de"):
        async with pool() as session:
            rendered = await RENDERERS[HELP_CALL](session, row, await session.get(Member, 501))
    assert isinstance(rendered, tuple)
    assert "🆘 <b>Hilfe gesucht!</b>" in rendered[0]
    assert "In dieser Schicht fehlen noch 2 Personen:" in rendered[0]


async def test_calls_stop_when_the_shift_fills_and_unsent_ones_do_not_count(
    app: Application,
) -> None:
    pool = app.session_pool
    places = await _places(pool)
    shift = await _action(
        pool, district=places.mitte, plan=(PlannedShift(time(16, 0), time(18, 0), 2),)
    )
    for member_id in (601, 602, 603):
        await _member(
            pool, member_id, "M", district=places.mitte, activities=[places.stand], free=BOTH
        )
    assert (await _call(app, shift)).called == 3
    rows = {row.recipient_id: row for row in await _calls(app)}
    # 601's call goes out and they answer it; the shift still lacks one.
    first = await _render(app, rows[601])
    assert isinstance(first, tuple)
    assert "In dieser Schicht fehlen noch 2 Personen:" in first[0]
    await _sign_up(app, shift, 601, via_call=True)
    # Someone else fills the last place before the other calls went out: both are withdrawn.
    await _member(pool, 604, "N", district=places.sued, activities=[], free=[])
    await _sign_up(app, shift, 604)
    assert await _render(app, rows[602]) is None
    assert await _render(app, rows[603]) is None
    async with pool() as session:
        stats = await help_calls.stats(session, [shift.id])
        remaining = set(
            await session.scalars(select(HelpCall.member_id).where(HelpCall.shift_id == shift.id))
        )
    assert remaining == {601}
    assert stats[shift.id].asked == 1
    assert [member.id for member in stats[shift.id].answered] == [601]
    # The shift is full: no further calls.
    assert await _call(app, shift, before=40 * HOUR) == help_calls.Calls(shifts=0, called=0)
    # It empties again: who was not really asked may be asked now, with a message of its own.
    async with pool() as session:
        await shifts.cancel(session, shift.id, 604, now=REAL_NOW)
        await session.commit()
    assert await _call(app, shift, before=30 * HOUR) == help_calls.Calls(shifts=1, called=2)
    keys = [row.dedupe_key for row in await _calls(app)]
    assert len(keys) == len(set(keys)) == 5


async def test_a_call_to_someone_who_joined_meanwhile_is_withdrawn(app: Application) -> None:
    pool = app.session_pool
    places = await _places(pool)
    shift = await _action(pool, district=places.mitte)
    await _member(pool, 701, "Anna", district=places.mitte, activities=[places.stand], free=BOTH)
    assert (await _call(app, shift)).called == 1
    [row] = await _calls(app)
    await _sign_up(app, shift, 701)
    assert await _render(app, row) is None
    async with pool() as session:
        assert await help_calls.stats(session, [shift.id]) == {}


async def test_two_instances_racing_call_each_member_once(app: Application) -> None:
    """Meaningful on PostgreSQL; SQLite runs one writer at a time, so there it checks the same
    rule without a real race."""
    pool = app.session_pool
    places = await _places(pool)
    shift = await _action(pool, district=places.mitte)
    for member_id in range(800, 830):
        await _member(
            pool, member_id, "M", district=places.mitte, activities=[places.stand], free=BOTH
        )
    now = shift.starts_at - 47 * HOUR
    results = await asyncio.gather(
        *(queue_help_calls(_ctx(app), now=now) for _instance in range(3))
    )
    assert sum(result.called for result in results) == 30
    rows = await _calls(app)
    assert len(rows) == 30
    assert len({row.recipient_id for row in rows}) == 30
    async with pool() as session:
        assert (await help_calls.stats(session, [shift.id]))[shift.id].asked == 30
