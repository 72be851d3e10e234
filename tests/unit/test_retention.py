"""Retention with a fixed clock: which outbox rows go and which stay, broadcasts keeping their
counts, the audit log's own retention, and the settings that keep dedupe keys meaningful."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import select

from bot.app import Application
from bot.db.session import SessionPool
from bot.services import action_results, audit, broadcasts, reminders, retention, shift_reminders
from bot.services.retention import MIN_RETENTION_DAYS, prune_deliveries
from bot.settings import Settings
from models import (
    AuditAction,
    AuditEntry,
    Broadcast,
    BroadcastStatus,
    Category,
    Delivery,
    DeliveryStatus,
    Member,
)

NOW = datetime(2026, 12, 1, 3, 30, tzinfo=UTC)
DAY = timedelta(days=1)


async def _row(
    pool: SessionPool,
    *,
    age: timedelta,
    status: DeliveryStatus,
    kind: str = "meeting_reminder",
    batch_id: int | None = None,
    error: str | None = None,
    key: str | None = None,
) -> int:
    moment = NOW - age
    async with pool() as session:
        row = Delivery(
            recipient_id=1,
            kind=kind,
            payload={},
            due_at=moment,
            created_at=moment,
            sent_at=moment if status is DeliveryStatus.SENT else None,
            status=status,
            attempts=1,
            last_error=error,
            batch_id=batch_id,
            dedupe_key=key,
        )
        session.add(row)
        await session.commit()
        return row.id


async def _left(pool: SessionPool) -> set[int]:
    async with pool() as session:
        return set(await session.scalars(select(Delivery.id)))


async def _prune(pool: SessionPool, now: datetime = NOW, days: int = 90) -> retention.Pruned:
    async with pool() as session:
        pruned = await prune_deliveries(session, now=now, days=days)
        await session.commit()
        return pruned


async def test_only_finished_rows_past_the_retention_go(app: Application) -> None:
    pool = app.session_pool
    kept = {
        await _row(pool, age=400 * DAY, status=DeliveryStatus.PENDING),
        await _row(pool, age=400 * DAY, status=DeliveryStatus.SENDING),
        await _row(pool, age=89 * DAY, status=DeliveryStatus.SENT),
        await _row(pool, age=89 * DAY, status=DeliveryStatus.CANCELLED, key="rem:1:2:60:1"),
    }
    gone = {
        await _row(pool, age=91 * DAY, status=status, key=f"k{index}")
        for index, status in enumerate(retention.FINAL)
    }
    assert await _left(pool) == kept | gone
    pruned = await _prune(pool)
    assert pruned == retention.Pruned(deliveries=len(gone), broadcasts=0)
    assert await _left(pool) == kept
    # A row retried late (sent only recently) stays until its sending is old enough too.
    late = await _row(pool, age=120 * DAY, status=DeliveryStatus.FAILED)
    async with pool() as session:
        row = await session.get(Delivery, late)
        assert row is not None
        row.due_at = NOW - 10 * DAY
        await session.commit()
    assert (await _prune(pool)).deliveries == 0
    assert late in await _left(pool)


async def _broadcast(pool: SessionPool) -> int:
    async with pool() as session:
        session.add(Member(id=1, reachable=True))
        row = Broadcast(
            author_id=1,
            source_chat_id=1,
            source_message_id=1,
            content_type="text",
            summary="Demo",
            category=Category.ANNOUNCEMENTS,
            audience={},
            scheduled_at=NOW - 200 * DAY,
            status=BroadcastStatus.DONE,
            started_at=NOW - 200 * DAY,
            finished_at=NOW - 199 * DAY,
            total=7,
        )
        session.add(row)
        await session.commit()
        return row.id


async def _figures(pool: SessionPool, broadcast_id: int) -> tuple[object, ...]:
    async with pool() as session:
        broadcast = await broadcasts.find(session, broadcast_id)
        progress = await broadcasts.progress(session, broadcast, NOW)
        reasons = await broadcasts.failure_reasons(session, broadcast_id)
        return (
            progress.total,
            progress.sent,
            progress.blocked,
            progress.failed,
            progress.cancelled,
            progress.open,
            reasons,
        )


async def test_a_broadcast_keeps_its_figures_when_rows_go_in_two_runs(app: Application) -> None:
    pool = app.session_pool
    broadcast_id = await _broadcast(pool)
    kind = broadcasts.BROADCAST_KIND
    for age, status, error in (
        (150 * DAY, DeliveryStatus.SENT, None),
        (150 * DAY, DeliveryStatus.SENT, None),
        (150 * DAY, DeliveryStatus.BLOCKED, broadcasts.UNREACHABLE),
        (150 * DAY, DeliveryStatus.FAILED, "chat not found"),
        (100 * DAY, DeliveryStatus.FAILED, "chat not found"),
        (100 * DAY, DeliveryStatus.FAILED, "user is deactivated"),
        (100 * DAY, DeliveryStatus.CANCELLED, None),
    ):
        await _row(pool, age=age, status=status, kind=kind, batch_id=broadcast_id, error=error)
    before = await _figures(pool, broadcast_id)
    assert before == (
        7,
        2,
        1,
        3,
        1,
        0,
        [("chat not found", 2), ("user is deactivated", 1)],
    )
    # First the older rows go (a retention of 120 days), then the rest (90).
    assert await _prune(pool, days=120) == retention.Pruned(deliveries=4, broadcasts=1)
    assert await _figures(pool, broadcast_id) == before
    assert await _prune(pool, days=90) == retention.Pruned(deliveries=3, broadcasts=1)
    assert await _left(pool) == set()
    assert await _figures(pool, broadcast_id) == before
    async with pool() as session:
        broadcast = await broadcasts.find(session, broadcast_id)
        assert broadcasts.pruned_unreached(broadcast) == 4
        assert broadcast.pruned_at == NOW
        assert await broadcasts.unreached(session, broadcast_id) == []
    # Nothing is counted twice by a later run.
    assert await _prune(pool, now=NOW + DAY) == retention.Pruned(deliveries=0, broadcasts=0)
    assert await _figures(pool, broadcast_id) == before


async def test_chunks_of_a_batch_add_up_to_the_same_figures(
    app: Application, monkeypatch: pytest.MonkeyPatch
) -> None:
    pool = app.session_pool
    broadcast_id = await _broadcast(pool)
    for index in range(7):
        status = (DeliveryStatus.SENT, DeliveryStatus.FAILED)[index % 2]
        await _row(
            pool,
            age=100 * DAY,
            status=status,
            kind=broadcasts.BROADCAST_KIND,
            batch_id=broadcast_id,
            error=f"reason {index % 3}" if status is DeliveryStatus.FAILED else None,
        )
    await _row(pool, age=100 * DAY, status=DeliveryStatus.SENT)  # a reminder: no broadcast
    before = await _figures(pool, broadcast_id)
    # The nightly job takes them three at a time, one transaction each.
    monkeypatch.setattr(retention, "CHUNK", 3)
    from jobs.housekeeping import prune_retention

    ctx = app.job_context()
    retained = await prune_retention(ctx, now=NOW)
    assert retained.deliveries == 8
    assert retained.broadcasts == 3  # the broadcast's counts grew in each of three chunks
    assert await _left(pool) == set()
    assert await _figures(pool, broadcast_id) == before


async def test_the_audit_log_keeps_its_retention(app: Application) -> None:
    async with app.session_pool() as session:
        for days in (364, 366):
            await audit.record(session, None, AuditAction.DIGEST, count=days, at=NOW - days * DAY)
        await session.commit()
    async with app.session_pool() as session:
        assert await audit.prune(session, now=NOW, days=365) == 1
        await session.commit()
    async with app.session_pool() as session:
        assert list(await session.scalars(select(AuditEntry.count))) == [364]


async def test_an_actor_without_a_members_row_is_recorded_as_none(app: Application) -> None:
    async with app.session_pool() as session:
        session.add(Member(id=5, reachable=True))
        await session.flush()
        await audit.record(session, 5, AuditAction.ROLE_LIST, count=2, at=NOW)
        await audit.record(session, 6, AuditAction.BROADCAST_SENT, count=3, subject="#1", at=NOW)
        await session.commit()
    async with app.session_pool() as session:
        rows = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.id)))
    assert [(row.actor_id, row.action) for row in rows] == [
        (5, "role_list"),
        (None, "broadcast_sent"),
    ]


def test_every_requeue_window_is_far_shorter_than_the_shortest_retention() -> None:
    """A job queues an occasion (and its dedupe key) only within a window around it; once a
    row is pruned (at least MIN_RETENTION_DAYS after it was due) that window is long past."""
    fields = Settings.model_fields

    def most(name: str) -> float:
        [limit] = [item.le for item in fields[name].metadata if hasattr(item, "le")]
        return float(limit)

    windows = {
        "memorial grace": timedelta(hours=most("memorial_grace_hours")),
        "shortfall": timedelta(hours=most("shortfall_hours")),
        "shift emptied": timedelta(hours=most("shift_emptied_hours")),
        "meeting reminder": reminders.MAX_OFFSET,
        "shift reminder": shift_reminders.MAX_AHEAD,
        "result prompt": action_results.PROMPT_WINDOW,
    }
    longest = max(windows.values())
    assert longest <= timedelta(days=14)
    assert longest * 2 < timedelta(days=MIN_RETENTION_DAYS)
    minimum = [
        item.ge for item in fields["delivery_retention_days"].metadata if hasattr(item, "ge")
    ]
    assert minimum == [MIN_RETENTION_DAYS]


def test_retention_settings_are_checked() -> None:
    base = {"bot_token": "123456:" + "A" * 35}
    settings = Settings(**base)  # type: ignore[arg-type]
    assert (settings.delivery_retention_days, settings.audit_retention_days) == (90, 365)
    with pytest.raises(ValidationError):
        Settings(**base, delivery_retention_days=29)  # type: ignore[arg-type]
    with pytest.raises(ValidationError):
        Settings(**base, audit_retention_days=10)  # type: ignore[arg-type]
