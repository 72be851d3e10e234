"""What a member is told about an action kept until consent: a join or an answer pressed (or a
link followed) before agreeing, done after the intake or at once on request."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.telegram.callbacks import KeptAction, KeptCallback
from bot.telegram.format import esc, format_meeting
from models import Group, Meeting, RsvpAnswer


def join_what(group: Group) -> str:
    """The kept action in words: joining a group."""
    return _("join {group}").format(group=f"<b>{esc(group.name)}</b>")


def answer_what(meeting: Meeting, answer: RsvpAnswer, zone: ZoneInfo) -> str:
    """The kept action in words: an answer to a meeting."""
    words = {
        RsvpAnswer.YES: _("yes to {meeting}"),
        RsvpAnswer.MAYBE: _("maybe for {meeting}"),
        RsvpAnswer.NO: _("no to {meeting}"),
    }[answer]
    return words.format(meeting=_meeting_name(meeting, zone))


def group_what(group: Group) -> str:
    """The kept action in words: showing a group (a link was followed)."""
    return _("show {group}").format(group=f"<b>{esc(group.name)}</b>")


def meeting_what(meeting: Meeting, zone: ZoneInfo) -> str:
    """The kept action in words: showing a meeting (a link was followed)."""
    return _("show {meeting}").format(meeting=_meeting_name(meeting, zone))


def _meeting_name(meeting: Meeting, zone: ZoneInfo) -> str:
    return _("{group} on {when}").format(
        group=f"<b>{esc(meeting.group.name)}</b>", when=format_meeting(meeting.starts_at, zone)
    )


def before_consent(what: str) -> str:
    """Above the consent question: the press (or link) is kept, not lost."""
    return _("I've made a note: {what}. First I need your consent.").format(what=what)


def after_consent(what: str) -> tuple[str, InlineKeyboardMarkup]:
    """After agreeing: when the kept action happens, and a button for at once."""
    text = _(
        "Noted: {what}. I'll do it once you've answered the questions (every one can be "
        "skipped) – or right away, without them:"
    ).format(what=what)
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Skip the questions"),
                    callback_data=KeptCallback(action=KeptAction.NOW).pack(),
                )
            ]
        ]
    )
    return text, keyboard


def done(what: str) -> str:
    """Before the result of a kept action."""
    return _("As you asked before: {what}.").format(what=what)


def gone() -> str:
    """The kept action's group or meeting is no longer there."""
    return _("What you chose before consenting is no longer available.")


def nothing_kept() -> str:
    """The "skip the questions" button when nothing is kept (any more)."""
    return _("There is nothing waiting to be done.")
