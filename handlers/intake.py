"""The intake: one question per step, the summary of the answers, /profil.

The steps themselves (state, options, question, how an answer is stored, what comes next) are
one table in bot.telegram.intake_steps; each button action here is one function, registered
with the filter that says which steps it belongs to.

Presses are idempotent: a choice's button says what it sets (on, off, the one answer), so a
double tap or a late press sets the same again, and every screen is drawn from the database
after the press. A button of a step the member has left (a double tap on Next, an old message)
changes nothing and shows the step the conversation is at instead; one message shows the
intake at a time (intake_steps.SCREEN), an older one loses its buttons. After the intake (or
outside it) a press gets a polite note pointing to /profil.
"""

from __future__ import annotations

from collections.abc import Collection

from aiogram import Bot, F, Router
from aiogram.filters import Command, Filter
from aiogram.filters.callback_data import CallbackQueryFilter
from aiogram.fsm.context import FSMContext
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory
from bot.services.members import load_answers
from bot.services.profile import ProfileError, complete_intake
from bot.settings import Settings
from bot.telegram import intake_steps, pending
from bot.telegram.callbacks import IntakeAction, IntakeCallback, IntakeStep
from bot.telegram.commands import PROFILE
from bot.telegram.guards import Consented, explain, private_router
from bot.telegram.intake_steps import BACK_TO_SUMMARY, ONE, ORDER, SEVERAL, STATE_OF, STEPS
from bot.telegram.screens import Shown, show
from bot.telegram.views import groups as group_views
from bot.telegram.views import intake as views
from bot.telegram.views import start as start_views
from bot.telegram.views.intake import Screen
from models import Member
from models.base import utcnow


class InIntake(Filter):
    """Passes while the conversation is at one of the intake's steps or its summary."""

    async def __call__(self, query: CallbackQuery, raw_state: str | None = None) -> bool:
        """Whether `raw_state` is an intake state."""
        del query
        return intake_steps.current(raw_state) is not None


class OnCurrentStep(Filter):
    """Passes the press of a button that belongs to the step the member is on."""

    async def __call__(
        self, query: CallbackQuery, callback_data: IntakeCallback, raw_state: str | None = None
    ) -> bool:
        """Whether the button's step is the conversation's current state."""
        del query
        state = STATE_OF.get(callback_data.step)
        return state is not None and state.state == raw_state


async def _present(message: Message, state: FSMContext, bot: Bot, screen: Screen) -> None:
    """Show `screen` in the pressed message; it is the intake's one live message from now on."""
    shown = await show(message, *screen)
    await intake_steps.shown(state, bot, shown.chat.id, shown.message_id)


async def _send(message: Message, state: FSMContext, bot: Bot, screen: Screen) -> None:
    """Send `screen` as a new message, the intake's one live message from now on."""
    sent = await message.answer(screen[0], reply_markup=screen[1])
    await intake_steps.shown(state, bot, sent.chat.id, sent.message_id)


async def show_profile(
    message: Message, session: AsyncSession, member: Member, state: FSMContext, bot: Bot
) -> None:
    """The member's answers with a button to change each, and one for suggestions."""
    screen = await intake_steps.enter(state, session, member, IntakeStep.SUMMARY)
    await _send(message, state, bot, screen)


async def profile_without_consent(
    message: Message, session: AsyncSession, settings: Settings
) -> None:
    """/profil before agreeing: the consent question (the answers come after it)."""
    kv = await directory.kv_name(session, settings.kv_name)
    text, keyboard = start_views.consent_question(kv)
    await message.answer(text, reply_markup=keyboard)


async def resumed(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    bot: Bot,
) -> None:
    """The reminder's button: the step the member is at (the first when there is none) again,
    under the reminder; after the intake, a note where the answers are."""
    assert member.profile is not None
    in_intake = intake_steps.current(await state.get_state()) is not None
    if member.profile.intake_completed_at is not None and not in_intake:
        await query.answer(views.intake_closed())
        return
    screen = await intake_steps.resume(state, session, member)
    await query.answer()
    await _send(message, state, bot, screen)


async def left_step(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    bot: Bot,
    raw_state: str | None = None,
) -> None:
    """A button of a step the member has left (a double tap on Next, an old message): nothing
    changes, and the pressed message shows the step the conversation is at."""
    key = intake_steps.current(raw_state)
    assert key is not None  # the filter passes intake states only
    screen = await intake_steps.screen(session, member, key)
    await query.answer(views.left_step())
    await _present(message, state, bot, screen)


async def closed(query: CallbackQuery) -> None:
    """A button of an intake that is over (done, skipped, or another conversation began)."""
    await query.answer(views.intake_closed())


async def chosen(
    query: CallbackQuery,
    callback_data: IntakeCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    bot: Bot,
) -> None:
    """Choose one of several options (a topic, an activity type, a free-time slot)."""
    await _set(query, callback_data, message, session, member, state, bot, chosen=True)


async def unchosen(
    query: CallbackQuery,
    callback_data: IntakeCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    bot: Bot,
) -> None:
    """Unchoose one of several options."""
    await _set(query, callback_data, message, session, member, state, bot, chosen=False)


async def _set(
    query: CallbackQuery,
    callback_data: IntakeCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    bot: Bot,
    *,
    chosen: bool,
) -> None:
    # The button says what it sets, so a repeated press stores the same and shows the same;
    # a screen left behind by an edit that never happened is redrawn from what is stored.
    step = callback_data.step
    await STEPS[step].store(session, member, callback_data.value, chosen)
    await session.commit()
    screen = await intake_steps.screen(session, member, step)
    await query.answer()
    await _present(message, state, bot, screen)


async def choice_made(
    query: CallbackQuery,
    callback_data: IntakeCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    bot: Bot,
) -> None:
    """The one answer of a step (Stadtteil, frequency): store it and move on."""
    step = callback_data.step
    await STEPS[step].store(session, member, callback_data.value, True)
    await session.commit()
    following = await intake_steps.following(state, step)
    screen = await intake_steps.enter(state, session, member, following)
    await query.answer(views.saved())
    await _present(message, state, bot, screen)


async def went_on(
    query: CallbackQuery,
    callback_data: IntakeCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    bot: Bot,
) -> None:
    """Next or Skip: on to what follows, storing nothing."""
    following = await intake_steps.following(state, callback_data.step)
    screen = await intake_steps.enter(state, session, member, following)
    await query.answer()
    await _present(message, state, bot, screen)


async def went_back(
    query: CallbackQuery,
    callback_data: IntakeCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    bot: Bot,
) -> None:
    """Back: the question before this one."""
    earlier = intake_steps.previous(callback_data.step)
    screen = await intake_steps.enter(state, session, member, earlier)
    await query.answer()
    await _present(message, state, bot, screen)


async def edit_chosen(
    query: CallbackQuery,
    callback_data: IntakeCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    bot: Bot,
) -> None:
    """From the summary: one question again, then back to the summary."""
    await state.update_data({BACK_TO_SUMMARY: True})
    screen = await intake_steps.enter(state, session, member, ORDER[callback_data.value])
    await query.answer()
    await _present(message, state, bot, screen)


async def done(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    """Finish the intake: the answers stay on screen, the suggestions come below, and then
    whatever the member pressed before consenting (a join, an answer, a link) is done."""
    now = utcnow()
    complete_intake(member, now)
    await session.commit()
    kept = await pending.take(state)
    # Another message still showing the intake loses its buttons with it.
    await intake_steps.shown(state, bot, message.chat.id, message.message_id)
    await state.clear()
    page = await directory.suggestion_page(
        session, member, now=now, zone=settings.zone, page=0, size=group_views.PAGE_SIZE
    )
    assert member.profile is not None
    text, keyboard = group_views.suggestions(page, settings.zone)
    await query.answer()
    await message.edit_text(views.finished(await load_answers(session, member.profile)))
    await message.answer(text, reply_markup=keyboard)
    if kept is not None:
        await pending.carry_out(session, bot, i18n, settings, member, kept, now=now)


def create_router() -> Router:
    """/profil and the intake's buttons, for members who agreed to it."""
    router = private_router(__name__)
    router.callback_query.filter(Shown(), Consented())
    router.message.register(profile_without_consent, Command(*PROFILE.aliases), ~Consented())
    router.message.register(show_profile, Command(*PROFILE.aliases))

    def on(action: IntakeAction, steps: Collection[IntakeStep]) -> CallbackQueryFilter:
        return IntakeCallback.filter((F.action == action) & F.step.in_(steps))

    press = router.callback_query.register
    # The reminder's button belongs to no step; every other press must be on the current one.
    press(resumed, IntakeCallback.filter(F.action == IntakeAction.RESUME))
    press(closed, IntakeCallback.filter(), ~InIntake())
    press(left_step, IntakeCallback.filter(), ~OnCurrentStep())
    press(chosen, on(IntakeAction.ON, SEVERAL))
    press(unchosen, on(IntakeAction.OFF, SEVERAL))
    press(choice_made, on(IntakeAction.CHOOSE, ONE))
    press(went_on, on(IntakeAction.NEXT, SEVERAL))
    press(went_on, on(IntakeAction.SKIP, ORDER))
    press(went_back, on(IntakeAction.BACK, ORDER[1:]))
    press(
        edit_chosen,
        IntakeCallback.filter(
            (F.action == IntakeAction.EDIT)
            & (F.step == IntakeStep.SUMMARY)
            & F.value.in_(range(len(ORDER)))
        ),
    )
    press(done, on(IntakeAction.DONE, frozenset({IntakeStep.SUMMARY})))
    # A forged answer (an unknown id) or one after consent was withdrawn stores nothing.
    explain(router, ProfileError, views.answer_refused, alert=True)
    return router
