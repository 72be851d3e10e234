"""Proposing a Stammtisch: the member's questions, the proposal organisers decide on, and what
each side hears afterwards."""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.kv_setup.schema import MAX_ENTRIES
from bot.services.proposals import MIN_NAME_LENGTH, ProposalError
from bot.services.recurrence import RuleError, parse_rule
from bot.telegram.callbacks import (
    FoundingCallback,
    FoundingStep,
    ProposalAction,
    ProposalCallback,
)
from bot.telegram.format import describe_rule, esc, member_label
from models import District, GroupProposal, Member, ProposalStatus
from models.kv import NAME_LENGTH

Screen = tuple[str, InlineKeyboardMarkup | None]


def _button(text: str, step: FoundingStep, value: int = 0) -> InlineKeyboardButton:
    data = FoundingCallback(step=step, value=value)
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def ask_name() -> str:
    """The first question."""
    return _(
        "Great that you'd like to start a Stammtisch! Four short questions, then I'll pass "
        "your proposal to the organisers. /cancel stops at any time.\n\n"
        "<b>What should your Stammtisch be called?</b> (e.g. „Stammtisch Lindenau“)"
    )


# A KV has at most this many Stadtteile (the setup file's limit), each a button here.
MAX_DISTRICTS = MAX_ENTRIES


def ask_district(districts: Sequence[District]) -> Screen:
    """Which Stadtteil, as buttons (and the whole KV)."""
    rows = [
        [_button(district.name, FoundingStep.DISTRICT, district.id)]
        for district in districts[:MAX_DISTRICTS]
    ]
    rows.append([_button(_("Whole KV / not sure"), FoundingStep.DISTRICT, 0)])
    return _("<b>In which Stadtteil?</b>"), InlineKeyboardMarkup(inline_keyboard=rows)


def ask_place() -> Screen:
    """Where it would meet."""
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[_button(_("Don't know yet"), FoundingStep.PLACE)]]
    )
    return _("<b>Where would you meet?</b> Type a pub, café or address."), keyboard


def ask_rhythm() -> Screen:
    """How often it would meet, as a phrase."""
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[_button(_("Don't know yet"), FoundingStep.RHYTHM)]]
    )
    text = _(
        "<b>How often would you meet?</b> Type it as you'd say it, e.g. „jeden 2. Donnerstag "
        "19 Uhr“, „every Tuesday 19:30“ or „last Friday of the month 18:00“."
    )
    return text, keyboard


def chosen(value: str) -> str:
    """The question's message after a button answered it."""
    return _("Noted: {value}").format(value=esc(value))


def dont_know() -> str:
    """The answer "don't know yet", shown back."""
    return _("not known yet")


def whole_kv() -> str:
    """The answer "whole KV / not sure", shown back."""
    return _("whole KV")


def refused(error: ProposalError) -> str:
    """A typed answer that can't be used; the question stands."""
    if error.reason == "name":
        return _("Please give a name of {low} to {high} characters.").format(
            low=MIN_NAME_LENGTH, high=NAME_LENGTH
        )
    if error.reason == "place":
        return _("Please type the place in up to 200 characters.")
    return _("This button is no longer valid.")


def rhythm_refused(error: RuleError) -> str:
    """A rhythm the parser can't read, with its reason; the question stands."""
    return _(
        "I couldn't read that: {reason}\nTry e.g. „jeden Donnerstag 19 Uhr“, or tap "
        "„Don't know yet“."
    ).format(reason=esc(str(error)))


def text_only() -> str:
    """Something other than text during the conversation."""
    return _("Please answer with text, or /cancel.")


def _rhythm(rule: str | None, zone: ZoneInfo) -> str:
    if not rule:
        return _("not known yet")
    try:
        return describe_rule(parse_rule(rule), zone)
    except RuleError:
        return esc(rule)


def summary(proposal: GroupProposal, district: District | None, zone: ZoneInfo) -> str:
    """The proposal's details, one per line."""
    lines = [
        _("Name: {value}").format(value=esc(proposal.name)),
        _("Stadtteil: {value}").format(value=esc(district.name) if district else whole_kv()),
        _("Place: {value}").format(value=esc(proposal.place) if proposal.place else dont_know()),
        _("Rhythm: {value}").format(value=_rhythm(proposal.rule, zone)),
    ]
    return "\n".join(lines)


def sent(proposal: GroupProposal, district: District | None, zone: ZoneInfo) -> str:
    """The member's confirmation."""
    return (
        _("Thank you! I've passed your proposal to the organisers; I'll tell you what they decide.")
        + "\n\n"
        + summary(proposal, district, zone)
    )


def no_organisers() -> str:
    """Nobody could be told (no organiser, none reachable)."""
    return _("I couldn't reach an organiser just now; your proposal is saved all the same.")


def proposal_card(
    proposer: Member, proposal: GroupProposal, district: District | None, zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    """What each organiser gets: the proposal with Approve and Decline."""
    text = (
        _("{who} proposes a new Stammtisch:").format(who=member_label(proposer))
        + "\n\n"
        + summary(proposal, district, zone)
    )

    def button(label: str, action: ProposalAction) -> InlineKeyboardButton:
        data = ProposalCallback(action=action, proposal_id=proposal.id)
        return InlineKeyboardButton(text=label, callback_data=data.pack())

    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                button(_("Approve"), ProposalAction.APPROVE),
                button(_("Decline"), ProposalAction.DECLINE),
            ]
        ]
    )
    return text, keyboard


def decided_here(proposal: GroupProposal, district: District | None, zone: ZoneInfo) -> str:
    """The organiser's card after their decision."""
    result = (
        _("Approved: the Stammtisch is now listed, and its proposer is its host.")
        if proposal.status == ProposalStatus.APPROVED
        else _("Declined. I've told the proposer kindly.")
    )
    return summary(proposal, district, zone) + "\n\n" + result


def already_decided(proposal: GroupProposal, by: str) -> str:
    """A press after the decision (a second press, another organiser)."""
    if proposal.status == ProposalStatus.APPROVED:
        return _("Already approved by {name}.").format(name=by)
    return _("Already declined by {name}.").format(name=by)


def only_organisers() -> str:
    """A press from someone who isn't an organiser."""
    return _("Only organisers can decide on proposals.")


def proposal_gone() -> str:
    """A press naming no proposal (forged)."""
    return _("This proposal no longer exists.")


def approved_note(proposal: GroupProposal) -> Screen:
    """What the proposer hears after an approval."""
    text = _(
        "Good news: your Stammtisch <b>{name}</b> was approved! It is now listed in /groups, "
        "and you are its host: I'll tell you when someone joins."
    ).format(name=esc(proposal.name))
    return text, None


def declined_note(proposal: GroupProposal) -> Screen:
    """What the proposer hears after a decline: kindly, with a way on."""
    text = _(
        "Thank you for proposing <b>{name}</b>. The organisers decided not to start it as a "
        "Stammtisch for now – maybe there's a group close to it already. /groups shows them "
        "all; the office is happy to talk it over with you."
    ).format(name=esc(proposal.name))
    return text, None
