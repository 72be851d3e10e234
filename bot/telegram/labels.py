"""The bot's shared vocabulary in words: roles, free-time slots, message kinds, group types.

One place per concept, so every screen calls a thing by the same name.
"""

from __future__ import annotations

from aiogram.utils.i18n import gettext as _

from models import ActionKind, Category, ContactFrequency, GroupType, Role


def role_label(role: Role) -> str:
    """The role's name in the current locale."""
    labels = {
        Role.MEMBER: _("Member"),
        Role.HOST: _("Host"),
        Role.ORGANISER: _("Organiser"),
        Role.ADMIN: _("Admin"),
    }
    return labels[role]


def slot_label(slot: str) -> str:
    """A free-time slot in words."""
    labels = {
        "weekday_evening": _("weekday evenings"),
        "weekday_daytime": _("weekdays during the day"),
        "weekend": _("weekends"),
    }
    return labels.get(slot, slot)


def frequency_label(frequency: ContactFrequency) -> str:
    """How often a member wants to hear from the KV, in words."""
    labels = {
        ContactFrequency.WEEKLY: _("Weekly"),
        ContactFrequency.MONTHLY: _("About once a month"),
        ContactFrequency.IMPORTANT_ONLY: _("Only when it's important"),
    }
    return labels[frequency]


def group_type_label(group_type: GroupType) -> str:
    """Stammtisch, Basisgruppe or AG (German terms in every language)."""
    labels = {
        GroupType.STAMMTISCH: _("Stammtisch"),
        GroupType.BASISGRUPPE: _("Basisgruppe"),
        GroupType.AG: _("AG"),
    }
    return labels[group_type]


def group_type_plural(group_type: GroupType) -> str:
    """Stammtische, Basisgruppen or AGs: a kind of group as a button to browse by."""
    labels = {
        GroupType.STAMMTISCH: _("Stammtische"),
        GroupType.BASISGRUPPE: _("Basisgruppen"),
        GroupType.AG: _("AGs"),
    }
    return labels[group_type]


def category_label(category: Category) -> str:
    """A kind of bulk message in words."""
    labels = {
        Category.ANNOUNCEMENTS: _("Announcements"),
        Category.REMINDERS: _("Reminders"),
        Category.CALLS_FOR_HELP: _("Calls for help"),
        Category.MEMORIALS: _("Memorial dates"),
        Category.CHECK_INS: _("Check-ins"),
    }
    return labels[category]


def category_hint(category: Category) -> str:
    """What a kind of bulk message covers, for /einstellungen."""
    hints = {
        Category.ANNOUNCEMENTS: _("news and invitations from the KV"),
        Category.REMINDERS: _("meetings and your shifts coming up"),
        Category.CALLS_FOR_HELP: _("when hands are needed, e.g. for an info stand"),
        Category.MEMORIALS: _("Gedenktage and the KV's events on them"),
        Category.CHECK_INS: _("a friendly note now and then if we haven't heard from you"),
    }
    return hints[category]


def action_kind_label(kind: ActionKind, *, capitalised: bool = True) -> str:
    """What a field action is: "Infostand" (a glossary term, German in every language) or
    "door-to-door round" (Haustür-Runde), capitalised to start a line or label."""
    if kind == ActionKind.DOOR_TO_DOOR:
        return _("Door-to-door round") if capitalised else _("door-to-door round")
    return _("Infostand")
