"""RSVP presses on one meeting from many members at once, through the whole bot.

    .venv/bin/python -m bench.rsvp                      # SQLite, 500 members, 100 places
    .venv/bin/python -m bench.rsvp --database postgresql+asyncpg://postgres@127.0.0.1/test

The real application polls a local fake Bot API server (tests.fakebotapi) in this process, over
HTTP, as bench.updates does. Each member first opens the meeting's card (/termine, then the
date's button: this also warms the bot up); then all of them press "yes" on their card at once.

Figures: whether the meeting was overbooked (confirmed places against the capacity, read from
the database), confirmed and waiting counts, and whether the waiting list is complete and in
order; p50/p95/p99 latency from "press queued" to the bot's answer to the press
(answerCallbackQuery, the toast the member sees); throughput in presses answered per second.
The bot and the fake server share this process's CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
from datetime import timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from bench.updates import _database
from bot.app import build_application, run_polling
from bot.db.engine import create_engine
from bot.db.session import create_session_pool
from bot.services import schedule
from bot.services.kv_setup import apply_setup, load_setup
from bot.settings import Settings
from models import Attendance, RsvpAnswer
from models.base import utcnow
from tests.fakebotapi import FakeBotAPI, SentMessage
from tests.members import signed_up

SETUP = """
name: KV Bench
groups:
  - key: stammtisch
    name: Stammtisch Mitte
    type: stammtisch
    meets: every Thursday 19:00
"""


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * share))]


async def _prepare(url: str, capacity: int) -> int:
    """The KV and its meetings; the first meeting gets the capacity."""
    engine = create_engine(url)
    try:
        pool = create_session_pool(engine)
        async with pool() as session:
            await apply_setup(session, load_setup(SETUP))
            await session.commit()
        async with pool() as session:
            now = utcnow()
            await schedule.extend_horizon(session, now=now, zone=ZoneInfo("Europe/Berlin"))
            [meeting, *_] = await schedule.upcoming(session, now=now, until=now + timedelta(days=8))
            await schedule.set_capacity(session, meeting.id, capacity, now=now)
            await session.commit()
        return meeting.id
    finally:
        await engine.dispose()


async def _run(url: str, *, members: int, capacity: int) -> dict[str, float]:
    meeting_id = await _prepare(url, capacity)
    async with FakeBotAPI() as server:
        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            bot_token=server.token,
            telegram_api_url=server.api_url,
            database_url=url,
            log_level="WARNING",
            # No web server: it would need a free port, and the bench measures answers.
            webhook_listen="",
        )
        people = [server.add_user(first_name=f"M{i}", language_code="de") for i in range(members)]
        app = await build_application(settings, migrate=False)
        for person in people:
            await signed_up(app.session_pool, person)
        task = asyncio.create_task(run_polling(app, handle_signals=False))
        try:
            await server.wait_until(lambda: server.long_polls_waiting > 0, timeout=30)
            # Every member opens the card: the list, then the date's button.
            for person in people:
                await person.send_message("/termine")
            await server.wait_until(
                lambda: all(server.sent_to(p.id) for p in people), timeout=members / 5 + 30
            )
            for person in people:
                dates = server.sent_to(person.id)[0]
                await person.press(dates, dates.buttons[0][1], must_exist=True)
            await server.wait_until(
                lambda: all(len(server.sent_to(p.id)) >= 2 for p in people),
                timeout=members / 5 + 30,
            )
            cards: list[SentMessage] = [server.sent_to(p.id)[1] for p in people]
            yes = f"rv1:y:{meeting_id}:0"
            answered_before = len(server.callback_answers)

            # All at once: every press is queued before the bot gets the first one.
            queued: dict[str, float] = {}
            started = time.monotonic()
            for person, card in zip(people, cards, strict=True):
                update = await person.press(card, yes, must_exist=True)
                queued[update["callback_query"]["id"]] = time.monotonic()
            await server.wait_until(
                lambda: len(server.callback_answers) - answered_before >= members,
                timeout=members / 2 + 60,
            )
            answered = {
                request.params["callback_query_id"]: request.at
                for request in server.requests
                if request.method == "answerCallbackQuery"
                and request.params.get("callback_query_id") in queued
            }
            elapsed = max(answered.values()) - started
            latencies = [(answered[query] - at) * 1000 for query, at in queued.items()]
            server.assert_no_violations()
        finally:
            await app.dispatcher.stop_polling()
            await task
            async with app.session_pool() as session:
                rows = list(
                    await session.execute(
                        select(Attendance.waitlisted, func.count(), func.sum(1 + Attendance.guests))
                        .where(
                            Attendance.meeting_id == meeting_id,
                            Attendance.answer == RsvpAnswer.YES,
                        )
                        .group_by(Attendance.waitlisted)
                    )
                )
                order = list(
                    await session.scalars(
                        select(Attendance.member_id)
                        .where(Attendance.meeting_id == meeting_id, Attendance.waitlisted)
                        .order_by(Attendance.queued_at, Attendance.member_id)
                    )
                )
            await app.close()
    tally = {bool(waiting): (int(count), int(seats or 0)) for waiting, count, seats in rows}
    confirmed, seats = tally.get(False, (0, 0))
    waiting = tally.get(True, (0, 0))[0]
    return {
        "confirmed": confirmed,
        "seats": seats,
        "waiting": waiting,
        "ordered": float(len(set(order)) == waiting),
        "answered": len(answered),
        "p50": statistics.median(latencies),
        "p95": _percentile(latencies, 0.95),
        "p99": _percentile(latencies, 0.99),
        "max": max(latencies),
        "rate": len(answered) / elapsed,
    }


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=500)
    parser.add_argument("--capacity", type=int, default=100)
    parser.add_argument("--database", default=None, help="PostgreSQL URL (default: SQLite)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)
    backend = "PostgreSQL" if args.database else "SQLite"
    async with _database(args.database) as url:
        figures = await _run(url, members=args.members, capacity=args.capacity)
    overbooked = figures["seats"] > args.capacity
    print(
        f"rsvp on {backend}: {args.members} members press yes at once on one meeting with "
        f"{args.capacity} places (the whole bot, polling the fake Bot API over HTTP)"
    )
    print(
        f"  overbooked: {'YES' if overbooked else 'no'} ({figures['seats']:.0f} of "
        f"{args.capacity} places taken)  confirmed {figures['confirmed']:.0f}  "
        f"waiting {figures['waiting']:.0f}  "
        f"waiting list in order: {'yes' if figures['ordered'] else 'NO'}"
    )
    print(
        f"  answer latency  p50 {figures['p50']:7.1f} ms  p95 {figures['p95']:7.1f} ms  "
        f"p99 {figures['p99']:7.1f} ms  max {figures['max']:7.1f} ms"
    )
    print(f"  throughput {figures['rate']:7.1f} presses/s ({figures['answered']:.0f} answered)")
    if overbooked or figures["confirmed"] + figures["waiting"] != args.members:
        raise SystemExit("the meeting was overbooked or answers were lost")


if __name__ == "__main__":
    asyncio.run(main())
