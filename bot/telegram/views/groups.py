"""/gruppen: suggestions with their reasons, the directory, a group's details, joining.

Also what hosts hear when someone joins, and what organisers hear when a member found nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.directory import GroupError, ListedGroup, SuggestionPage
from bot.services.matching import Reasons
from bot.services.recurrence import Rule
from bot.telegram.callbacks import GroupAction, GroupCallback
from bot.telegram.format import (
    describe_rule,
    esc,
    format_meeting,
    meeting_dates,
    meeting_slot,
    member_label,
)
from bot.telegram.labels import group_type_label
from bot.telegram.notify import open_chat_keyboard
from models import Group, Member

Screen = tuple[str, InlineKeyboardMarkup]
Row = list[InlineKeyboardButton]

# Suggestions per screen: enough to choose from, few enough to read on a phone.
PAGE_SIZE = 3
# Group names in buttons are cut here, so a label stays readable on a phone (~30 characters).
BUTTON_NAME_LIMIT = 24


def suggestions(page: SuggestionPage, zone: ZoneInfo) -> Screen:
    """A page of suggested groups: name, why it fits, next meeting; join and details buttons."""
    if not page.groups:
        return _nothing_fits()
    heading = _("This group could fit you:", "These groups could fit you:", len(page.groups))
    blocks = [heading]
    rows: list[Row] = []
    for listed in page.groups:
        group = listed.group
        lines = [f"<b>{esc(group.name)}</b> ({group_type_label(group.type)})"]
        if listed.reasons is not None:
            lines.append(_reasons(group, listed.reasons, zone))
        lines.append(_next_line(group, listed.next_meeting, zone))
        blocks.append("\n".join(line for line in lines if line))
        rows += _group_rows(group)
    if page.remaining:
        more = _("Show {count} more group", "Show {count} more groups", page.remaining)
        rows.append(
            [
                InlineKeyboardButton(
                    text=more.format(count=page.remaining),
                    callback_data=GroupCallback(action=GroupAction.MORE, page=page.page + 1).pack(),
                )
            ]
        )
    return "\n\n".join(blocks), InlineKeyboardMarkup(inline_keyboard=rows)


def _nothing_fits() -> Screen:
    text = _(
        "I haven't found a group that fits you yet. Would you like to start one, or talk "
        "to someone from the office?"
    )
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(
                    text=_("Start a group"),
                    callback_data=GroupCallback(action=GroupAction.FOUND).pack(),
                )
            ],
            [
                InlineKeyboardButton(
                    text=_("Talk to the office"),
                    callback_data=GroupCallback(action=GroupAction.OFFICE).pack(),
                )
            ],
        ]
    )
    return text, keyboard


def _reasons(group: Group, reasons: Reasons, zone: ZoneInfo) -> str:
    parts: list[str] = []
    if reasons.same_district and group.district is not None:
        parts.append(esc(group.district.name))
    elif reasons.kv_wide:
        parts.append(_("whole KV"))
    names = {topic.id: topic.name for topic in group.topics}
    shared = [esc(names[topic_id]) for topic_id in reasons.shared_topic_ids if topic_id in names]
    if shared:
        parts.append(", ".join(shared))
    if reasons.slot is not None and reasons.next_meeting is not None:
        slot = meeting_slot(reasons.next_meeting, reasons.slot, zone)
        if reasons.fits_free_time:
            slot = _("{slot}, fits your free time").format(slot=slot)
        parts.append(slot)
    if reasons.newcomer_friendly:
        parts.append(_("open to newcomers"))
    return " · ".join(parts)


def _next_line(group: Group, next_meeting: datetime | None, zone: ZoneInfo) -> str:
    if next_meeting is None:
        return _("No fixed date yet.")
    line = _("Next meeting: {when}").format(when=format_meeting(next_meeting, zone))
    if group.place:
        line += " · " + esc(group.place)
    return line


def _group_rows(group: Group) -> list[Row]:
    """Join and details, each naming the group: a list of them must not read "Join, Join"."""
    return [[_join_button(group)], [_details_button(group)]]


def _join_button(group: Group) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("Join {group}").format(group=_short(group.name)),
        callback_data=GroupCallback(action=GroupAction.JOIN, group_id=group.id).pack(),
    )


def _details_button(group: Group) -> InlineKeyboardButton:
    return InlineKeyboardButton(
        text=_("Details: {group}").format(group=_short(group.name)),
        callback_data=GroupCallback(action=GroupAction.DETAILS, group_id=group.id).pack(),
    )


def _short(name: str) -> str:
    """A group's name for a button (plain text, not HTML), cut at a word where it can be."""
    if len(name) <= BUTTON_NAME_LIMIT:
        return name
    cut = name[: BUTTON_NAME_LIMIT - 1]
    if " " in cut[BUTTON_NAME_LIMIT // 2 :]:
        cut = cut.rsplit(" ", 1)[0]
    return cut.rstrip(" ,–-&") + "…"


def directory(
    groups: Sequence[ListedGroup], zone: ZoneInfo
) -> tuple[str, InlineKeyboardMarkup | None]:
    """Every group of the KV, for members who haven't told the bot what they are looking for."""
    if not groups:
        return _("There are no groups listed yet."), None
    blocks = [_("All groups of the KV:")]
    rows: list[Row] = []
    for listed in groups:
        group = listed.group
        where = esc(group.district.name) if group.district else _("whole KV")
        blocks.append(
            f"<b>{esc(group.name)}</b> ({group_type_label(group.type)}, {where})\n"
            + _next_line(group, listed.next_meeting, zone)
        )
        rows += _group_rows(group)
    return "\n\n".join(blocks), InlineKeyboardMarkup(inline_keyboard=rows)


def details(
    group: Group, rule: Rule | None, upcoming: Sequence[datetime], zone: ZoneInfo
) -> Screen:
    """Everything about one group, with a button to join it."""
    lines = [f"<b>{esc(group.name)}</b> ({group_type_label(group.type)})"]
    if group.district is not None:
        lines.append(_("Stadtteil: {value}").format(value=esc(group.district.name)))
    if group.topics:
        topics = ", ".join(esc(topic.name) for topic in group.topics)
        lines.append(_("Topics: {value}").format(value=topics))
    if rule is not None:
        lines.append(_("Meets: {value}").format(value=describe_rule(rule, zone)))
    if group.place:
        lines.append(_("Place: {value}").format(value=esc(group.place)))
    if upcoming:
        dates = _("Next date: {value}", "Next dates: {value}", len(upcoming))
        lines.append(dates.format(value=meeting_dates(upcoming, zone)))
    if group.newcomer_friendly:
        lines.append(_("Open to newcomers: you are especially welcome here."))
    if group.open_to_non_members:
        lines.append(_("Non-members are welcome too."))
    if group.description:
        lines.append("\n" + esc(group.description))
    keyboard = InlineKeyboardMarkup(inline_keyboard=[[_join_button(group)]])
    return "\n".join(lines), keyboard


def joined(group: Group, next_meeting: datetime | None, zone: ZoneInfo, *, hosts_told: bool) -> str:
    """The new member's confirmation; it says the hosts know only when someone was told."""
    text = _("You're now in <b>{group}</b>. {next}").format(
        group=esc(group.name), next=_next_line(group, next_meeting, zone)
    )
    if hosts_told:
        text += "\n" + _("The hosts know you're coming.")
    return text


def joined_toast() -> str:
    """The short answer to the join button."""
    return _("Welcome to the group!")


def already_in() -> str:
    """The short answer to joining a group again."""
    return _("You're already in this group.")


def host_note(
    member: Member, group: Group, *, first_group: bool
) -> tuple[str, InlineKeyboardMarkup]:
    """What each host hears, in their own language, when `member` joined `group`."""
    text = (
        _("{who} joined <b>{group}</b> – their first group with us. Say hello!")
        if first_group
        else _("{who} joined <b>{group}</b>.")
    ).format(who=member_label(member), group=esc(group.name))
    return text, open_chat_keyboard(member.id)


def founding_note(member: Member) -> tuple[str, InlineKeyboardMarkup]:
    """What each organiser hears, alone, when a member would like to start a group."""
    text = _("{who} would like to start a group. Please get in touch with them.").format(
        who=member_label(member)
    )
    return text, open_chat_keyboard(member.id)


def office_note(member: Member) -> tuple[str, InlineKeyboardMarkup]:
    """What each organiser hears when a member found no group and would like to talk."""
    text = _("{who} found no fitting group and would like to talk to someone.").format(
        who=member_label(member)
    )
    return text, open_chat_keyboard(member.id)


def office_thanks() -> str:
    """The answer to "start a group" and "talk to the office"."""
    return _("Thank you! Someone from the office will get in touch.")


def group_refused(error: GroupError) -> str:
    """A button naming a group (or page) that is gone."""
    if error.reason == "unknown_group":
        return _("This group no longer exists.")
    return _("This button is no longer valid.")
