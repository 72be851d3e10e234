"""Backups of the SQLite database while the bot runs, restoring one, and the pg_dump line.

A plain copy of a SQLite file in WAL mode is not safe: committed pages may still sit in the
-wal file, and a copy taken while a checkpoint writes them back mixes two states. SQLite's
online backup API copies through SQLite itself. The copy here runs inside one read transaction
on the source: in WAL mode that is a snapshot which writers don't wait for (the bot keeps
writing), and since the snapshot doesn't change between the backup's steps, another process's
commits don't make SQLite restart the copy from the first page.
"""

from __future__ import annotations

import shlex
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy.engine import make_url

# Pages copied per step (4 KiB each by default): each step is short, and the progress callback
# between steps lets the event loop of an embedding process (and the tests) run.
PAGES_PER_STEP = 256
SQLITE_HEADER = b"SQLite format 3\x00"


class BackupError(Exception):
    """A backup or restore can't be made; the message is the one line shown."""


@dataclass(frozen=True)
class CopyReport:
    """What a verified copy holds."""

    path: Path
    size: int
    revision: str | None
    tables: int


def default_backup_path(database: Path, now: datetime | None = None) -> Path:
    """backups/mitmachbot-<UTC time>.db next to the database (data/backups/ by default).

    Next to the database, so that in Docker the copy lands on the data volume.
    """
    stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%SZ")
    return database.parent / "backups" / f"{database.stem}-{stamp}.db"


def default_dump_name(now: datetime | None = None) -> str:
    """mitmachbot-<UTC time>.dump, for pg_dump's custom format."""
    return f"mitmachbot-{(now or datetime.now(UTC)).strftime('%Y%m%d-%H%M%SZ')}.dump"


def _connect(path: Path, *, busy_timeout: float) -> sqlite3.Connection:
    # Read-write even where only read: a read-only connection can't open a WAL-mode file whose
    # -shm is missing. Callers check first that the file exists, so nothing is created.
    connection = sqlite3.connect(path, timeout=busy_timeout)
    # Transactions are begun here explicitly, not by the driver.
    connection.isolation_level = None
    return connection


def _check_is_sqlite(path: Path) -> None:
    if not path.is_file():
        raise BackupError(f"{path}: no such file")
    try:
        with path.open("rb") as file:
            header = file.read(len(SQLITE_HEADER))
    except OSError as exc:
        raise BackupError(f"{path}: cannot read: {exc.strerror or exc}") from None
    if header != SQLITE_HEADER:
        raise BackupError(f"{path}: not a SQLite database")


def _copy(
    source: sqlite3.Connection,
    target: sqlite3.Connection,
    *,
    on_step: Callable[[int, int], None] | None,
) -> None:
    def progress(_status: int, remaining: int, total: int) -> None:
        if on_step is not None:
            on_step(remaining, total)

    # One read transaction around all steps: a consistent snapshot (see the module docstring).
    source.execute("BEGIN")
    try:
        source.execute("SELECT count(*) FROM sqlite_master").fetchone()
        source.backup(target, pages=PAGES_PER_STEP, progress=progress)
    finally:
        source.execute("ROLLBACK")


def verify(path: Path) -> CopyReport:
    """Open the file: integrity_check must say ok; what revision and how many tables.

    Raises BackupError when the file is no SQLite database or is damaged.
    """
    _check_is_sqlite(path)
    try:
        connection = _connect(path, busy_timeout=5.0)
        try:
            result = [row[0] for row in connection.execute("PRAGMA integrity_check")]
            tables = {
                row[0]
                for row in connection.execute("SELECT name FROM sqlite_master WHERE type='table'")
            }
            revision = None
            if "alembic_version" in tables:
                row = connection.execute("SELECT version_num FROM alembic_version").fetchone()
                revision = row[0] if row else None
        finally:
            connection.close()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{path}: {exc}") from None
    if result != ["ok"]:
        raise BackupError(f"{path}: integrity check failed: {'; '.join(result[:3])}")
    return CopyReport(path=path, size=path.stat().st_size, revision=revision, tables=len(tables))


def backup_sqlite(
    database: Path,
    target: Path,
    *,
    busy_timeout: float,
    on_step: Callable[[int, int], None] | None = None,
) -> CopyReport:
    """Copy the live database to `target` with SQLite's online backup API and verify the copy.

    The copy is written beside the target and renamed into place only once integrity_check
    passed, so `target` is either a good backup or absent. It is a single file (journal mode
    DELETE), whatever mode the live database runs in. `busy_timeout` (seconds) is how long
    opening the snapshot may wait for a lock. `on_step(remaining, total)` is called after each
    step (pages).
    """
    _check_is_sqlite(database)
    if target.exists() and not target.is_file():
        raise BackupError(f"{target}: is a folder, not a file")
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        reason = exc.strerror or exc
        raise BackupError(f"cannot create the folder {target.parent}: {reason}") from None
    partial = target.with_name(f".{target.name}.partial")
    partial.unlink(missing_ok=True)
    try:
        source = _connect(database, busy_timeout=busy_timeout)
        try:
            copy = _connect(partial, busy_timeout=busy_timeout)
            try:
                _copy(source, copy, on_step=on_step)
                copy.execute("PRAGMA journal_mode=DELETE")
            finally:
                copy.close()
        finally:
            source.close()
        verify(partial)
        partial.replace(target)
    except sqlite3.Error as exc:
        partial.unlink(missing_ok=True)
        raise BackupError(f"backup of {database} failed: {exc}") from None
    except BaseException:
        partial.unlink(missing_ok=True)
        raise
    return verify(target)


def check_restorable(path: Path, known_revisions: set[str], head: str) -> CopyReport:
    """The file is an intact Mitmachbot database whose schema this code knows.

    Raises BackupError otherwise: no Alembic version (not a Mitmachbot database, or an empty
    one), or a revision the code doesn't have (made by a newer version of Mitmachbot).
    """
    report = verify(path)
    if report.revision is None:
        raise BackupError(f"{path}: not a Mitmachbot database (no alembic_version)")
    if report.revision not in known_revisions:
        raise BackupError(
            f"{path}: schema revision {report.revision} is unknown to this version of "
            f"Mitmachbot (newest known: {head}); restore it with the version that made it"
        )
    return report


def restore_sqlite(
    backup: Path, database: Path, *, busy_timeout: float, now: datetime | None = None
) -> Path | None:
    """Copy `backup` over the database with the backup API; returns the saved previous
    database (`<name>.before-restore-<UTC time>`), or None when there was none.

    The previous database is itself copied with the backup API first, so nothing is lost when
    the wrong file was restored.
    """
    kept: Path | None = None
    if database.exists():
        stamp = (now or datetime.now(UTC)).strftime("%Y%m%d-%H%M%SZ")
        kept = database.with_name(f"{database.name}.before-restore-{stamp}")
        backup_sqlite(database, kept, busy_timeout=busy_timeout)
    else:
        database.parent.mkdir(parents=True, exist_ok=True)
    try:
        source = _connect(backup, busy_timeout=busy_timeout)
        try:
            target = _connect(database, busy_timeout=busy_timeout)
            try:
                source.backup(target, pages=PAGES_PER_STEP)
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.Error as exc:
        raise BackupError(f"restore into {database} failed: {exc}") from None
    verify(database)
    return kept


def pg_dump_command(database_url: str, target: str) -> str:
    """The pg_dump line for a PostgreSQL DATABASE_URL, without its password.

    Custom format (-Fc): compressed, and pg_restore can restore it table by table.
    """
    url = make_url(database_url)
    parts = ["pg_dump", "--format=custom", "--no-owner"]
    if url.host:
        parts.append(f"--host={url.host}")
    if url.port:
        parts.append(f"--port={url.port}")
    if url.username:
        parts.append(f"--username={url.username}")
    parts += [f"--file={target}", url.database or ""]
    return shlex.join(parts)


def pg_restore_command(database_url: str, source: str) -> str:
    """The pg_restore line matching pg_dump_command, without the password."""
    url = make_url(database_url)
    parts = ["pg_restore", "--clean", "--if-exists", "--no-owner"]
    if url.host:
        parts.append(f"--host={url.host}")
    if url.port:
        parts.append(f"--port={url.port}")
    if url.username:
        parts.append(f"--username={url.username}")
    parts += [f"--dbname={url.database or ''}", source]
    return shlex.join(parts)


def file_size(size: int) -> str:
    """Bytes for people: 1.2 MB, 640 kB, 512 B."""
    for unit, factor in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if size >= factor:
            return f"{size / factor:.1f} {unit}"
    return f"{size} B"
