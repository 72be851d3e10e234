"""The `mitmachbot` command: run, migrate, check."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence

from sqlalchemy import text
from sqlalchemy.engine import make_url

from bot.logs import configure_logging
from bot.settings import Settings, SettingsError, load_settings

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
        "(needs WEBHOOK_URL and WEBHOOK_SECRET)",
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
    return parser


def _safe_url(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


async def _run(settings: Settings, *, webhook: bool) -> None:
    from bot.app import build_application, run_polling, run_webhook  # noqa: PLC0415

    app = await build_application(settings)
    try:
        if webhook:
            await run_webhook(app)
        else:
            await run_polling(app)
    finally:
        await app.close()


async def _migrate(settings: Settings) -> None:
    from bot import migrations  # noqa: PLC0415
    from bot.db import engine_from_settings  # noqa: PLC0415

    engine = engine_from_settings(settings)
    try:
        await migrations.upgrade(engine)
    finally:
        await engine.dispose()
    print(f"database {_safe_url(settings.database_url)} is at the newest schema")


async def _check(settings: Settings) -> int:
    from aiogram.exceptions import TelegramAPIError  # noqa: PLC0415

    from bot import migrations  # noqa: PLC0415
    from bot.app import create_bot  # noqa: PLC0415
    from bot.db import engine_from_settings  # noqa: PLC0415
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

    engine = engine_from_settings(settings)
    try:
        async with engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
        pending = await migrations.pending_heads(engine)
        if pending:
            failures += 1
            print(
                "database      FAIL reachable, but migrations are pending: run `mitmachbot migrate`"
            )
        else:
            print("database      ok  (reachable, schema up to date)")
    except Exception as exc:
        failures += 1
        print(f"database      FAIL {type(exc).__name__}: {exc}".splitlines()[0])
    finally:
        await engine.dispose()

    bot = create_bot(settings)
    try:
        me = await bot.get_me()
        print(f"telegram      ok  (@{me.username}, id {me.id})")
    except (TelegramAPIError, OSError, TimeoutError) as exc:
        failures += 1
        print(f"telegram      FAIL {type(exc).__name__}: {exc}".splitlines()[0])
    finally:
        await bot.session.close()
    return 1 if failures else 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    args = _parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return EXIT_CONFIG
    configure_logging(settings.log_level)
    # Imported here so `--help` and settings errors don't pay for importing aiogram.
    from bot.i18n import TranslationsMissingError  # noqa: PLC0415

    try:
        if args.command == "run":
            if args.webhook and (not settings.webhook_url or settings.webhook_secret is None):
                missing = "WEBHOOK_URL" if not settings.webhook_url else "WEBHOOK_SECRET"
                print(
                    f"Configuration error: {missing} is missing; webhook mode needs WEBHOOK_URL "
                    "and WEBHOOK_SECRET.",
                    file=sys.stderr,
                )
                return EXIT_CONFIG
            asyncio.run(_run(settings, webhook=args.webhook))
        elif args.command == "migrate":
            asyncio.run(_migrate(settings))
        elif args.command == "check":
            return asyncio.run(_check(settings))
    except TranslationsMissingError as exc:
        print(exc, file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
