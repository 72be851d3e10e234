"""/gruppen: suggestions with their reasons, the directory, a group's details, joining.

Also what hosts hear when someone joins, and what organisers hear when a member found nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.services.directory import GROUP_TYPES, GroupError, GroupPage, ListedGroup, SuggestionPage
from bot.services.matching import Reasons
from bot.services.profile import ProfileError
from bot.services.recurrence import Rule
from bot.telegram.callbacks import GroupAction, GroupCallback, RsvpAction, RsvpCallback
from bot.telegram.format import (
    DATE_SEPARATOR,
    TEXT_LIMIT,
    describe_rule,
    esc,
    format_meeting,
    meeting_slot,
    member_label,
    pack,
    visible_length,
)
from bot.telegram.labels import group_type_label, group_type_plural
from bot.telegram.notify import open_chat_keyboard
from bot.telegram.views.meeting_card import cancelled_line
from models import Group, Meeting, Member

Screen = tuple[str, InlineKeyboardMarkup]
MaybeScreen = tuple[str, InlineKeyboardMarkup | None]
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
        lines.append(_next_line(listed, zone))
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
    rows += _entry_rows()
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
            *_entry_rows(),
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


def _next_line(listed: ListedGroup, zone: ZoneInfo) -> str:
    """The next meeting from the group's meeting rows; cancelled dates before it say so."""
    lines = [cancelled_line(meeting, zone) for meeting in listed.dates if meeting.cancelled]
    meeting = listed.next_meeting
    if meeting is None:
        lines.append(_("No fixed date yet."))
        return "\n".join(lines)
    line = _("Next meeting: {when}").format(when=format_meeting(meeting.starts_at, zone))
    if meeting.where:
        line += " · " + esc(meeting.where)
    lines.append(line)
    return "\n".join(lines)


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


def directory(page: GroupPage, zone: ZoneInfo) -> Screen:
    """Every group of the KV (a page of them), for members who haven't told the bot what they
    are looking for; with the ways to browse and the member's own groups below."""
    if not page.groups:
        text = _("There are no groups listed yet.")
        return text, InlineKeyboardMarkup(inline_keyboard=_found_rows())
    blocks = [_("All groups of the KV:")]
    blocks += [_list_block(listed, zone) for listed in page.groups]
    rows: list[Row] = [row for listed in page.groups for row in _group_rows(listed.group)]
    rows += _pager(page, GroupAction.ALL, 0)
    rows += _entry_rows()
    return "\n\n".join(blocks), InlineKeyboardMarkup(inline_keyboard=rows)


def _list_block(listed: ListedGroup, zone: ZoneInfo) -> str:
    group = listed.group
    where = esc(group.district.name) if group.district else _("whole KV")
    return f"<b>{esc(group.name)}</b> ({group_type_label(group.type)}, {where})\n" + _next_line(
        listed, zone
    )


def _button(
    text: str, action: GroupAction, group_id: int = 0, page: int = 0
) -> InlineKeyboardButton:
    data = GroupCallback(action=action, group_id=group_id, page=page)
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def _pager(page: GroupPage, action: GroupAction, value: int) -> list[Row]:
    """« and » between the pages of a list (edited in place), when there is more than one."""
    if page.pages <= 1:
        return []
    row: Row = []
    if page.page > 0:
        row.append(_button(_("« Previous"), action, value, page.page - 1))
    row.append(
        _button(
            _("Page {page} of {pages}").format(page=page.page + 1, pages=page.pages),
            action,
            value,
            page.page,
        )
    )
    if page.page + 1 < page.pages:
        row.append(_button(_("Next »"), action, value, page.page + 1))
    return [row]


def _entry_rows() -> list[Row]:
    """Under suggestions and the directory: browse every group, and the member's own."""
    return [
        [
            _button(_("Browse all groups"), GroupAction.BROWSE),
            _button(_("My groups"), GroupAction.MINE),
        ]
    ]


def _found_rows() -> list[Row]:
    return [[_button(_("Start a Stammtisch"), GroupAction.FOUND)]]


def entry_keyboard() -> InlineKeyboardMarkup:
    """The browse and "my groups" buttons alone (under suggestions)."""
    return InlineKeyboardMarkup(inline_keyboard=_entry_rows())


def browse_menu() -> Screen:
    """The ways to browse every active group."""
    text = _("<b>Browse groups</b>\nHow would you like to look?")
    rows = [
        [_button(_("By kind"), GroupAction.KINDS)],
        [_button(_("By Stadtteil"), GroupAction.DISTRICTS)],
        [_button(_("By topic"), GroupAction.TOPICS)],
        [_button(_("All groups"), GroupAction.ALL)],
        [_button(_("My groups"), GroupAction.MINE_HERE)],
        *_found_rows(),
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def _back_row(action: GroupAction = GroupAction.MENU, value: int = 0) -> Row:
    return [_button(_("« Back"), action, value)]


def kinds_menu() -> Screen:
    """The kinds of group (Stammtisch, Basisgruppe, AG)."""
    rows = [
        [_button(group_type_plural(kind), GroupAction.BY_TYPE, index)]
        for index, kind in enumerate(GROUP_TYPES)
    ]
    rows.append(_back_row())
    return _("Which kind of group?"), InlineKeyboardMarkup(inline_keyboard=rows)


# Choices per screen when choosing a Stadtteil or a topic.
CHOICES_PER_PAGE = 8


def choices_menu(
    title: str,
    choices: Sequence[tuple[int, str]],
    action: GroupAction,
    pick: GroupAction,
    page: int,
) -> Screen:
    """A paged list of choices (Stadtteile or topics), each opening its groups."""
    pages = max(1, -(-len(choices) // CHOICES_PER_PAGE))
    page = min(max(page, 0), pages - 1)
    shown = choices[page * CHOICES_PER_PAGE : (page + 1) * CHOICES_PER_PAGE]
    rows: list[Row] = [[_button(name, pick, value)] for value, name in shown]
    if not choices:
        title += "\n" + _("There is nothing to choose from yet.")
    rows += _pager(GroupPage([], page, pages), action, 0)
    rows.append(_back_row())
    return title, InlineKeyboardMarkup(inline_keyboard=rows)


def districts_title() -> str:
    """The heading of the Stadtteil choice."""
    return _("Which Stadtteil?")


def whole_kv() -> str:
    """The choice for groups that belong to no Stadtteil."""
    return _("Whole KV")


def topics_title() -> str:
    """The heading of the topic choice."""
    return _("Which topic?")


def group_list(
    title: str, page: GroupPage, action: GroupAction, value: int, back: GroupAction, zone: ZoneInfo
) -> Screen:
    """A page of groups under a heading, each with join and details; paging and Back below."""
    blocks = [f"<b>{esc(title)}</b>"]
    if not page.groups:
        blocks.append(_("No group here yet."))
    blocks += [_list_block(listed, zone) for listed in page.groups]
    rows: list[Row] = [row for listed in page.groups for row in _group_rows(listed.group)]
    rows += _pager(page, action, value)
    rows.append(_back_row(back))
    return "\n\n".join(blocks), InlineKeyboardMarkup(inline_keyboard=rows)


def all_title() -> str:
    """The heading of the list of every group."""
    return _("All groups of the KV")


# Groups on a page of "My groups": two buttons each, within Telegram's 100 a keyboard.
MY_GROUPS_PER_PAGE = 40


def _my_pages(blocks: Sequence[str]) -> list[range]:
    # The heading, a note and the pager take the rest of the message.
    return pack(
        [visible_length(block) for block in blocks],
        budget=TEXT_LIMIT - 600,
        separator=2,
        max_items=MY_GROUPS_PER_PAGE,
    )


def my_groups(
    groups: Sequence[ListedGroup], zone: ZoneInfo, *, note: str | None = None, page: int = 0
) -> Screen:
    """The member's own groups, each with its next meeting, details and Leave; a page of them
    when there are more than fit (« and »)."""
    blocks = [note] if note else []
    if not groups:
        blocks.append(_("You haven't joined a group yet."))
        rows = [[_button(_("Browse all groups"), GroupAction.MENU)]]
        return "\n\n".join(blocks), InlineKeyboardMarkup(inline_keyboard=rows)
    blocks.append(_("<b>My groups</b>"))
    listed_blocks = [_list_block(listed, zone) for listed in groups]
    pages = _my_pages(listed_blocks)
    page = min(max(page, 0), len(pages) - 1)
    blocks += [listed_blocks[index] for index in pages[page]]
    rows = []
    for index in pages[page]:
        group = groups[index].group
        rows.append(
            [
                _details_button(group),
                _button(
                    _("Leave {group}").format(group=_short(group.name)), GroupAction.LEAVE, group.id
                ),
            ]
        )
    rows += _pager(GroupPage([], page, len(pages)), GroupAction.MINE_HERE, 0)
    rows.append([_button(_("Browse all groups"), GroupAction.MENU)])
    return "\n\n".join(blocks), InlineKeyboardMarkup(inline_keyboard=rows)


def my_group_pages(groups: Sequence[ListedGroup], zone: ZoneInfo) -> list[Screen]:
    """Every page of "My groups", as « and » go through them."""
    pages = len(_my_pages([_list_block(listed, zone) for listed in groups])) or 1
    return [my_groups(groups, zone, page=page) for page in range(pages)]


def leave_question(group: Group) -> Screen:
    """Ask before leaving, and say what leaving does."""
    text = _(
        "Leave <b>{group}</b>?\n\nNobody is told. Your answers to its coming meetings are "
        "withdrawn; you can join again at any time."
    ).format(group=esc(group.name))
    rows = [
        [
            _button(_("Yes, leave"), GroupAction.LEAVE_OK, group.id),
            _button(_("No, stay"), GroupAction.MINE_HERE),
        ]
    ]
    return text, InlineKeyboardMarkup(inline_keyboard=rows)


def left(group: Group, withdrawn: int) -> str:
    """Above the member's groups after leaving one."""
    text = _("You left {group}.").format(group=esc(group.name))
    if withdrawn:
        text += " " + _(
            "I withdrew your answer to {n} coming meeting.",
            "I withdrew your answers to {n} coming meetings.",
            withdrawn,
        ).format(n=withdrawn)
    return text


def not_in_group() -> str:
    """Leaving a group one isn't in (a second press)."""
    return _("You're not in this group (any more).")


def details(
    group: Group,
    rule: Rule | None,
    dates: Sequence[Meeting],
    zone: ZoneInfo,
    *,
    joined: bool = False,
    share_link: str | None = None,
) -> Screen:
    """Everything about one group, with a button to join it (or leave it, for its members),
    its next dates from the meeting rows (cancelled ones shown so), and a link to share it."""
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
    if dates:
        label = _("Next date: {value}", "Next dates: {value}", len(dates))
        shown = [
            _("{date} (cancelled)").format(date=f"<s>{format_meeting(meeting.starts_at, zone)}</s>")
            if meeting.cancelled
            else format_meeting(meeting.starts_at, zone)
            for meeting in dates
        ]
        lines.append(label.format(value=DATE_SEPARATOR.join(shown)))
    if group.newcomer_friendly:
        lines.append(_("Open to newcomers: you are especially welcome here."))
    if group.open_to_non_members:
        lines.append(_("Non-members are welcome too."))
    if group.description:
        lines.append("\n" + esc(group.description))
    if joined:
        lines.append("\n" + _("You're in this group."))
    if share_link:
        lines.append("\n" + _("Link to share this group: {link}").format(link=share_link))
    return "\n".join(lines), _details_keyboard(group, dates, zone, joined=joined)


def _details_keyboard(
    group: Group, dates: Sequence[Meeting], zone: ZoneInfo, *, joined: bool
) -> InlineKeyboardMarkup:
    rows: list[Row] = []
    upcoming = next((meeting for meeting in dates if not meeting.cancelled), None)
    if upcoming is not None:
        data = RsvpCallback(action=RsvpAction.SHOW, meeting_id=upcoming.id)
        label = _("Next meeting: {when}").format(when=format_meeting(upcoming.starts_at, zone))
        rows.append([InlineKeyboardButton(text=label, callback_data=data.pack())])
    if joined:
        leave = _("Leave {group}").format(group=_short(group.name))
        rows.append([_button(leave, GroupAction.LEAVE, group.id)])
    else:
        rows.append([_join_button(group)])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def joined(
    group: Group, *, has_meeting: bool, hosts_told: bool, chat_link: str | None
) -> MaybeScreen:
    """The new member's confirmation: the group's chat link when there is one; the next meeting
    follows as its own card. It says the hosts know only when someone was told."""
    text = _("You're now in <b>{group}</b>.").format(group=esc(group.name))
    if not has_meeting:
        text += " " + _("No fixed date yet.")
    if hosts_told:
        text += "\n" + _("The hosts know you're coming.")
    rows: list[Row] = []
    if chat_link:
        text += "\n\n" + _("The group has a Telegram chat: come in and say hello.")
        rows.append([InlineKeyboardButton(text=_("Open the group chat"), url=chat_link)])
    if has_meeting:
        text += "\n\n" + _("The next meeting – tell the hosts whether you're coming:")
    return text, InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


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


def office_note(member: Member) -> tuple[str, InlineKeyboardMarkup]:
    """What each organiser hears when a member found no group and would like to talk."""
    text = _("{who} found no fitting group and would like to talk to someone.").format(
        who=member_label(member)
    )
    return text, open_chat_keyboard(member.id)


def office_thanks() -> str:
    """The answer to "talk to the office"."""
    return _("Thank you! Someone from the office will get in touch.")


def group_refused(error: GroupError) -> str:
    """A button naming a group (or page) that is gone."""
    if error.reason == "unknown_group":
        return _("This group no longer exists.")
    return _("This button is no longer valid.")


def profile_refused(error: ProfileError) -> str:
    """Joining or leaving refused: the group is gone, or consent was withdrawn meanwhile."""
    if error.reason == "no_consent":
        return _("To join groups, agree in /start first.")
    return _("This group no longer exists.")
