"""Who may act, and the polite answers when they may not or when a service refuses.

Permissions are a filter, not a preamble in each handler: `guard` puts one role filter on a
feature's router, so it covers every command, button and conversation step in it alike, and
adds one refusal for the feature's own commands, buttons and steps. `explain` turns a service's
domain error into the member's message; the update's session is closed without a commit by
then, so whatever the action had begun is rolled back.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Collection, Iterable
from typing import Any, TypeVar

from aiogram import Bot, F, Router
from aiogram.enums import ChatType
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command, ExceptionTypeFilter, Filter, StateFilter, or_f
from aiogram.filters.callback_data import CallbackData
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import StatesGroup
from aiogram.types import CallbackQuery, ErrorEvent, Message, TelegramObject
from aiogram.utils.i18n import I18n

from bot.services.roles import allows
from bot.telegram.commands import CommandSpec
from models import Member, Role

logger = logging.getLogger(__name__)

E = TypeVar("E", bound=Exception)
Text = Callable[[], str]


class HasRoles(Filter):
    """Passes when the member's roles (put into the data by the bookkeeping) allow `required`.

    An empty `required` allows everyone; admins may do everything (bot.services.roles.allows).
    """

    def __init__(self, required: Collection[Role]) -> None:
        self.required = frozenset(required)

    async def __call__(
        self, event: TelegramObject, roles: frozenset[Role] = frozenset({Role.MEMBER})
    ) -> bool:
        """Whether the sender may use what this filter guards."""
        del event
        return allows(roles, self.required)


class Consented(Filter):
    """Passes when the sender agreed to have their answers stored (has a profile).

    `~Consented()` picks those who didn't, e.g. to ask them first instead of refusing.
    """

    async def __call__(self, event: TelegramObject, member: Member | None = None) -> bool:
        """Whether the sender consented."""
        del event
        return member is not None and member.consented


def private_router(name: str) -> Router:
    """A router for messages and buttons in the private chat with the bot."""
    router = Router(name=name)
    router.message.filter(F.chat.type == ChatType.PRIVATE)
    router.callback_query.filter(F.message.chat.type == ChatType.PRIVATE)
    return router


def guard(
    feature: Router,
    *,
    roles: Collection[Role],
    refusal: Text,
    commands: Iterable[CommandSpec] = (),
    callbacks: Iterable[type[CallbackData]] = (),
    states: Iterable[type[StatesGroup]] = (),
) -> Router:
    """`feature` for those whose roles allow it, then one refusal for everyone else.

    The refusal answers the feature's `commands`, the presses of its `callbacks` (as an alert)
    and messages in its conversation `states` (which it ends: the role was taken meanwhile),
    from those whose roles don't allow it; everything else passes on to the routers after this
    one, including what the feature's handlers leave to them from those it allows (a forged
    button to the fallback's "no longer valid", not to a refusal).
    """
    allowed = HasRoles(roles)
    feature.message.filter(allowed)
    feature.callback_query.filter(allowed)
    refusals = private_router(f"{feature.name}.refusal")
    refusals.message.filter(~allowed)
    refusals.callback_query.filter(~allowed)
    own_states = tuple(states)

    async def refuse_message(message: Message, state: FSMContext) -> None:
        if own_states:
            await state.clear()
        await message.answer(refusal())

    async def refuse_press(query: CallbackQuery) -> None:
        await query.answer(refusal(), show_alert=True)

    triggers: list[Any] = [Command(*spec.aliases) for spec in commands]
    if own_states:
        triggers.append(StateFilter(*own_states))
    if triggers:
        refusals.message.register(refuse_message, or_f(*triggers))
    buttons = [factory.filter() for factory in callbacks]
    if buttons:
        refusals.callback_query.register(refuse_press, or_f(*buttons))
    guarded = Router(name=f"{feature.name}.guarded")
    guarded.include_routers(feature, refusals)
    return guarded


def explain(
    router: Router, error: type[E], text: Callable[[E], str], *, alert: bool = False
) -> None:
    """Answer `error` raised while handling an update with `text(error)`, in the member's language.

    A button press gets it as the press's answer (an alert with `alert`), a message as a reply.
    Error events travel the whole router tree, so each error type is explained in one place.
    """

    async def answer(event: ErrorEvent, bot: Bot, i18n: I18n, locale: str | None = None) -> bool:
        exception = event.exception
        assert isinstance(exception, error)
        logger.info("refused: %s %s", type(exception).__name__, getattr(exception, "reason", ""))
        with i18n.context(), i18n.use_locale(locale or i18n.default_locale):
            message = text(exception)
        update = event.update
        try:
            if update.callback_query is not None:
                await update.callback_query.answer(message, show_alert=alert)
            elif update.message is not None:
                await bot.send_message(update.message.chat.id, message)
        except TelegramAPIError as exc:
            logger.warning("could not explain %s to the member: %s", type(exception).__name__, exc)
        return True

    router.errors.register(answer, ExceptionTypeFilter(error))
