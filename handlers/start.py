"""/start: the greeting and the consent question; hosts and organisers get their own welcome."""

from __future__ import annotations

from aiogram import F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory
from bot.services.members import get_member, set_reachable
from bot.services.profile import give_consent, start_intake
from bot.services.welcome import served_chat
from bot.settings import Settings
from bot.telegram import intake_steps
from bot.telegram.callbacks import ConsentAction, ConsentCallback
from bot.telegram.deeplinks import parse_payload
from bot.telegram.format import esc, first_name_or_you
from bot.telegram.guards import Consented, HasRoles, private_router
from bot.telegram.screens import Shown
from bot.telegram.views import start as views
from models import Member, Role
from models.base import utcnow

# Who gets the welcome for their role instead of the newcomer's questions (admins too: they
# may do everything).
ROLE_GREETING = frozenset({Role.HOST, Role.ORGANISER})


async def start(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    state: FSMContext,
) -> None:
    """Greet in the member's language; without consent ask for it, otherwise carry on."""
    await _back(state, session, member)
    kv = await directory.kv_name(session, settings.kv_name)
    lines = [views.greeting(_name(message, member), kv)]
    origin = await _origin(session, command.args)
    if origin:
        lines.append(origin)
    if not member.consented:
        question, keyboard = views.consent_question(kv)
        await message.answer("\n\n".join(lines))
        await message.answer(question, reply_markup=keyboard)
        return
    assert member.profile is not None
    if member.profile.intake_completed_at is None:
        lines.append(views.carry_on())
        text, keyboard = await intake_steps.begin(state, session, member)
        await message.answer("\n\n".join(lines))
        await message.answer(text, reply_markup=keyboard)
        return
    lines.append(views.welcome_back())
    await message.answer("\n\n".join(lines))


async def start_for_roles(
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    state: FSMContext,
    roles: frozenset[Role],
) -> None:
    """Hosts, organisers and admins: what the bot does for them, not the newcomer's questions."""
    await _back(state, session, member)
    kv = await directory.kv_name(session, settings.kv_name)
    await message.answer(views.role_greeting(_name(message, member), kv, roles))


async def _back(state: FSMContext, session: AsyncSession, member: Member) -> None:
    """/start ends any conversation and means "I'm here again" after blocking the bot."""
    await state.clear()
    if await set_reachable(session, member.id, reachable=True):
        await session.commit()


def _name(message: Message, member: Member) -> str:
    user = message.from_user
    return esc(user.first_name) if user else first_name_or_you(member)


async def _origin(session: AsyncSession, args: str | None) -> str | None:
    """Where the member came from, from the /start link's payload."""
    payload = parse_payload(args)
    if payload is None:
        return None
    if payload.kind == "group_chat":
        chat = await served_chat(session, payload.id)
        return views.came_through(chat.title) if chat is not None else None
    if payload.kind == "invite":
        inviter = await get_member(session, payload.id)
        if inviter is not None and inviter.first_name:
            return views.invited_by(inviter.first_name)
    return None


async def agreed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
) -> None:
    """Store the consent and the name, and ask the first question."""
    now = utcnow()
    await give_consent(
        session,
        member,
        first_name=query.from_user.first_name,
        username=query.from_user.username,
        now=now,
    )
    start_intake(member, now)
    await session.commit()
    text, keyboard = await intake_steps.begin(state, session, member)
    await query.answer(views.agreed_toast())
    await message.edit_text(views.agreed())
    await message.answer(text, reply_markup=keyboard)


async def not_now(query: CallbackQuery, message: Message) -> None:
    """Store nothing; say what is open without consent."""
    await query.answer()
    await message.edit_text(views.not_now())


async def answered_before(query: CallbackQuery) -> None:
    """The consent question again after agreeing (a double tap, an old message): nothing to do."""
    await query.answer()


def create_router() -> Router:
    """/start and the consent question in the private chat."""
    router = private_router(__name__)
    router.callback_query.filter(Shown())
    router.message.register(start_for_roles, CommandStart(), HasRoles(ROLE_GREETING))
    router.message.register(start, CommandStart())
    router.callback_query.register(
        agreed, ConsentCallback.filter(F.action == ConsentAction.AGREE), ~Consented()
    )
    router.callback_query.register(
        not_now, ConsentCallback.filter(F.action == ConsentAction.NOT_NOW), ~Consented()
    )
    router.callback_query.register(answered_before, ConsentCallback.filter(), Consented())
    return router
