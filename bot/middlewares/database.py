"""One database session per update, and the bookkeeping done before any handler runs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiogram import BaseMiddleware
from aiogram.fsm.context import FSMContext
from aiogram.fsm.middleware import FSMContextMiddleware
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18n

from bot.db.availability import is_database_unavailable
from bot.db.fsm_storage import SqlAlchemyStorage, key_parameters
from bot.db.session import SessionPool, current_session
from bot.middlewares.logging import note_skipped
from bot.middlewares.outage import UpdateAttempt
from bot.services.locales import resolve_locale
from bot.services.members import Sighting, see_update
from bot.services.roles import effective_roles
from bot.services.updates import (
    Duplicate,
    Outcome,
    UpdateLedger,
    claim_update,
    resolve_duplicate,
)
from models import Role
from models.base import utcnow

logger = logging.getLogger(__name__)


class DbSessionMiddleware(BaseMiddleware):
    """Outer update middleware: opens the update's session and shares it with the FSM storage."""

    def __init__(self, session_pool: SessionPool) -> None:
        self._pool = session_pool

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Run the rest of the chain with `session` in the data; what is not committed is lost."""
        async with self._pool() as session:
            data["session"] = session
            token = current_session.set(session)
            try:
                return await handler(event, data)
            finally:
                current_session.reset(token)


class BookkeepingMiddleware(BaseMiddleware):
    """Outer update middleware after DbSessionMiddleware, in place of aiogram's FSM middleware.

    Takes the sender's FSM lock (events isolation) as aiogram's FSMContextMiddleware does, then
    claims the update id (a redelivered update stops here), records the sender, reads their
    conversation state, works out their roles and language, and commits that in one transaction
    before the handler runs, so handlers start with no transaction open. The claim, the member
    and the FSM row come from one query on PostgreSQL (two statements on SQLite, see
    bot.services.members.see_update) instead of four. When DatabaseRetryMiddleware repeats an
    update after an outage, the claim an earlier attempt made is its own, not a duplicate.
    A claim made before is resolved by bot.services.updates.resolve_duplicate: skipped, taken
    over from a process that is gone, or (being handled elsewhere) marked busy in
    `data["update_outcome"]`, so the webhook asks Telegram to come again. With `ledger`, the
    update is noted as handled here while the handler runs, and as done after.

    `fsm` is the dispatcher's FSM middleware (dispatcher.fsm, not registered itself): its
    storage, events isolation and context resolution are used as they are.
    """

    def __init__(
        self,
        *,
        admin_ids: Collection[int],
        i18n: I18n,
        fsm: FSMContextMiddleware | None = None,
        ledger: UpdateLedger | None = None,
    ) -> None:
        self._admin_ids = frozenset(admin_ids)
        self._ledger = ledger
        self._i18n = i18n
        self._fsm = fsm

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Skip duplicates; otherwise put member, roles, locale and FSM state into the data."""
        assert isinstance(event, Update)  # registered on dp.update only
        if self._fsm is None:
            return await self._bookkeeping(handler, event, data, None)
        context = self._fsm.resolve_event_context(data["bot"], data)
        data["fsm_storage"] = self._fsm.storage
        if context is None:
            return await self._bookkeeping(handler, event, data, None)
        # The state is read after the lock is taken (aiogram issue 1317), as aiogram does.
        async with self._fsm.events_isolation.lock(key=context.key):
            data["state"] = context
            return await self._bookkeeping(handler, event, data, context)

    async def _bookkeeping(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: Update,
        data: dict[str, Any],
        context: FSMContext | None,
    ) -> Any:
        session = data["session"]
        now = utcnow()
        # Set by DatabaseRetryMiddleware; absent where the dispatcher is built without it.
        attempt: UpdateAttempt | None = data.get("update_attempt")
        user: User | None = data.get("event_from_user")
        storage = context.storage if context is not None else None
        # Only our own storage can take the row read with the member.
        joins_fsm = isinstance(storage, SqlAlchemyStorage)
        member = None
        if user is not None and not user.is_bot:
            seen = await see_update(
                session,
                event.update_id,
                Sighting(user.id, user.first_name, user.username, user.language_code),
                now,
                always_identified=self._admin_ids,
                fsm_key=key_parameters(context.key) if joins_fsm and context else None,
            )
            claimed, member = seen.claimed, seen.member
            if joins_fsm and context is not None:
                assert isinstance(storage, SqlAlchemyStorage)
                storage.remember(session, context.key, seen.fsm_state, seen.fsm_data)
        else:
            claimed = await claim_update(session, event.update_id, now)
        if not claimed and not (attempt is not None and attempt.claim_ran):
            verdict = await resolve_duplicate(
                session,
                event.update_id,
                now,
                handling_here=self._ledger is not None and self._ledger.handling(event.update_id),
            )
            if verdict is not Duplicate.TAKEN_OVER:
                await session.rollback()
                if verdict is Duplicate.BUSY:
                    outcome: Outcome | None = data.get("update_outcome")
                    if outcome is not None:
                        outcome.busy = True
                    logger.info(
                        "update being handled by another instance: %s",
                        "asked again later" if outcome is not None else "skipped",
                    )
                    note_skipped(data, "busy")
                else:
                    logger.info("duplicate update skipped")
                    note_skipped(data, "duplicate")
                return None
        if attempt is not None:
            # A retry after this attempt failed finds the claim (if its commit got through)
            # and knows it for its own.
            attempt.claim_ran = True
        if context is not None:
            # Read with the member above (no statement), or from another storage.
            data["raw_state"] = await context.get_state()
        # One commit for the claim and the sighting: the only write most updates cause, and
        # none at all (an empty COMMIT) for a known member's update that changes nothing.
        await session.commit()
        if attempt is not None:
            attempt.past_bookkeeping = True

        stored_roles: Collection[Role] = member.role_set if member is not None else ()
        data["member"] = member
        data["roles"] = (
            effective_roles(user.id, stored_roles, self._admin_ids)
            if user is not None
            else frozenset({Role.MEMBER})
        )
        data["locale"] = resolve_locale(
            member.language if member else None,
            user.language_code if user else None,
            available=self._i18n.available_locales,
            default=self._i18n.default_locale,
        )
        if self._ledger is None:
            return await handler(event, data)
        return await self._handle(handler, event, data, self._ledger)

    @staticmethod
    async def _handle(
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: Update,
        data: dict[str, Any],
        ledger: UpdateLedger,
    ) -> Any:
        # Done unless cut off (a shutdown, a database outage this attempt could not outlast):
        # then a redelivery may take the update over once this process is gone.
        ledger.started(event.update_id)
        done = False
        try:
            result = await handler(event, data)
        except Exception as exc:
            done = not is_database_unavailable(exc)
            raise
        else:
            done = True
        finally:
            ledger.finished(event.update_id, done=done)
        return result
