"""/start: the greeting and the consent question; hosts and organisers get their own welcome.

Links to a group (j<id>) or a meeting (m<id>) open its card; a link to a field action's date
(a<id>) shows its card with the shifts (looking needs no consent); a link that names nothing
says so politely and the start goes on as usual.

/start in the middle of the intake resumes it: the step the member is at comes again as a new
message with the answers so far, and the message that showed it before loses its buttons. A
link followed mid-intake opens its card and the intake carries on below it.
"""

from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.filters import CommandObject, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory, invitations, schedule
from bot.services.field_actions import ActionError
from bot.services.members import set_reachable
from bot.services.profile import give_consent, start_intake
from bot.services.schedule import ScheduleError
from bot.services.welcome import served_chat
from bot.settings import Settings
from bot.telegram import action_cards, intake_steps, membership, pending
from bot.telegram.callbacks import ConsentAction, ConsentCallback
from bot.telegram.deeplinks import parse_payload
from bot.telegram.format import esc, first_name_or_you
from bot.telegram.guards import Consented, HasRoles, private_router
from bot.telegram.pending import Kept
from bot.telegram.screens import Shown
from bot.telegram.views import kept as kept_views
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
    bot: Bot,
    roles: frozenset[Role] = frozenset(),
) -> None:
    """Greet in the member's language; without consent ask for it, otherwise carry on.

    A link to a group or a meeting opens its card; without consent the question comes first
    and the card after it (bot.telegram.pending).
    """
    await _back(state, session, member, keep_intake=True)
    kv = await directory.kv_name(session, settings.kv_name)
    lines = [views.greeting(_name(message, member), kv)]
    origin = await _origin(session, command.args)
    if origin:
        lines.append(origin)
    target = await _target(session, command.args)
    action = await _action_card(session, member, roles, command.args, settings)
    if target is GONE or action is GONE:
        lines.append(views.link_gone())
    if not member.consented:
        question, keyboard = views.consent_question(kv)
        if isinstance(target, Kept):
            what = await pending.describe(session, target, settings)
            await pending.keep(state, target)
            question = kept_views.before_consent(what or "") + "\n\n" + question
        await message.answer("\n\n".join(lines))
        await _send_card(message, action)
        await message.answer(question, reply_markup=keyboard)
        return
    assert member.profile is not None
    if member.profile.intake_completed_at is None:
        # Mid-intake: the link's card (if any), then the step the member is at, answers kept.
        lines.append(views.carry_on())
        text, keyboard = await intake_steps.resume(state, session, member)
        await message.answer("\n\n".join(lines))
        if isinstance(target, Kept):
            await _open(message, session, member, settings, bot, target)
        await _send_card(message, action)
        sent = await message.answer(text, reply_markup=keyboard)
        await intake_steps.shown(state, bot, sent.chat.id, sent.message_id)
        return
    if isinstance(target, Kept):
        lines.append(views.welcome_back())
        await message.answer("\n\n".join(lines))
        await _open(message, session, member, settings, bot, target)
        return
    lines.append(views.welcome_back())
    await message.answer("\n\n".join(lines))
    await _send_card(message, action)


async def start_for_roles(
    message: Message,
    command: CommandObject,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    state: FSMContext,
    roles: frozenset[Role],
    bot: Bot,
) -> None:
    """Hosts, organisers and admins: what the bot does for them, not the newcomer's questions.
    A link to a group or meeting opens its card below."""
    await _back(state, session, member)
    kv = await directory.kv_name(session, settings.kv_name)
    text = views.role_greeting(_name(message, member), kv, roles)
    target = await _target(session, command.args)
    action = await _action_card(session, member, roles, command.args, settings)
    if target is GONE or action is GONE:
        text += "\n\n" + views.link_gone()
    await message.answer(text)
    if isinstance(target, Kept):
        await _open(message, session, member, settings, bot, target)
    await _send_card(message, action)


# A link to a group or meeting that isn't there (any more), or a forged one.
GONE = object()


async def _target(session: AsyncSession, args: str | None) -> Kept | object | None:
    """The group or meeting a /start link opens: Kept("group"/"meeting", id), GONE, or None."""
    payload = parse_payload(args)
    if payload is None or payload.kind not in ("group", "meeting"):
        return None
    if payload.kind == "group":
        found = await directory.active_group(session, payload.id) is not None
        return Kept("group", payload.id) if found else GONE
    try:
        await schedule.get_meeting(session, payload.id)
    except ScheduleError:
        return GONE
    return Kept("meeting", payload.id)


async def _action_card(
    session: AsyncSession,
    member: Member,
    roles: frozenset[Role],
    args: str | None,
    settings: Settings,
) -> action_cards.Screen | object | None:
    """The card of the field action's date an a<id> link names: its screen, GONE, or None."""
    payload = parse_payload(args)
    if payload is None or payload.kind != "action_date":
        return None
    try:
        return await action_cards.date_screen(
            session, member, roles, payload.id, now=utcnow(), zone=settings.zone
        )
    except ActionError:
        return GONE


async def _send_card(message: Message, card: action_cards.Screen | object | None) -> None:
    if isinstance(card, tuple):
        await message.answer(card[0], reply_markup=card[1])


async def _open(
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    bot: Bot,
    target: Kept,
) -> None:
    """The card a link opens: a group's with Join, a meeting's with the answer buttons."""
    if target.kind == "group":
        group = await directory.require_active_group(session, target.id)
        screen = await membership.group_card(session, bot, member, group, settings, utcnow())
    else:
        meeting = await schedule.get_meeting(session, target.id)
        screen = await membership.meeting_screen(session, member, meeting, settings)
    await message.answer(screen[0], reply_markup=screen[1])


async def _back(
    state: FSMContext, session: AsyncSession, member: Member, *, keep_intake: bool = False
) -> None:
    """/start ends any conversation and means "I'm here again" after blocking the bot.

    What a member pressed before consenting stays kept (a new link replaces it); with
    `keep_intake`, an unfinished intake stays where it is, to be resumed.
    """
    kept = await pending.peek(state)
    profile = member.profile
    unfinished = profile is not None and profile.intake_completed_at is None
    if keep_intake and unfinished and intake_steps.current(await state.get_state()):
        # The state stays; of the data only the intake's own (and what was kept).
        await state.set_data(intake_steps.carried(await state.get_data()))
    else:
        await state.clear()
    if kept is not None:
        await pending.keep(state, kept)
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
        # By token only: an unknown or forged one is a plain /start, with no hint.
        inviter = await invitations.inviter(session, payload.token)
        if inviter is not None and inviter.first_name:
            return views.invited_by(inviter.first_name)
    return None


async def agreed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
) -> None:
    """Store the consent and the name, and ask the first question.

    When something was kept from before consent, say when it happens (after the questions)
    and offer it at once instead.
    """
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
    kept = await pending.peek(state)
    what = await pending.describe(session, kept, settings) if kept is not None else None
    if what is not None:
        note, skip = kept_views.after_consent(what)
        await message.answer(note, reply_markup=skip)
    sent = await message.answer(text, reply_markup=keyboard)
    await intake_steps.shown(state, bot, sent.chat.id, sent.message_id)


async def not_now(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """Store nothing (and keep nothing pressed before); say what is open without consent."""
    await pending.take(state)
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
