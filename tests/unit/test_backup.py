"""`mitmachbot backup` and `restore`: a consistent SQLite copy while the outbox writes, and a
restore that checks what it is given, keeps the old database and migrates an older backup."""

from __future__ import annotations

import asyncio
import io
import logging
import sqlite3
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from sqlalchemy import func, select

from bot.cli import main
from bot.db import backup, migrations
from bot.db.engine import create_engine
from bot.db.session import create_session_pool
from bot.services import delivery
from models import Delivery, DeliveryStatus

HEAD = ScriptDirectory.from_config(migrations.alembic_config()).get_current_head()
BATCH = 25  # rows per transaction: a copy holds whole batches or none of one


def _url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


async def _migrate(path: Path, revision: str = "head") -> None:
    engine = create_engine(_url(path))
    try:
        await migrations.upgrade(engine, revision)
    finally:
        await engine.dispose()


async def _batches(path: Path) -> dict[int, int]:
    """Rows per batch id in the outbox."""
    engine = create_engine(_url(path))
    try:
        async with create_session_pool(engine)() as session:
            rows = await session.execute(
                select(Delivery.batch_id, func.count()).group_by(Delivery.batch_id)
            )
            return dict(rows.all())
    finally:
        await engine.dispose()


def _revision(path: Path) -> str:
    with sqlite3.connect(path) as connection:
        return connection.execute("SELECT version_num FROM alembic_version").fetchone()[0]


class Writer:
    """A loop of outbox writes, as a broadcast makes them: each transaction queues a batch and
    marks the previous one sent. Counts its commits for the backup's step hook to wait on."""

    def __init__(self, path: Path) -> None:
        self.engine = create_engine(_url(path))
        self.pool = create_session_pool(self.engine)
        self.commits = 0
        self.changed = threading.Condition()
        self.stop = asyncio.Event()
        self.next_batch = 1

    async def write_batch(self) -> None:
        """One transaction: a new batch of PENDING rows, the previous batch marked sent."""
        now = datetime.now(UTC)
        async with self.pool() as session:
            rows = delivery.enqueue(
                session,
                range(1000 * self.next_batch, 1000 * self.next_batch + BATCH),
                kind="broadcast",
                payload={"broadcast_id": self.next_batch, "padding": "x" * 200},
                due_at=now,
                batch_id=self.next_batch,
            )
            await session.flush()
            previous = await session.scalars(
                select(Delivery.id).where(Delivery.batch_id == self.next_batch - 1)
            )
            await delivery.mark_sent(session, list(previous), now=now)
            await session.commit()
            assert len(rows) == BATCH
        self.next_batch += 1
        with self.changed:
            self.commits += 1
            self.changed.notify_all()

    async def run(self) -> None:
        while not self.stop.is_set():
            await self.write_batch()
            await asyncio.sleep(0)

    def wait_for_commit(self, after: int) -> None:
        """Block (the backup's thread) until a commit later than `after` happened."""
        with self.changed:
            assert self.changed.wait_for(lambda: self.commits > after, timeout=30)


async def test_backup_while_the_outbox_writes_then_restore(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = tmp_path / "live.db"
    await _migrate(live)
    writer = Writer(live)
    # Enough rows for the copy to take many steps.
    for _ in range(40):
        await writer.write_batch()
    # Small steps: many chances for the writer to commit between them.
    monkeypatch.setattr(backup, "PAGES_PER_STEP", 8)
    steps: list[int] = []

    def on_step(remaining: int, total: int) -> None:
        # Each step waits until the bot committed again: the copy surely spans writes.
        steps.append(remaining)
        writer.wait_for_commit(writer.commits)

    task = asyncio.create_task(writer.run())
    try:
        before = writer.commits
        target = tmp_path / "backups" / "copy.db"
        report = await asyncio.to_thread(
            backup.backup_sqlite, live, target, busy_timeout=30, on_step=on_step
        )
        during = writer.commits - before
    finally:
        writer.stop.set()
        await task
        await writer.engine.dispose()

    assert len(steps) > 5
    assert during >= len(steps)  # the writer was never blocked by the copy
    assert report.path == target
    assert report.revision == HEAD
    assert report.size == target.stat().st_size > 0
    # A single file: no -wal beside it.
    assert not target.with_name(target.name + "-wal").exists()

    restored = tmp_path / "fresh" / "restored.db"
    assert backup.restore_sqlite(target, restored, busy_timeout=30) is None
    assert backup.verify(restored).revision == HEAD
    with sqlite3.connect(restored) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    copied = await _batches(restored)
    live_batches = await _batches(live)
    # A snapshot: whole batches only, numbered without a gap, taken while the writer wrote.
    assert set(copied.values()) == {BATCH}
    assert sorted(copied) == list(range(1, len(copied) + 1))
    assert before <= len(copied) < len(live_batches)
    # The previous batch of each is marked sent in the same transaction: consistent too.
    engine = create_engine(_url(restored))
    try:
        async with create_session_pool(engine)() as session:
            pending = await session.scalars(
                select(Delivery.batch_id)
                .where(Delivery.status == DeliveryStatus.PENDING)
                .distinct()
            )
            assert list(pending) == [len(copied)]
    finally:
        await engine.dispose()


@pytest.fixture
def cli_sqlite(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Path]:
    """`main` on a SQLite file under tmp_path/data, without BOT_TOKEN."""
    database = tmp_path / "data" / "mitmachbot.db"
    database.parent.mkdir()
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_URL", _url(database))
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield database
    root.handlers[:] = handlers
    root.setLevel(level)


def test_backup_command_writes_a_verified_copy_under_backups(
    cli_sqlite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_migrate(cli_sqlite))
    assert main(["backup"]) == 0
    out = capsys.readouterr().out
    made = list((cli_sqlite.parent / "backups").glob("mitmachbot-*.db"))
    assert len(made) == 1
    assert f"written to {made[0]} (" in out
    assert f"schema revision {HEAD}, integrity check ok" in out
    # A given FILE; an existing one is not overwritten.
    assert main(["backup", "mine.db"]) == 0
    assert backup.verify(Path("mine.db")).revision == HEAD
    capsys.readouterr()
    assert main(["backup", "mine.db"]) == 1
    assert "mine.db exists already" in capsys.readouterr().err


def test_backup_of_a_missing_or_foreign_file_fails_with_one_line(
    cli_sqlite: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["backup", "x.db"]) == 1
    assert capsys.readouterr().err.strip() == f"{cli_sqlite}: no such file"
    cli_sqlite.write_text("not a database")
    assert main(["backup", "x.db"]) == 1
    assert capsys.readouterr().err.strip() == f"{cli_sqlite}: not a SQLite database"
    assert not Path("x.db").exists()


def test_restore_keeps_the_old_database_and_migrates_an_older_backup(
    cli_sqlite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    old = tmp_path / "old.db"
    asyncio.run(_migrate(old, "0009"))
    asyncio.run(_migrate(cli_sqlite))
    with sqlite3.connect(cli_sqlite) as connection:
        connection.execute(
            "INSERT INTO deliveries (recipient_id, kind, payload, due_at, status, attempts, "
            "created_at) VALUES (1, 'x', '{}', '2026-01-01', 'sent', 0, '2026-01-01')"
        )
    assert main(["restore", str(old), "--yes"]) == 0
    out = capsys.readouterr().out
    assert f"restored {old} into {cli_sqlite} (schema revision 0009)" in out
    assert f"migrated from revision 0009 to {HEAD}" in out
    assert _revision(cli_sqlite) == HEAD
    kept = list(cli_sqlite.parent.glob("mitmachbot.db.before-restore-*"))
    assert len(kept) == 1
    assert f"the previous database is kept as {kept[0]}" in out
    with sqlite3.connect(kept[0]) as connection:
        assert connection.execute("SELECT count(*) FROM deliveries").fetchone() == (1,)
    with sqlite3.connect(cli_sqlite) as connection:
        assert connection.execute("SELECT count(*) FROM deliveries").fetchone() == (0,)


def test_restore_refuses_what_is_not_a_restorable_mitmachbot_database(
    cli_sqlite: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(_migrate(cli_sqlite))
    original = cli_sqlite.read_bytes()
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello")
    other = tmp_path / "other.db"
    with sqlite3.connect(other) as connection:
        connection.execute("CREATE TABLE t (x)")
    newer = tmp_path / "newer.db"
    asyncio.run(_migrate(newer))
    with sqlite3.connect(newer) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999'")
    cases = {
        tmp_path / "missing.db": "no such file",
        text_file: "not a SQLite database",
        other: "not a Mitmachbot database (no alembic_version)",
        newer: "schema revision 9999 is unknown to this version of Mitmachbot",
    }
    for path, reason in cases.items():
        assert main(["restore", str(path), "--yes"]) == 1
        err = capsys.readouterr().err
        assert reason in err
        assert len(err.strip().splitlines()) == 1
    assert cli_sqlite.read_bytes() == original
    assert not list(cli_sqlite.parent.glob("*.before-restore-*"))


def test_restore_asks_first(
    cli_sqlite: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    asyncio.run(_migrate(cli_sqlite))
    copy = tmp_path / "copy.db"
    backup.backup_sqlite(cli_sqlite, copy, busy_timeout=5)
    # No terminal: only --yes restores.
    monkeypatch.setattr("sys.stdin", io.StringIO(""))
    assert main(["restore", str(copy)]) == 1
    assert "then run `mitmachbot restore" in capsys.readouterr().err

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    monkeypatch.setattr("sys.stdin", Terminal("n\n"))
    assert main(["restore", str(copy)]) == 1
    assert "nothing was restored" in capsys.readouterr().err
    assert not list(cli_sqlite.parent.glob("*.before-restore-*"))
    monkeypatch.setattr("sys.stdin", Terminal("ja\n"))
    assert main(["restore", str(copy)]) == 0
    assert len(list(cli_sqlite.parent.glob("*.before-restore-*"))) == 1


def test_postgresql_gets_the_pg_dump_line_without_the_password(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BOT_TOKEN", raising=False)
    monkeypatch.setenv("DATABASE_URL", "postgresql+asyncpg://kv:s3cret@db.example:5433/mitmachbot")
    monkeypatch.chdir(tmp_path)
    assert main(["backup", "kv.dump"]) == 0
    out = capsys.readouterr().out
    assert (
        "  pg_dump --format=custom --no-owner --host=db.example --port=5433 --username=kv "
        "--file=kv.dump mitmachbot\n"
    ) in out
    assert "PGPASSWORD" in out
    assert "pg_restore --clean --if-exists --no-owner" in out
    assert main(["restore", "kv.dump"]) == 0
    out += capsys.readouterr().out
    assert "--dbname=mitmachbot kv.dump" in out
    assert "s3cret" not in out
    assert not list(tmp_path.iterdir())
