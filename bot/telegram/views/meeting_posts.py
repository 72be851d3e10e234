"""Meeting posts in group chats, what the host is told about posting, and /termine in a group."""

from __future__ import annotations

import enum
from collections.abc import Sequence
from dataclasses import dataclass
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services.meeting_posts import PostError, Target
from bot.services.rsvp import Counts
from bot.telegram.callbacks import HostAction, HostCallback
from bot.telegram.format import esc, fitting, format_meeting
from bot.telegram.views.meeting_card import cancelled_line, meeting_text, rsvp_keyboard
from models import Meeting

# HostCallback(POST).value, bit by bit: pin the post; replace the post already there (without
# it, an existing post is not posted twice: the host is asked first).
PIN = 1
REPLACE = 2
POST_VALUES = range(4)
# The dates' share of a /termine answer in a group chat (the rest: heading and hint).
GROUP_LIST_BUDGET = 3500


def post_view(
    meeting: Meeting, counts: Counts, zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup | None]:
    """The post in the group's chat: the card with counts and yes / maybe / no for everyone.

    A cancelled meeting shows as cancelled, without buttons.
    """
    text = meeting_text(meeting, counts, zone)
    if not meeting.cancelled:
        text += "\n\n<i>" + _("Tap a button to say whether you are coming.") + "</i>"
    return text, rsvp_keyboard(meeting, personal=False)


def post_link(chat_id: int, message_id: int) -> str | None:
    """A t.me link to a post in a supergroup (opens for the chat's members); None elsewhere."""
    digits = str(chat_id)
    if not digits.startswith("-100"):
        return None
    return f"https://t.me/c/{digits[4:]}/{message_id}"


class Outcome(enum.Enum):
    """How posting into one chat went."""

    POSTED = "posted"
    PINNED = "pinned"
    PIN_FAILED = "pin_failed"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Posted:
    """One chat's result, for the host."""

    title: str
    outcome: Outcome
    link: str | None = None


def _chat(title: str, link: str | None) -> str:
    name = f"<b>{esc(title)}</b>"
    return f'<a href="{esc(link)}">{name}</a>' if link else name


def posted_report(results: Sequence[Posted]) -> str:
    """What the host is told after posting: per chat, posted (pinned) or why not."""
    lines = []
    for result in results:
        chat = _chat(result.title, result.link)
        if result.outcome is Outcome.PINNED:
            lines.append("📌 " + _("Posted and pinned in {chat}.").format(chat=chat))
        elif result.outcome is Outcome.POSTED:
            lines.append("✅ " + _("Posted in {chat}.").format(chat=chat))
        elif result.outcome is Outcome.PIN_FAILED:
            lines.append(
                "✅ "
                + _(
                    "Posted in {chat}, but I could not pin it: make me an admin there "
                    "who may pin messages, then post it again with pinning."
                ).format(chat=chat)
            )
        else:
            lines.append(
                "⚠️ "
                + _(
                    "I could not post in {chat}: I am no longer in that chat, or I may not "
                    "write there."
                ).format(chat=chat)
            )
    if any(result.outcome is not Outcome.FAILED for result in results):
        lines += ["", _("The counts under the post update by themselves as people answer.")]
    return "\n".join(lines)


def already_posted(
    meeting: Meeting, targets: Sequence[Target], zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup]:
    """The meeting is in the chat already: say where, offer to post it anew."""
    chats = [
        _chat(target.title, post_link(target.chat_id, target.existing.message_id))
        for target in targets
        if target.existing is not None
    ]
    text = "\n\n".join(
        [
            _("The meeting on {when} is already posted in {chats}.").format(
                when=format_meeting(meeting.starts_at, zone), chats=", ".join(chats)
            ),
            _("Its counts stay current by themselves. Post it again? The old post is removed."),
        ]
    )
    again = HostCallback(
        action=HostAction.POST, group_id=meeting.group_id, meeting_id=meeting.id, value=REPLACE
    )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [InlineKeyboardButton(text=_("Post again"), callback_data=again.pack())],
            [
                InlineKeyboardButton(
                    text=_("Post again and pin"),
                    callback_data=again.model_copy(update={"value": REPLACE | PIN}).pack(),
                )
            ],
        ]
    )
    return text, keyboard


def post_error(error: PostError) -> str:
    """Why a meeting was not posted."""
    if error.reason == "not_allowed":
        return _("Only the group's hosts and the organisers can post its meetings.")
    if error.reason == "cancelled":
        return _("This meeting was cancelled.")
    if error.reason == "started":
        return _("This meeting has already started.")
    if error.reason == "no_chat":
        return _(
            "This group has no Telegram chat I know of. The organisers can add it in the "
            "KV setup (telegram_groups)."
        )
    return _("This meeting is no longer on the list. /dates shows the current ones.")


def group_dates(
    upcoming: Sequence[Meeting], zone: ZoneInfo, *, group_name: str | None, private_url: str
) -> tuple[str, InlineKeyboardMarkup]:
    """/termine in a group chat: the next dates (of the chat's group, or of all groups) and the
    way to the private chat, where members answer."""
    if group_name is not None:
        lines = [_("<b>Next meetings of {group}</b>").format(group=esc(group_name))]
    else:
        lines = [_("<b>The next meetings</b>")]
    if not upcoming:
        lines.append(_("No meetings in the next four weeks."))
    listed = []
    for meeting in upcoming:
        if meeting.cancelled:
            line = cancelled_line(meeting, zone)
        else:
            line = f"🗓 {format_meeting(meeting.starts_at, zone)}"
            if meeting.where:
                line += f" ({esc(meeting.where)})"
        if group_name is None:
            line += f" – {esc(meeting.group.name)}"
        listed.append(line)
    # As many as fit one message; the next ones show as the days pass.
    shown = fitting(listed, budget=GROUP_LIST_BUDGET)
    lines += listed[:shown]
    if shown < len(listed):
        more = len(listed) - shown
        lines.append(
            ngettext("… and {n} more meeting.", "… and {n} more meetings.", more).format(n=more)
        )
    lines += [
        "",
        _("Say whether you are coming, see all groups and your calendar in our private chat."),
    ]
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[[InlineKeyboardButton(text=_("Open the private chat"), url=private_url)]]
    )
    return "\n".join(lines), keyboard
