"""A simulated year of re-engagement with a fixed clock: every cap holds for every member.

Day by day, the daily job (at its 10:30 local time) and then the delivery worker run as the
bot runs them, with the clock handed in; members act in between (write to the bot, tap
"Later" or "Fewer messages", pause). What each member got is read back from check_ins and
the fake Telegram server, and held against the rules: at most one check-in per calendar
quarter and none closer than 91 days; none while paused, opted out or `important_only`; none
while active; none within the snooze after "Later"; none after "Fewer messages".
"""

from __future__ import annotations

import itertools
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from bot.app import Application
from bot.services import call_list, reengagement
from jobs.reengagement import queue_call_list, queue_check_ins
from models import CheckIn, ContactFrequency, Delivery, DeliveryStatus, Member, Reaction
from tests.fakebotapi import FakeBotAPI, FakeUser
from tests.quiet_members import add_member

ZONE = ZoneInfo("Europe/Berlin")
# 10:30 in Berlin (winter): when the daily job runs.
START = datetime(2027, 1, 4, 9, 30, tzinfo=UTC)
DAY = timedelta(days=1)
DAYS = 365
PAUSED_UNTIL = START + 200 * DAY
WAKES_UP = 150


@dataclass
class Person:
    """One simulated member and what they do."""

    key: str
    frequency: str | None = None
    opted_out: bool = False
    paused_until: datetime | None = None
    # Writes to the bot every week.
    active: bool = False
    # Taps this on the day after each check-in.
    reacts: Reaction | None = None
    user: FakeUser | None = None
    taps: list[datetime] = field(default_factory=list)

    @property
    def id(self) -> int:
        assert self.user is not None
        return self.user.id


PEOPLE = [
    Person("quiet", frequency=ContactFrequency.MONTHLY),
    Person("unanswered", frequency=None),
    Person("weekly", frequency=ContactFrequency.WEEKLY),
    Person("active", active=True),
    Person("important_only", frequency=ContactFrequency.IMPORTANT_ONLY),
    Person("opted_out", opted_out=True),
    Person("paused", paused_until=PAUSED_UNTIL),
    Person("snoozer", reacts=Reaction.LATER),
    Person("fewer", reacts=Reaction.FEWER),
    Person("wakes_up"),
    Person("pauses_late"),
]


async def _sent_check_ins(app: Application, member_id: int) -> list[datetime]:
    async with app.session_pool() as session:
        rows = await session.scalars(
            select(CheckIn.sent_at)
            .where(CheckIn.member_id == member_id, CheckIn.sent_at.is_not(None))
            .order_by(CheckIn.sent_at)
        )
        return [moment for moment in rows if moment is not None]


async def _live(app: Application, people: dict[str, Person], day: int, now: datetime) -> None:
    """What members do before the job runs: the active one writes weekly, one wakes up."""
    async with app.session_pool() as session:
        writers = [person.id for person in PEOPLE if person.active and day % 7 == 0]
        if day == WAKES_UP:
            writers.append(people["wakes_up"].id)
        if writers:
            await session.execute(
                update(Member).where(Member.id.in_(writers)).values(last_seen_at=now)
            )
        await session.commit()


async def _pause(app: Application, person: Person, until: datetime) -> None:
    async with app.session_pool() as session:
        await session.execute(
            update(Member).where(Member.id == person.id).values(paused_until=until)
        )
        await session.commit()


async def _react(app: Application, now: datetime) -> None:
    """Those who react tap their button the day after a check-in arrived."""
    yesterday = now - DAY
    quarter = reengagement.quarter_of(yesterday, ZONE)
    async with app.session_pool() as session:
        for person in PEOPLE:
            if person.reacts is None:
                continue
            row = await reengagement.find(session, person.id, quarter)
            if row is not None and row.sent_at == yesterday and row.reaction is None:
                await reengagement.react(session, person.id, quarter, person.reacts, now=now)
                person.taps.append(now)
        await session.commit()


def _assert_caps(person: Person, sent: list[datetime]) -> None:
    """At most one per calendar quarter, never two within 91 days, none while paused, none
    within the snooze after a "Later"."""
    quarters = Counter(reengagement.quarter_of(moment, ZONE) for moment in sent)
    assert all(count == 1 for count in quarters.values()), person.key
    for earlier, later in itertools.pairwise(sent):
        assert later - earlier >= reengagement.QUARTER, person.key
    if person.paused_until is not None:
        assert all(moment >= person.paused_until for moment in sent), person.key
    if person.reacts == Reaction.LATER:
        for tap in person.taps:
            assert not [m for m in sent if tap < m < tap + reengagement.SNOOZE], person.key


async def test_a_year_of_check_ins_respects_every_cap(
    app: Application, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    people = {person.key: person for person in PEOPLE}
    async with app.session_pool() as session:
        for person in PEOPLE:
            person.user = fake_api.add_user(first_name=person.key)
            await add_member(
                session,
                person.user.id,
                now=START,
                frequency=person.frequency,
                opted_out=person.opted_out,
                paused_until=person.paused_until,
                name=person.key,
            )
        # Only the one who never reacts agreed to be called.
        await call_list.give_consent(session, people["unanswered"].id, "+49301234", now=START)
        await session.commit()
    ctx = app.job_context()
    lists = 0
    # Queued on day 0, then paused before the worker sends it: held back, recorded as paused.
    late_pause = START + 30 * DAY
    for day in range(DAYS):
        now = START + day * DAY
        await _live(app, people, day, now)
        await queue_check_ins(ctx, now=now)
        if day == 0:
            await _pause(app, people["pauses_late"], late_pause)
        local = now.astimezone(ZONE)
        if local.weekday() == 0 and local.day <= 7:
            lists += await queue_call_list(ctx, now=now)
        while await app.worker.run_once(now=now):
            pass
        await _react(app, now)

    got = {person.key: await _sent_check_ins(app, person.id) for person in PEOPLE}
    for person in PEOPLE:
        # What Telegram received is what check_ins say was sent.
        assert len(fake_api.sent_to(person.id)) == len(got[person.key]), person.key
        _assert_caps(person, got[person.key])

    # Quiet all year: one check-in a quarter, 91 days apart; 365 days from 4 January reach
    # into a fifth calendar quarter (the last on 3 January of the next year).
    for key in ("quiet", "unanswered", "weekly"):
        assert got[key] == [START + days * DAY for days in (0, 91, 182, 273, 364)], key
    # Never: active, important_only, opted out.
    assert got["active"] == []
    assert got["important_only"] == []
    assert got["opted_out"] == []
    # Paused for 200 days: the first after the pause, then at most one more in the year.
    assert got["paused"]
    assert got["paused"][0] >= PAUSED_UNTIL
    # "Fewer messages" after the first: never again.
    assert len(got["fewer"]) == 1
    # "Later" each time: the snooze spaces them at least as far as the quarter does.
    assert 2 <= len(got["snoozer"]) <= 4
    # Woke up on day 150: nothing for the quiet months after it.
    woke = START + WAKES_UP * DAY
    assert not [m for m in got["wakes_up"] if woke < m < woke + timedelta(days=181)]
    # The late pause: the first check-in was held back and recorded, not sent.
    assert all(moment >= late_pause for moment in got["pauses_late"])
    async with app.session_pool() as session:
        held = await session.scalar(
            select(Delivery).where(
                Delivery.recipient_id == people["pauses_late"].id,
                Delivery.status == DeliveryStatus.CANCELLED,
            )
        )
    assert held is not None
    assert held.last_error == "paused"
    # The monthly call list: the one who agreed and never reacted is on it, with the reason.
    assert 1 <= lists <= 12
    listed = [
        message
        for message in fake_api.sent_to(admin_user.id)
        if "+49301234" in (message.text or "")
    ]
    assert listed
    assert "Nachfrage am" in (listed[0].text or "")
