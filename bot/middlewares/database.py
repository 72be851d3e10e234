"""One database session per update, and the bookkeeping done before any handler runs."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Collection
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update, User
from aiogram.utils.i18n import I18n

from bot.db.session import SessionPool, current_session
from bot.middlewares.logging import note_skipped
from bot.middlewares.outage import UpdateAttempt
from bot.services.locales import resolve_locale
from bot.services.members import Sighting, record_sighting
from bot.services.roles import effective_roles
from bot.services.updates import claim_update
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
    """Outer update middleware after DbSessionMiddleware.

    Claims the update id (a redelivered update stops here), records the sender, works out their
    roles and language, and commits that in one transaction before the handler runs, so handlers
    start with no transaction open. When DatabaseRetryMiddleware repeats an update after an
    outage, the claim an earlier attempt made is its own, not a duplicate.
    """

    def __init__(self, *, admin_ids: Collection[int], i18n: I18n) -> None:
        self._admin_ids = frozenset(admin_ids)
        self._i18n = i18n

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        """Skip duplicates; otherwise put member, roles and locale into the data."""
        assert isinstance(event, Update)  # registered on dp.update only
        session = data["session"]
        now = utcnow()
        # Set by DatabaseRetryMiddleware; absent where the dispatcher is built without it.
        attempt: UpdateAttempt | None = data.get("update_attempt")
        claimed = await claim_update(session, event.update_id, now)
        if not claimed and not (attempt is not None and attempt.claim_ran):
            await session.rollback()
            logger.info("duplicate update skipped")
            note_skipped(data, "duplicate")
            return None
        if attempt is not None:
            # A retry after this attempt failed finds the claim (if its commit got through)
            # and knows it for its own.
            attempt.claim_ran = True

        user: User | None = data.get("event_from_user")
        member = None
        stored_roles: Collection[Role] = ()
        if user is not None and not user.is_bot:
            member, _changed = await record_sighting(
                session,
                Sighting(user.id, user.first_name, user.username, user.language_code),
                now,
                always_identified=self._admin_ids,
            )
            stored_roles = member.role_set
        # One commit for the claim and the sighting: the only write most updates cause.
        await session.commit()
        if attempt is not None:
            attempt.past_bookkeeping = True

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
        return await handler(event, data)
