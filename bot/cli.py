"""The `mitmachbot` command: run, migrate, check, import, export, backup, restore."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.logs import configure_logging
from bot.settings import SUPPORTED_LOCALES, Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncEngine

    from bot.services.kv_setup import ChangeSummary, KvSetup

EXIT_CONFIG = 2

logger = logging.getLogger("mitmachbot")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mitmachbot",
        description="Mitmachbot: the Telegram bot of a local party chapter (Kreisverband).",
        epilog="Settings come from the environment and .env; see .env.example.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    run = commands.add_parser(
        "run",
        help="migrate the database, then run the bot",
        description="Bring the database to the newest schema, then run the bot: long polling by "
        "default, or a webhook server with --webhook.",
    )
    run.add_argument(
        "--webhook",
        action="store_true",
        help="serve webhooks on WEBHOOK_LISTEN and register WEBHOOK_URL with Telegram "
        "(needs WEBHOOK_URL and WEBHOOK_SECRET); without it, long polling, with the web server "
        "(/healthz, calendar feeds) on WEBHOOK_LISTEN unless that is empty",
    )
    commands.add_parser(
        "migrate",
        help="apply database migrations (Alembic upgrade head)",
        description="Apply all database migrations that are not applied yet.",
    )
    commands.add_parser(
        "check",
        help="check settings, database, translations and the Telegram connection",
        description="Check settings, database (reachable, migrations applied), translations and "
        "the bot token (getMe). Prints one line per check; exits non-zero if any fails.",
    )
    import_ = commands.add_parser(
        "import",
        help="validate a KV setup file (YAML) and apply it to the database",
        description="Validate the KV setup file (Stadtteile, topics, activity types, groups, "
        "campaigns, field actions, Gedenktage, guide, Telegram groups; format: "
        "examples/kv-musterstadt.yaml) and bring the database in line with it in one "
        "transaction: new entries are added, changed ones updated, missing ones removed "
        "(missing groups, actions and Gedenktage are kept, inactive). Every error is printed "
        "with its line and nothing is written if there is any. Migrates the database first.",
    )
    import_.add_argument("file", metavar="FILE", type=Path, help="the setup file (UTF-8 YAML)")
    import_.add_argument(
        "--dry-run",
        action="store_true",
        help="validate and show what would change, but write nothing",
    )
    export = commands.add_parser(
        "export",
        help="write the KV setup as YAML",
        description="Write the stored KV setup in the format `import` reads (only active "
        "groups), so it can be edited and imported again.",
    )
    export.add_argument(
        "file",
        metavar="FILE",
        type=Path,
        nargs="?",
        help="where to write (default: standard output)",
    )
    backup = commands.add_parser(
        "backup",
        help="copy the SQLite database while the bot runs (PostgreSQL: print the pg_dump line)",
        description="Copy the SQLite database with SQLite's online backup API, consistent even "
        "while the bot runs and writes, check the copy (integrity_check) and print its path "
        "and size. For PostgreSQL, print the pg_dump command to use instead (nothing is "
        "dumped). Not the same as `export`, which writes only the KV setup.",
    )
    backup.add_argument(
        "file",
        metavar="FILE",
        type=Path,
        nargs="?",
        help="where to write (default: backups/mitmachbot-<UTC time>.db next to the database, "
        "i.e. data/backups/)",
    )
    restore = commands.add_parser(
        "restore",
        help="replace the SQLite database with a backup (stop the bot first)",
        description="Replace the SQLite database with a file made by `backup`. Stop the bot "
        "first. The file must be an intact Mitmachbot database no newer than this version; the "
        "current database is kept as <name>.before-restore-<UTC time>, and an older backup is "
        "migrated to the newest schema afterwards. For PostgreSQL, print the pg_restore "
        "command to use instead.",
    )
    restore.add_argument("file", metavar="FILE", type=Path, help="the backup file")
    restore.add_argument(
        "--yes",
        action="store_true",
        help="don't ask for confirmation (the bot must be stopped)",
    )
    return parser


# Only these talk to Telegram and need BOT_TOKEN; the others never read it.
TOKEN_COMMANDS = frozenset({"run", "check"})


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def _run(settings: Settings, *, webhook: bool) -> None:
    from bot import startup  # noqa: PLC0415
    from bot.db import migrations  # noqa: PLC0415

    # The database first, before importing aiogram (seconds): a database that refuses is
    # one line at once.
    await _wait_for_database(settings)
    from bot.app import (  # noqa: PLC0415
        build_application,
        freeze_startup_heap,
        run_polling,
        run_webhook,
        single_instance,
    )

    app = await build_application(settings, migrate=False)
    try:
        # Before migrating, so a refused token ends start-up with nothing written.
        await startup.wait_for_telegram(app.bot, settings)
        with startup.database_errors(settings):
            await migrations.upgrade(app.engine)
        freeze_startup_heap()
        async with single_instance(app):
            if webhook:
                await run_webhook(app)
            else:
                await run_polling(app)
    finally:
        await app.close()


async def _wait_for_database(settings: Settings, *, migrate: bool = False) -> None:
    """Wait for the database (STARTUP_WAIT_SECONDS); with `migrate`, bring it up to date."""
    from bot import startup  # noqa: PLC0415
    from bot.db import migrations  # noqa: PLC0415
    from bot.db.engine import engine_from_settings  # noqa: PLC0415

    engine = engine_from_settings(settings)
    try:
        await startup.wait_for_database(engine, settings)
        if migrate:
            with startup.database_errors(settings):
                await migrations.upgrade(engine)
    finally:
        await engine.dispose()


async def _migrate(settings: Settings) -> None:
    await _wait_for_database(settings, migrate=True)
    print(f"database {_safe_url(settings.database_url)} is at the newest schema")


async def _check(settings: Settings) -> int:
    from aiogram.exceptions import ClientDecodeError, TelegramAPIError  # noqa: PLC0415

    from bot import startup  # noqa: PLC0415
    from bot.app import create_bot  # noqa: PLC0415
    from bot.db.engine import engine_from_settings  # noqa: PLC0415
    from bot.i18n import TranslationsMissingError, create_i18n  # noqa: PLC0415

    failures = 0
    print(
        f"settings      ok  (database {_safe_url(settings.database_url)}, "
        f"api {settings.telegram_api_url}, time zone {settings.timezone})"
    )
    try:
        i18n = create_i18n(settings.default_locale)
        print(f"translations  ok  ({', '.join(sorted(i18n.available_locales))})")
    except TranslationsMissingError as exc:
        failures += 1
        print(f"translations  FAIL {exc}")

    try:
        engine = engine_from_settings(settings)
    except SettingsError as exc:
        failures += 1
        print(f"database      FAIL {exc}")
    else:
        failures += await _check_database(engine)

    bot = create_bot(settings)
    try:
        me = await bot.get_me(request_timeout=int(startup.ATTEMPT_TIMEOUT))
        print(f"telegram      ok  (@{me.username}, id {me.id})")
    except (TelegramAPIError, ClientDecodeError, OSError, TimeoutError) as exc:
        failures += 1
        print(f"telegram      FAIL {type(exc).__name__}: {exc}".splitlines()[0])
    finally:
        await bot.session.close()
    return 1 if failures else 0


async def _check_database(engine: AsyncEngine) -> int:
    """One line on the database; 1 if it fails. Doesn't wait: a health check wants the now."""
    from bot import startup  # noqa: PLC0415
    from bot.db import migrations  # noqa: PLC0415

    try:
        async with asyncio.timeout(startup.ATTEMPT_TIMEOUT):
            async with engine.connect() as connection:
                await connection.execute(text("SELECT 1"))
            pending = await migrations.pending_heads(engine)
    except Exception as exc:
        problem = startup.database_problem(exc)
        reason = problem.reason if problem else f"{type(exc).__name__}: {exc}"
        print(f"database      FAIL {reason}".splitlines()[0])
        return 1
    finally:
        await engine.dispose()
    if pending:
        print("database      FAIL reachable, but migrations are pending: run `mitmachbot migrate`")
        return 1
    print("database      ok  (reachable, schema up to date)")
    return 0


def admin_locale(settings: Settings, environ: Mapping[str, str]) -> str:
    """The language of the import and export messages: DEFAULT_LOCALE when it is set, else the
    shell's (LC_ALL, LC_MESSAGES, LANG, the first one set), else German.

    An admin running the command speaks the shell's language more surely than the members' one;
    languages the bot has no catalog for get German, the bot's own default.
    """
    if "default_locale" in settings.model_fields_set:
        return settings.default_locale
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = environ.get(name, "").strip()
        if value:
            # "en_US.UTF-8", "de_DE@euro", "en": the language is what comes before "_", "." or "@".
            language = value.split(".")[0].split("@")[0].split("_")[0].lower()
            return language if language in SUPPORTED_LOCALES else "de"
    return "de"


@contextmanager
def _admin_language(settings: Settings) -> Iterator[None]:
    """Translate what the services and this module say into the admin's language."""
    from bot.i18n import create_i18n  # noqa: PLC0415

    i18n = create_i18n(settings.default_locale)
    with i18n.context(), i18n.use_locale(admin_locale(settings, os.environ)):
        yield


def _import(settings: Settings, path: Path, *, dry_run: bool) -> int:
    from bot.services.kv_setup import SetupInvalidError, decode_setup, load_setup  # noqa: PLC0415
    from bot.services.translation import gettext as _  # noqa: PLC0415

    try:
        data = path.read_bytes()
    except OSError as exc:
        message = _("cannot read {path}: {reason}").format(path=path, reason=exc.strerror or exc)
        print(message, file=sys.stderr)
        return 1
    try:
        source = decode_setup(data)
        setup = load_setup(source)
        # What only the database can tell (an action's contact the bot doesn't know) is found
        # while applying; the transaction is then rolled back.
        summary = asyncio.run(_apply_setup(settings, setup, source, dry_run=dry_run))
    except SetupInvalidError as exc:
        for error in exc.errors:
            print(error, file=sys.stderr)
        count = len(exc.errors)
        message = _(
            "{path}: {count} error, nothing was imported",
            "{path}: {count} errors, nothing was imported",
            count,
        )
        print(message.format(path=path, count=count), file=sys.stderr)
        return 1
    if summary is None:
        print(
            _(
                "{path} is valid; the database needs `mitmachbot migrate` before a dry run can "
                "show what would change"
            ).format(path=path)
        )
        return 0
    if dry_run:
        print(_("dry run of {path}, nothing written; importing it would change:").format(path=path))
    else:
        print(_("imported {path}:").format(path=path))
    for line in summary.lines():
        print(f"  {line}")
    if not summary.changed:
        print(_("nothing changed"))
    for warning in summary.warnings():
        print(_("warning: {text}").format(text=warning), file=sys.stderr)
    return 0


async def _apply_setup(
    settings: Settings, setup: KvSetup, source: str, *, dry_run: bool
) -> ChangeSummary | None:
    from bot import startup  # noqa: PLC0415
    from bot.db import migrations  # noqa: PLC0415
    from bot.db.engine import engine_from_settings  # noqa: PLC0415
    from bot.db.session import create_session_pool  # noqa: PLC0415
    from bot.services import action_notices, field_actions, memorials, schedule  # noqa: PLC0415
    from bot.services.kv_setup import apply_setup  # noqa: PLC0415
    from models.base import utcnow  # noqa: PLC0415

    engine = engine_from_settings(settings)
    try:
        with startup.database_errors(settings):
            if not dry_run:
                await migrations.upgrade(engine)
            elif await migrations.pending_heads(engine):
                # A dry run writes nothing, not even the schema: without it, nothing to diff.
                return None
        async with create_session_pool(engine)() as session:
            # The file's text is kept so that `export` can keep its comments; a dry run rolls
            # it back with everything else.
            summary = await apply_setup(session, setup, source=source)
            if dry_run:
                await session.rollback()
            else:
                # The groups' new or changed rules give their meetings at once (the running
                # bot's hourly job would, too): who answered a withdrawn date is told.
                now = utcnow()
                await schedule.extend_horizon(session, now=now, zone=settings.zone)
                # Likewise the field actions' dates and shifts; a date the new plan no longer
                # gives is withdrawn (cancelled when people had signed up).
                horizon = await field_actions.extend_horizon(session, now=now, zone=settings.zone)
                for date_id in horizon.cancelled:
                    row = await field_actions.find_date(session, date_id, retired_too=True)
                    if row is not None:
                        await action_notices.queue_cancelled(session, row, now=now)
                # The Gedenktage's dates too, with the events as the file now plans them.
                await memorials.extend_horizon(session, now=now, zone=settings.zone)
                await session.commit()
            return summary
    finally:
        await engine.dispose()


def _export(settings: Settings, path: Path | None) -> int:
    from bot.services.kv_setup import NothingToExportError  # noqa: PLC0415
    from bot.services.translation import gettext as _  # noqa: PLC0415

    try:
        text = asyncio.run(_read_export(settings))
    except NothingToExportError as exc:
        print(_("nothing to export: {reason}").format(reason=exc), file=sys.stderr)
        return 1
    if text is None:
        print(
            _("the database has pending migrations: run `mitmachbot migrate` or import first"),
            file=sys.stderr,
        )
        return 1
    if path is None:
        sys.stdout.write(text)
        return 0
    try:
        # "\n" even on Windows, so the file stays byte-identical wherever it is exported.
        path.write_text(text, encoding="utf-8", newline="\n")
    except OSError as exc:
        message = _("cannot write {path}: {reason}").format(path=path, reason=exc.strerror or exc)
        print(message, file=sys.stderr)
        return 1
    print(_("exported the KV setup to {path}").format(path=path))
    return 0


async def _read_export(settings: Settings) -> str | None:
    from bot import startup  # noqa: PLC0415
    from bot.db import migrations  # noqa: PLC0415
    from bot.db.engine import engine_from_settings  # noqa: PLC0415
    from bot.db.session import create_session_pool  # noqa: PLC0415
    from bot.services.kv_setup import export_setup  # noqa: PLC0415

    engine = engine_from_settings(settings)
    try:
        with startup.database_errors(settings):
            if await migrations.pending_heads(engine):
                return None
        async with create_session_pool(engine)() as session:
            return await export_setup(session)
    finally:
        await engine.dispose()


def _backup(settings: Settings, path: Path | None) -> int:
    from bot.db import backup  # noqa: PLC0415

    if settings.database_url.startswith("postgresql"):
        target = str(path) if path else backup.default_dump_name()
        print("PostgreSQL: mitmachbot dumps nothing itself; back it up with pg_dump (the")
        print("password from PGPASSWORD=... or ~/.pgpass, never on the command line):")
        print(f"  {backup.pg_dump_command(settings.database_url, target)}")
        print("and restore such a dump, with the bot stopped, with:")
        print(f"  {backup.pg_restore_command(settings.database_url, target)}")
        return 0
    database = settings.sqlite_path()
    if database is None:
        print("DATABASE_URL is an in-memory SQLite database: nothing to back up", file=sys.stderr)
        return 1
    target = path or backup.default_backup_path(database)
    if target.exists():
        print(f"{target} exists already: choose another FILE or remove it", file=sys.stderr)
        return 1
    try:
        report = backup.backup_sqlite(
            database, target, busy_timeout=settings.sqlite_busy_timeout_seconds
        )
    except backup.BackupError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(
        f"backup of {database} written to {report.path} ({backup.file_size(report.size)}, "
        f"schema revision {report.revision or 'none'}, integrity check ok)"
    )
    return 0


def _confirm_restore(path: Path, database: Path) -> bool:
    """Ask on a terminal; without one, --yes is the only way to say yes."""
    if not sys.stdin.isatty():
        print(
            f"restore replaces {database}: stop the bot, then run `mitmachbot restore {path} "
            "--yes`; nothing was restored",
            file=sys.stderr,
        )
        return False
    answer = input(
        f"Replace {database} with {path}? The bot must be stopped first; the current database "
        "is kept as a .before-restore copy. [y/N] "
    )
    if answer.strip().lower() in {"y", "yes", "j", "ja"}:
        return True
    print("nothing was restored", file=sys.stderr)
    return False


def _restore(settings: Settings, path: Path, *, yes: bool) -> int:
    from alembic.script import ScriptDirectory  # noqa: PLC0415

    from bot.db import backup  # noqa: PLC0415
    from bot.db.migrations import alembic_config  # noqa: PLC0415

    if settings.database_url.startswith("postgresql"):
        print("PostgreSQL: mitmachbot restores nothing itself; with the bot stopped, restore a")
        print("pg_dump file (the password from PGPASSWORD=... or ~/.pgpass) with:")
        print(f"  {backup.pg_restore_command(settings.database_url, str(path))}")
        print("then `mitmachbot migrate` brings an older dump to the newest schema.")
        return 0
    database = settings.sqlite_path()
    if database is None:
        print("DATABASE_URL is an in-memory SQLite database: nothing to restore", file=sys.stderr)
        return 1
    if path.resolve() == database.resolve():
        print(f"{path} is the database itself", file=sys.stderr)
        return 1
    scripts = ScriptDirectory.from_config(alembic_config())
    known = {revision.revision for revision in scripts.walk_revisions()}
    head = scripts.get_current_head() or ""
    try:
        report = backup.check_restorable(path, known, head)
    except backup.BackupError as exc:
        print(exc, file=sys.stderr)
        return 1
    if not yes and not _confirm_restore(path, database):
        return 1
    try:
        kept = backup.restore_sqlite(
            path, database, busy_timeout=settings.sqlite_busy_timeout_seconds
        )
    except backup.BackupError as exc:
        print(exc, file=sys.stderr)
        return 1
    print(f"restored {path} into {database} (schema revision {report.revision})")
    if kept is not None:
        print(f"the previous database is kept as {kept}")
    if report.revision != head:
        asyncio.run(_wait_for_database(settings, migrate=True))
        print(f"migrated from revision {report.revision} to {head}")
    return 0


def _run_command(settings: Settings, *, webhook: bool) -> int:
    if webhook and (not settings.webhook_url or settings.webhook_secret is None):
        missing = "WEBHOOK_URL" if not settings.webhook_url else "WEBHOOK_SECRET"
        print(
            f"Configuration error: {missing} is missing; webhook mode needs WEBHOOK_URL "
            "and WEBHOOK_SECRET.",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    if webhook and not settings.web_server:
        print(
            "Configuration error: WEBHOOK_LISTEN is empty; webhook mode needs the web "
            "server (host:port, like 0.0.0.0:8080).",
            file=sys.stderr,
        )
        return EXIT_CONFIG
    from bot.startup import ListenError  # noqa: PLC0415

    try:
        asyncio.run(_run(settings, webhook=webhook))
    except ListenError as exc:
        print(
            f"{exc}. Set WEBHOOK_LISTEN to a free host:port, or leave it empty to run "
            "without the web server (calendar feeds, /healthz).",
            file=sys.stderr,
        )
        # A port another process holds may be free on the next start; an address
        # this machine doesn't have won't be.
        return 1 if exc.in_use else EXIT_CONFIG
    return 0


def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    """Run the chosen command; its exit code."""
    if args.command == "run":
        return _run_command(settings, webhook=args.webhook)
    if args.command == "migrate":
        asyncio.run(_migrate(settings))
        return 0
    if args.command == "check":
        return asyncio.run(_check(settings))
    if args.command == "import":
        with _admin_language(settings):
            return _import(settings, args.file, dry_run=args.dry_run)
    if args.command == "export":
        with _admin_language(settings):
            return _export(settings, args.file)
    if args.command == "backup":
        return _backup(settings, args.file)
    return _restore(settings, args.file, yes=args.yes)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        if args.command in TOKEN_COMMANDS:
            settings = load_settings()
            settings.require_token()
        else:
            # A token in .env (even a malformed one) doesn't concern these commands.
            settings = load_settings(bot_token=None)
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level, settings.log_format)
    from bot.startup import StartupError  # noqa: PLC0415

    try:
        return _dispatch(args, settings)
    except SettingsError as exc:  # found after loading, like a data folder that can't be made
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    except StartupError as exc:
        print(exc, file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        return 0
    except Exception as exc:
        # bot.i18n imports aiogram (seconds): `--help`, settings and database errors don't wait
        # for it, and it raises only once imported.
        i18n = sys.modules.get("bot.i18n")
        if i18n is not None and isinstance(exc, i18n.TranslationsMissingError):
            print(exc, file=sys.stderr)  # an installation without compiled catalogs
            return EXIT_CONFIG
        raise


if __name__ == "__main__":
    sys.exit(main())
