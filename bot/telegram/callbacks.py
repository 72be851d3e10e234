"""Callback data factories: short versioned prefixes, ids only; handlers reload and re-check."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from models import Category, Role


class LanguageCallback(CallbackData, prefix="lang1"):
    """A language button of /sprache."""

    code: str


class RoleCallback(CallbackData, prefix="role1"):
    """Give (grant=True) or take a role from a member, pressed in an admin's role panel."""

    member_id: int
    role: Role
    grant: bool


class ConsentCallback(CallbackData, prefix="cons1"):
    """The consent question: agree (True) or not now (False)."""

    agree: bool


class IntakeCallback(CallbackData, prefix="in1"):
    """A button of the intake conversation.

    `step` is the step the button belongs to (a press from another step is stale); `action` is
    toggle/choose (with `value`, an id or a slot index), next, back, skip, edit (from the
    summary), done, or resume (from the reminder).
    """

    step: str
    action: str
    value: int = 0


class GroupCallback(CallbackData, prefix="gr1"):
    """Suggestions and the directory: join, details, more (page), back to the list."""

    action: str
    group_id: int = 0
    page: int = 0


# The guide's table of contents in GuideCallback (section ids start at 1).
GUIDE_CONTENTS = 0


class GuideCallback(CallbackData, prefix="kv1"):
    """A section of the guide (GUIDE_CONTENTS: the table of contents)."""

    section_id: int


class PrivacyAction(StrEnum):
    """The buttons of /datenschutz."""

    SHOW = "show"  # show everything stored about me
    ASK = "ask"  # delete everything: ask first
    ERASE = "erase"  # yes, delete everything
    KEEP = "keep"  # no, keep it


class PrivacyCallback(CallbackData, prefix="pr1"):
    """/datenschutz: show my data, erase (ask), erase (confirmed), keep."""

    action: PrivacyAction


class BroadcastCallback(CallbackData, prefix="bc1"):
    """/rundschreiben: building the audience, confirming, and following a broadcast.

    `action` names the step; `dim` is a kind of criterion (d Stadtteil, t topic, g group,
    a activity type); `value` an id of that kind, a page, or a broadcast id.
    """

    action: str
    dim: str = ""
    value: int = 0


class SettingsAction(StrEnum):
    """The buttons of /einstellungen; "off" and "on" say what they set, so a repeat is harmless."""

    OPEN = "open"  # open the panel (from under a broadcast)
    OFF = "off"  # switch `category` off
    ON = "on"  # switch `category` on again


class SettingsCallback(CallbackData, prefix="set1"):
    """/einstellungen: open the panel, or switch one message category off or on."""

    action: SettingsAction
    category: Category | None = None


class MeetingCallback(CallbackData, prefix="mt1"):
    """/termine: say you come to a group's meeting (going=True) or no longer come.

    `at` is the meeting's start as a Unix timestamp; the service accepts only the group's own
    next meetings. `going` says what the press sets, so a repeated press changes nothing.
    """

    group_id: int
    at: int
    going: bool
