"""The peer contender of bench.updates: the bot a competent developer writes from a common
aiogram-3 template on the same stack (aiogram 3, SQLAlchemy 2 async, SQLite or PostgreSQL).

What such a template has, and nothing more:

- an engine and a session factory on the database URL, and a middleware that opens one session
  per update and hands it to the handler;
- a middleware that upserts the sender into a `users` table on every update
  (INSERT .. ON CONFLICT DO UPDATE, then commit), so "last seen" and the name stay current;
- FSM state in aiogram's MemoryStorage;
- a /start handler that clears the state and sends the replies it is given, verbatim (in the
  bench: the replies Mitmachbot sent for the workload, same HTML and keyboard).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from typing import Any

from aiogram import BaseMiddleware, Bot, Dispatcher, Router
from aiogram.filters import CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import InlineKeyboardMarkup, Message, TelegramObject
from aiogram.types import User as TelegramUser
from sqlalchemy import BigInteger, DateTime, String, event, func
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Handler = Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]]


class Base(DeclarativeBase):
    """The template's declarative base."""


class User(Base):
    """A Telegram user the bot has seen."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    username: Mapped[str | None] = mapped_column(String(32))
    first_name: Mapped[str] = mapped_column(String(64))
    last_name: Mapped[str | None] = mapped_column(String(64))
    language_code: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


async def create_tables(engine: AsyncEngine) -> None:
    """What the template runs at start-up instead of migrations."""
    async with engine.begin() as connection:
        await connection.run_sync(Base.metadata.create_all)


async def upsert_user(session: AsyncSession, user: TelegramUser) -> None:
    """INSERT the user, or UPDATE the stored row when it exists (no commit)."""
    dialect = session.get_bind().dialect.name
    insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
    values = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "language_code": user.language_code,
    }
    statement = insert(User).values(id=user.id, **values)
    statement = statement.on_conflict_do_update(
        index_elements=[User.id], set_={**values, "updated_at": func.now()}
    )
    await session.execute(statement)


class DbSessionMiddleware(BaseMiddleware):
    """One session per update, handed to the handlers as `session`."""

    def __init__(self, session_pool: async_sessionmaker[AsyncSession]) -> None:
        self.session_pool = session_pool

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        async with self.session_pool() as session:
            data["session"] = session
            return await handler(event, data)


class UserMiddleware(BaseMiddleware):
    """Upserts the sender of every update and commits."""

    async def __call__(self, handler: Handler, event: TelegramObject, data: dict[str, Any]) -> Any:
        user: TelegramUser | None = data.get("event_from_user")
        if user is not None:
            session: AsyncSession = data["session"]
            await upsert_user(session, user)
            await session.commit()
        return await handler(event, data)


def build_dispatcher(
    session_pool: async_sessionmaker[AsyncSession],
    replies: Sequence[tuple[str, str | None, InlineKeyboardMarkup | None]],
) -> Dispatcher:
    """The template's dispatcher: middlewares on every update, one router with /start."""
    router = Router()

    @router.message(CommandStart())
    async def start(message: Message, state: FSMContext, session: AsyncSession) -> None:
        await state.clear()
        for html, parse_mode, reply_markup in replies:
            await message.answer(html, parse_mode=parse_mode, reply_markup=reply_markup)

    dispatcher = Dispatcher(storage=MemoryStorage())
    dispatcher.update.outer_middleware(DbSessionMiddleware(session_pool))
    dispatcher.update.outer_middleware(UserMiddleware())
    dispatcher.include_router(router)
    return dispatcher


def create_engine(database_url: str) -> AsyncEngine:
    """The template's engine: SQLAlchemy's defaults for the URL.

    On SQLite, what anyone deploying SQLite under load adds, as Mitmachbot has it, so the
    comparison is between the bots and not between journal modes or pools: WAL and
    synchronous=NORMAL on every connection, and one connection (SQLite has one writer; with
    SQLAlchemy's default pool of 5 + 10, a burst of 1000 updates runs into "database is
    locked" and loses updates).
    """
    if not database_url.startswith("sqlite"):
        return create_async_engine(database_url)
    engine = create_async_engine(database_url, pool_size=1, max_overflow=0)

    @event.listens_for(engine.sync_engine, "connect")
    def _pragmas(connection: Any, _record: Any) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    return engine


async def run(
    bot: Bot,
    database_url: str,
    replies: Sequence[tuple[str, str | None, InlineKeyboardMarkup | None]],
) -> None:
    """Long polling until SIGTERM/SIGINT."""
    engine = create_engine(database_url)
    try:
        await create_tables(engine)
        session_pool = async_sessionmaker(engine, expire_on_commit=False)
        await build_dispatcher(session_pool, replies).start_polling(bot)
    finally:
        await engine.dispose()
