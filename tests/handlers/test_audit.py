"""The audit log through the real handlers, /protokoll, and broadcasts' figures after their
outbox rows are pruned (a fixed clock: 89 and 91 days later)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from bot.app import Application
from bot.telegram.callbacks import AuditCallback, BroadcastAction, BroadcastCallback
from jobs.broadcasts import run_broadcasts
from jobs.housekeeping import prune_retention
from models import AuditAction, AuditEntry, Delivery, Member, Role
from models.base import utcnow
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeUser, SentMessage
from tests.handlers.test_broadcast import (  # noqa: F401 (fixtures)
    _broadcasts,
    _button,
    _compose,
    _drain,
    _press,
    kv,
    people,
)
from tests.members import signed_up


@dataclass(frozen=True)
class Row:
    """An audit entry as the tests compare it."""

    actor: int | None
    action: str
    count: int
    subject: str | None


async def _log(app: Application) -> list[Row]:
    async with app.session_pool() as session:
        rows = await session.scalars(select(AuditEntry).order_by(AuditEntry.id))
        return [Row(row.actor_id, row.action, row.count, row.subject) for row in rows]


async def _rows_of(app: Application, broadcast_id: int) -> int:
    async with app.session_pool() as session:
        return int(
            await session.scalar(
                select(func.count()).select_from(Delivery).where(Delivery.batch_id == broadcast_id)
            )
            or 0
        )


def _bc(action: BroadcastAction, broadcast_id: int) -> str:
    return BroadcastCallback(action=action, value=broadcast_id).pack()


# --- broadcasts: every step that writes to members or lists them is recorded -------------------


async def test_broadcast_actions_are_recorded(
    driver: BotDriver,
    app: Application,
    admin_user: FakeUser,
    people: dict[str, FakeUser],  # noqa: F811 (fixture)
) -> None:
    panel = await _compose(driver, admin_user)
    await _press(driver, admin_user, panel, "Jetzt senden", "Ja, senden")
    # Anna, Ben, Cem and Emil (blocked) are addressed; Dora opted out, Fritz never agreed.
    assert await _log(app) == [Row(admin_user.id, AuditAction.BROADCAST_SENT, 4, "#1")]
    await _drain(app)
    await run_broadcasts(app.job_context())
    report = [m for m in (await _sent(driver, admin_user)) if "ist fertig" in (m.text or "")][-1]
    await driver.press(admin_user, report, _button(report, "Wer wurde nicht erreicht?"))
    assert (await _log(app))[-1] == Row(admin_user.id, AuditAction.UNREACHED_LIST, 1, "#1")

    # Scheduled: recorded when planned (with its reach then) and again when it goes out.
    panel = await _compose(driver, admin_user, "Später")
    await _press(driver, admin_user, panel, "Planen")
    [confirm] = await driver.send(admin_user, "24.12. 18:00")
    await _press(driver, admin_user, confirm, "Ja, senden")
    assert (await _log(app))[-1] == Row(admin_user.id, AuditAction.BROADCAST_SCHEDULED, 3, "#2")
    [_first, second] = await _broadcasts(app)
    await run_broadcasts(app.job_context(), now=second.scheduled_at)
    assert (await _log(app))[-1] == Row(admin_user.id, AuditAction.BROADCAST_SENT, 4, "#2")

    # Stopped: recorded with how many it was addressed to.
    [ask] = await driver.press(admin_user, panel, _bc(BroadcastAction.STOP, 2))
    await _press(driver, admin_user, ask, "Ja, stoppen")
    assert (await _log(app))[-1] == Row(admin_user.id, AuditAction.BROADCAST_CANCELLED, 4, "#2")
    # A repeated confirmation stops nothing and records nothing.
    entries = len(await _log(app))
    await driver.press(admin_user, ask, _bc(BroadcastAction.STOP_CONFIRMED, 2))
    assert len(await _log(app)) == entries


async def _sent(driver: BotDriver, user: FakeUser) -> list[SentMessage]:
    return driver.server.sent_to(user.id)


async def test_members_refused_a_broadcast_leave_no_entry(
    driver: BotDriver,
    app: Application,
    fake_api: FakeBotAPI,
    people: dict[str, FakeUser],  # noqa: F811 (fixture)
) -> None:
    [refusal] = await driver.send(people["Anna"], "/rundschreiben")
    assert "Organisator" in (refusal.text or "")
    assert await _log(app) == []


# --- pruning keeps a broadcast's figures ---------------------------------------------------------


async def test_the_report_shows_the_same_figures_after_pruning(
    driver: BotDriver,
    app: Application,
    admin_user: FakeUser,
    people: dict[str, FakeUser],  # noqa: F811 (fixture)
    fake_api: FakeBotAPI,
) -> None:
    panel = await _compose(driver, admin_user)
    await _press(driver, admin_user, panel, "Jetzt senden")
    fake_api.block(people["Anna"].id)
    ben = people["Ben"].id
    fake_api.fail("copyMessage", status=400, description="Bad Request: chat not found", chat_id=ben)
    await _press(driver, admin_user, panel, "Ja, senden")
    await _drain(app)
    await run_broadcasts(app.job_context())
    [broadcast] = await _broadcasts(app)
    assert broadcast.finished_at is not None
    [before] = await driver.press(admin_user, panel, _bc(BroadcastAction.REPORT, broadcast.id))
    assert "Zugestellt: 1 von 4" in (before.text or "")
    assert "Fehlgeschlagen: 1" in (before.text or "")
    [who_before] = await driver.press(admin_user, panel, _bc(BroadcastAction.WHO, broadcast.id))
    assert "Ben" in (who_before.text or "")
    ctx = app.job_context()
    start = _latest(broadcast.finished_at, utcnow())

    kept = await prune_retention(ctx, now=start + timedelta(days=89))
    assert kept.deliveries == 0
    assert await _rows_of(app, broadcast.id) == 4

    gone = await prune_retention(ctx, now=start + timedelta(days=91))
    assert (gone.deliveries, gone.broadcasts) == (4, 1)
    assert await _rows_of(app, broadcast.id) == 0
    [after] = await driver.press(admin_user, panel, _bc(BroadcastAction.REPORT, broadcast.id))
    assert after.text == before.text
    # The names went with the rows: the list says so and counts them.
    [who_after] = await driver.press(admin_user, panel, _bc(BroadcastAction.WHO, broadcast.id))
    assert who_after.text == (
        "3 nicht erreichte Mitglieder sind nicht mehr aufgeführt: Wer welche Nachricht bekommen "
        "hat, wird nach einer Weile gelöscht, nur die Zahlen bleiben."
    )
    # A second run finds nothing more and counts nothing twice.
    again = await prune_retention(ctx, now=start + timedelta(days=92))
    assert again.deliveries == 0
    [still] = await driver.press(admin_user, panel, _bc(BroadcastAction.REPORT, broadcast.id))
    assert still.text == before.text


def _latest(*moments: datetime) -> datetime:
    return max(moments)


# --- roles ------------------------------------------------------------------------------------


async def test_role_lookup_list_and_change_are_recorded(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    anna = fake_api.add_user(first_name="Anna", username="anna_k", language_code="de")
    await signed_up(app.session_pool, anna)
    [panel] = await driver.send(admin_user, f"/rolle {anna.id}")
    assert await _log(app) == [Row(admin_user.id, AuditAction.MEMBER_LOOKUP, 1, None)]
    grant = next(data for text, data in panel.buttons if text.endswith("Gastgeber:in"))
    await driver.press(admin_user, panel, grant)
    await driver.press(admin_user, panel, grant)  # stale: nothing changes, nothing recorded
    await driver.send(admin_user, "/rollen")
    assert (await _log(app))[1:] == [
        Row(admin_user.id, AuditAction.ROLE_CHANGE, 1, "host granted"),
        Row(admin_user.id, AuditAction.ROLE_LIST, 2, None),  # Anna and the admin
    ]
    # Someone unknown looked up: nothing shown, nothing recorded.
    await driver.send(admin_user, "/rolle @nobody_here")
    assert len(await _log(app)) == 3


# --- /protokoll -------------------------------------------------------------------------------


async def _fill(app: Application, actor: int, entries: int, start: datetime) -> None:
    async with app.session_pool() as session:
        for index in range(entries):
            session.add(
                AuditEntry(
                    actor_id=actor if index % 2 else None,
                    action=(AuditAction.ATTENDEE_LIST if index % 2 else AuditAction.DIGEST).value,
                    subject=f"Stammtisch <Mitte> #{index}",
                    count=index,
                    at=start + timedelta(minutes=index),
                )
            )
        await session.commit()


async def test_protokoll_pages_newest_first_for_admins(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    await driver.send(admin_user, "/hilfe")  # the admin is a member (a name to show)
    [empty] = await driver.send(admin_user, "/protokoll")
    assert empty.text == "Das Protokoll ist leer."
    # 20 Dec 2026 10:00 UTC is 11:00 in Berlin.
    await _fill(app, admin_user.id, 20, datetime(2026, 12, 20, 10, 0, tzinfo=utcnow().tzinfo))
    [page] = await driver.send(admin_user, "/protokoll")
    lines = (page.text or "").splitlines()
    assert lines[0] == "Protokoll (Seite 1 von 2, neueste zuerst):"
    assert len(lines) == 16
    # The newest first: #19, at 11:19 local, by the admin; the subject escaped.
    assert lines[1].startswith("20.12.2026 11:19 · ")
    assert lines[1] == (
        "20.12.2026 11:19 · Ada (ID 1000) · Liste, wer zu einem Treffen kommt"
        " · Stammtisch <Mitte> #19 · 19 Mitglieder"
    )
    assert "der Bot · Übersicht der Neuen an die Organisator:innen" in lines[2]
    assert [label for label, _data in page.buttons] == ["Ältere »"]

    await driver.press(admin_user, page, AuditCallback(page=1).pack())
    lines = (page.text or "").splitlines()
    assert lines[0] == "Protokoll (Seite 2 von 2, neueste zuerst):"
    assert len(lines) == 6
    assert lines[-1].startswith("20.12.2026 11:00 · der Bot")
    assert "0 Mitglieder" in lines[-1]
    assert [label for label, _data in page.buttons] == ["« Neuere"]

    # A page beyond the end (the log was pruned meanwhile, or a forged number): the last one.
    await driver.press(admin_user, page, AuditCallback(page=7).pack())
    assert driver.last_answer()["text"] == (
        "Das Protokoll ist inzwischen kürzer; hier ist seine letzte Seite."
    )
    assert (page.text or "").startswith("Protokoll (Seite 2 von 2")
    # Reading the log is not itself recorded.
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(AuditEntry)) == 20


async def test_protokoll_in_english_and_refused_to_others(
    driver: BotDriver, app: Application, fake_api: FakeBotAPI, admin_user: FakeUser
) -> None:
    organiser = fake_api.add_user(first_name="Olga", language_code="en")
    await signed_up(app.session_pool, organiser, role=Role.ORGANISER)
    await _fill(app, organiser.id, 2, datetime(2026, 7, 1, 10, 0, tzinfo=UTC))
    [refusal] = await driver.send(organiser, "/auditlog")
    assert refusal.text == "Sorry, only admins can do that."
    await driver.press(organiser, refusal, AuditCallback(page=0).pack())
    assert driver.last_answer() == {
        "callback_query_id": driver.last_answer()["callback_query_id"],
        "text": "Sorry, only admins can do that.",
        "show_alert": True,
    }
    # The admin reads it in English (summer time: 10:00 UTC is 12:00 in Berlin).
    await driver.send(admin_user, "/hilfe")
    async with app.session_pool() as session:
        admin = await session.get(Member, admin_user.id)
        assert admin is not None
        admin.language = "en"
        await session.commit()
    [page] = await driver.send(admin_user, "/auditlog")
    assert (page.text or "").splitlines() == [
        "Audit log (page 1 of 1, newest first):",
        f"1 Jul 2026 12:01 · Olga (ID {organiser.id}) · list of who comes to a meeting"
        " · Stammtisch <Mitte> #1 · 1 member",
        "1 Jul 2026 12:00 · the bot · newcomer digest to organisers"
        " · Stammtisch <Mitte> #0 · 0 members",
    ]
    assert page.buttons == []
