"""Found a Stammtisch: a member proposes one in a short conversation (name, Stadtteil, place,
rhythm; /abbrechen cancels), each organiser gets it with Approve / Decline, the first decision
counts, and the proposer hears it. Approving makes the proposer the new group's host.
"""

from __future__ import annotations

import logging
from functools import partial
from typing import Any

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Filter, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import directory, notice_caps, proposals
from bot.services.locales import member_locale
from bot.services.members import get_member
from bot.services.notice_caps import NoticeKind
from bot.services.proposals import ProposalError
from bot.services.recurrence import RuleError
from bot.services.roles import effective_roles
from bot.settings import Settings
from bot.telegram.callbacks import (
    FoundingCallback,
    FoundingStep,
    GroupAction,
    GroupCallback,
    ProposalAction,
    ProposalCallback,
)
from bot.telegram.commands import set_member_menu
from bot.telegram.guards import Consented, HasRoles, explain, private_router
from bot.telegram.notify import tell, tell_member
from bot.telegram.screens import Shown, drop_buttons, edit
from bot.telegram.views import founding as views
from bot.telegram.views import notice_caps as cap_views
from models import District, GroupProposal, Member, Role
from models.base import utcnow, valid_id

logger = logging.getLogger(__name__)

ORGANISERS = frozenset({Role.ORGANISER})
# Keys in the conversation data.
NAME, DISTRICT, PLACE = "found_name", "found_district", "found_place"
# The message asking the current question: only its buttons answer it (an abandoned earlier
# conversation's question at the same step must not answer this one's).
QUESTION = "found_question"


class Founding(StatesGroup):
    """Proposing a Stammtisch: one state per question."""

    name = State()
    district = State()
    place = State()
    rhythm = State()


async def found_pressed(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """ "Start a Stammtisch": the first question."""
    await state.set_state(Founding.name)
    await state.update_data({NAME: None, DISTRICT: None, PLACE: None, QUESTION: None})
    await query.answer()
    await message.answer(views.ask_name())


async def name_given(message: Message, session: AsyncSession, state: FSMContext, text: str) -> None:
    """The name; then the Stadtteil (skipped when the KV has none)."""
    name = proposals.check_name(text)
    await state.update_data({NAME: name})
    districts = await directory.districts(session)
    if districts:
        await state.set_state(Founding.district)
        question, keyboard = views.ask_district(districts)
        sent = await message.answer(question, reply_markup=keyboard)
        await state.update_data({QUESTION: sent.message_id})
        return
    await _ask_place(message, state)


async def _ask_place(message: Message, state: FSMContext) -> None:
    await state.set_state(Founding.place)
    text, keyboard = views.ask_place()
    sent = await message.answer(text, reply_markup=keyboard)
    await state.update_data({QUESTION: sent.message_id})


async def _ask_rhythm(message: Message, state: FSMContext) -> None:
    await state.set_state(Founding.rhythm)
    text, keyboard = views.ask_rhythm()
    sent = await message.answer(text, reply_markup=keyboard)
    await state.update_data({QUESTION: sent.message_id})


async def district_chosen(
    query: CallbackQuery,
    callback_data: FoundingCallback,
    message: Message,
    session: AsyncSession,
    state: FSMContext,
) -> None:
    """A Stadtteil button (0: the whole KV); then the place."""
    district_id = callback_data.value
    name = views.whole_kv()
    if district_id:
        district = await session.get(District, district_id) if valid_id(district_id) else None
        if district is None:
            raise ProposalError("district")
        name = district.name
    await state.update_data({DISTRICT: district_id or None})
    await query.answer()
    await edit(message, views.chosen(name), None)
    await _ask_place(message, state)


async def place_given(message: Message, state: FSMContext, text: str) -> None:
    """The place typed; then the rhythm."""
    await state.update_data({PLACE: proposals.check_place(text)})
    await _ask_rhythm(message, state)


async def place_unknown(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """ "Don't know yet" for the place; then the rhythm."""
    await state.update_data({PLACE: None})
    await query.answer()
    await edit(message, views.chosen(views.dont_know()), None)
    await _ask_rhythm(message, state)


async def rhythm_given(
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
    text: str,
) -> None:
    """The rhythm typed (it must parse); then the proposal goes out."""
    try:
        phrase, _rule = proposals.check_rhythm(text)
    except RuleError as error:
        await message.answer(views.rhythm_refused(error))
        return
    await _propose(message, session, member, state, settings, bot, i18n, phrase)


async def rhythm_unknown(
    query: CallbackQuery,
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    """ "Don't know yet" for the rhythm; the proposal goes out."""
    await query.answer()
    await edit(message, views.chosen(views.dont_know()), None)
    await _propose(message, session, member, state, settings, bot, i18n, None)


async def _propose(
    message: Message,
    session: AsyncSession,
    member: Member,
    state: FSMContext,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
    rule: str | None,
) -> None:
    data = await state.get_data()
    if not await notice_caps.claim(session, member.id, NoticeKind.PROPOSAL, now=utcnow()):
        await state.clear()
        await message.answer(cap_views.proposal_already_sent())
        return
    proposal = await proposals.propose(
        session,
        proposer_id=member.id,
        name=data.get(NAME) or "",
        district_id=data.get(DISTRICT),
        place=data.get(PLACE),
        rule=rule,
        now=utcnow(),
    )
    await session.commit()
    await state.clear()
    district = await _district(session, proposal)
    await message.answer(views.sent(proposal, district, settings.zone))
    card = partial(views.proposal_card, member, proposal, district, settings.zone)
    told = False
    for organiser_id in await directory.organiser_ids(session, settings.admin_ids):
        told |= await tell_member(
            bot, i18n, session, organiser_id, default_locale=settings.default_locale, render=card
        )
    if not told:
        await message.answer(views.no_organisers())


async def _district(session: AsyncSession, proposal: GroupProposal) -> District | None:
    if proposal.district_id is None:
        return None
    return await session.get(District, proposal.district_id)


async def not_text(message: Message) -> None:
    """A sticker or photo while a question waits for text."""
    await message.answer(views.text_only())


class OnQuestion(Filter):
    """Passes a press on the message asking the current question (any message for a
    conversation begun before questions were tracked)."""

    async def __call__(self, query: CallbackQuery, message: Message, state: FSMContext) -> bool:
        """Whether `message` asks the conversation's current question."""
        del query
        return (await state.get_data()).get(QUESTION) in (None, message.message_id)


async def left_step(query: CallbackQuery, message: Message, state: FSMContext) -> None:
    """A button of a question already answered (or of a cancelled or older conversation): its
    buttons go, nothing is stored."""
    await query.answer(views.refused(ProposalError("stale")))
    if (await state.get_data()).get(QUESTION) != message.message_id:
        await drop_buttons(message)


async def decide_pressed(
    query: CallbackQuery,
    callback_data: ProposalCallback,
    message: Message,
    session: AsyncSession,
    member: Member,
    settings: Settings,
    bot: Bot,
    i18n: I18n,
) -> None:
    """An organiser approves or declines; the first decision counts, the proposer is told."""
    decision = await proposals.decide(
        session,
        callback_data.proposal_id,
        approve=callback_data.action == ProposalAction.APPROVE,
        decided_by=member.id,
        now=utcnow(),
        zone=settings.zone,
    )
    await session.commit()
    proposal = decision.proposal
    district = await _district(session, proposal)
    if not decision.decided:
        by = await get_member(session, proposal.decided_by or 0)
        # An alert is plain text: the name needs no escaping.
        name = by.first_name if by is not None and by.first_name else str(proposal.decided_by)
        await query.answer(views.already_decided(proposal, name), show_alert=True)
        await edit(message, views.decided_here(proposal, district, settings.zone), None)
        return
    await query.answer()
    await edit(message, views.decided_here(proposal, district, settings.zone), None)
    proposer = await get_member(session, proposal.proposer_id)
    note = views.approved_note if decision.group is not None else views.declined_note
    await tell(
        bot,
        i18n,
        proposal.proposer_id,
        proposer,
        default_locale=settings.default_locale,
        render=partial(note, proposal),
    )
    if decision.group is not None and proposer is not None:
        await _host_menu(bot, i18n, settings, proposer)


async def _host_menu(bot: Bot, i18n: I18n, settings: Settings, proposer: Member) -> None:
    """The new host's command menu shows what hosts can do."""
    try:
        await set_member_menu(
            bot,
            i18n,
            chat_id=proposer.id,
            roles=effective_roles(proposer.id, proposer.role_set, settings.admin_ids),
            locale=member_locale(
                proposer, available=i18n.available_locales, default=settings.default_locale
            ),
            chose_language=proposer.language is not None,
        )
    except TelegramAPIError as exc:
        logger.info("no command menu for the new host=%s: %s", proposer.id, exc)


async def not_organiser(query: CallbackQuery) -> None:
    """Approve or Decline from someone who isn't an organiser (forwarded, forged)."""
    await query.answer(views.only_organisers(), show_alert=True)


def _proposal_refused(error: ProposalError) -> str:
    if error.reason == "unknown":
        return views.proposal_gone()
    return views.refused(error)


def create_router() -> Router:
    """The founding conversation and the organisers' decision."""
    router = private_router(__name__)
    router.callback_query.filter(Shown())
    press = router.callback_query.register
    press(found_pressed, GroupCallback.filter(F.action == GroupAction.FOUND), Consented())
    # Typed answers: text that isn't a command (commands work as usual meanwhile).
    typed = (F.text.as_("text"), ~F.text.startswith("/"), Consented())
    on_text = router.message.register
    on_text(name_given, StateFilter(Founding.name), *typed)
    on_text(place_given, StateFilter(Founding.place), *typed)
    on_text(rhythm_given, StateFilter(Founding.rhythm), *typed)
    on_text(not_text, StateFilter(Founding.name, Founding.place, Founding.rhythm), ~F.text)

    def on(step: FoundingStep) -> Any:
        return FoundingCallback.filter(F.step == step)

    current = (OnQuestion(), Consented())
    press(district_chosen, on(FoundingStep.DISTRICT), StateFilter(Founding.district), *current)
    press(place_unknown, on(FoundingStep.PLACE), StateFilter(Founding.place), *current)
    press(rhythm_unknown, on(FoundingStep.RHYTHM), StateFilter(Founding.rhythm), *current)
    press(left_step, FoundingCallback.filter())
    press(decide_pressed, ProposalCallback.filter(), HasRoles(ORGANISERS))
    press(not_organiser, ProposalCallback.filter())
    explain(router, ProposalError, _proposal_refused, alert=False)
    return router
