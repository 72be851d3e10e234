"""The KV's setup as plain values: frozen dataclasses, limits, and the setup file's errors.

What load_setup returns, apply_setup writes and read_setup reads back. Nothing here touches YAML
or the database.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, time

from bot.services.translation import gettext as _
from models import ActionKind, ActivityType, District, GroupType, Topic
from models.kv import KEY_LENGTH

MAX_FILE_BYTES = 1024 * 1024
# Column sizes not exported by models.kv (String(200) there).
PLACE_LENGTH = 200
RULE_LENGTH = 200
PRIVACY_CONTACT_LENGTH = 200
# Texts go out as single Telegram messages (4096 characters at most, with some room for the
# bot's own framing), so longer ones would fail only when a member asks for them.
LONG_TEXT_LENGTH = 4000
# Districts, topics or activity types each: the intake offers them as buttons, and a keyboard
# holds 100 (with room for the step's own buttons).
MAX_ENTRIES = 90
LANGUAGES = ("de", "en")
PROFILE_ID = 1
# Telegram ids are stored as BIGINT; anything outside would only fail at commit time.
BIGINT_MAX = 2**63 - 1

_UMLAUTS = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss"})

# The keys each part of the file may have, in the order the export writes them.
TOP_KEYS = (
    "name",
    "privacy_contact",
    "districts",
    "topics",
    "activity_types",
    "groups",
    "campaigns",
    "actions",
    "memorials",
    "guide",
    "telegram_groups",
)
ENTRY_KEYS = ("key", "name")
DISTRICT_KEYS = ("key", "name", "neighbours")
ACTIVITY_KEYS = ("key", "name", "action")
CAMPAIGN_KEYS = ("key", "name", "from", "until")
ACTION_KEYS = (
    "key",
    "kind",
    "title",
    "campaign",
    "district",
    "place",
    "date",
    "repeats",
    "from",
    "until",
    "shifts",
    "material",
    "contact",
)
SHIFT_KEYS = ("label", "time", "people")
MEMORIAL_KEYS = ("key", "name", "rule", "about", "event")
EVENT_KEYS = ("time", "place", "note")
GROUP_KEYS = (
    "key",
    "name",
    "type",
    "district",
    "topics",
    "meets",
    "place",
    "hosts",
    "newcomer_friendly",
    "open_to_non_members",
    "description",
)
GUIDE_KEYS = ("title", "text")
CHAT_KEYS = (
    "chat_id",
    "title",
    "group",
    "link",
    "language",
    "welcome",
    "welcome_text",
    "approve_join_requests",
)


EntryModel = type[District] | type[Topic] | type[ActivityType]


@dataclass(frozen=True, slots=True)
class Entry:
    """A district, topic or activity type: a stable key and the name members see.

    Districts may have neighbours (keys of other districts, in the districts' order; the
    relation is symmetric, so each side lists the other); activity types may be a kind of field
    action (members who chose them are asked when such a shift lacks people).
    """

    key: str
    name: str
    neighbours: tuple[str, ...] = ()
    action: ActionKind | None = None


@dataclass(frozen=True, slots=True)
class Host:
    """A group's host: a numeric Telegram id or a lower-cased username without the "@"."""

    telegram_id: int | None = None
    username: str | None = None

    def __str__(self) -> str:
        return f"@{self.username}" if self.username else str(self.telegram_id)


@dataclass(frozen=True, slots=True)
class GroupSetup:
    """A Stammtisch, Basisgruppe or AG.

    `meets` is the meeting rule as the organiser wrote it ("jeden 2. Donnerstag 19 Uhr"), runs of
    spaces made one; bot.services.recurrence.parse_rule reads it.
    """

    key: str
    name: str
    type: GroupType
    district: str | None = None
    topics: tuple[str, ...] = ()
    meets: str | None = None
    place: str | None = None
    hosts: tuple[Host, ...] = ()
    newcomer_friendly: bool = False
    open_to_non_members: bool = False
    description: str | None = None


@dataclass(frozen=True, slots=True)
class CampaignSetup:
    """A campaign with its period (local dates, inclusive; None: open on that side)."""

    key: str
    name: str
    starts_on: date | None = None
    ends_on: date | None = None


@dataclass(frozen=True, slots=True)
class ShiftSetup:
    """One shift of an action's plan: local wall-clock times and how many people it needs."""

    start: time
    end: time
    people: int
    label: str | None = None


@dataclass(frozen=True, slots=True)
class ActionSetup:
    """An Infostand or door-to-door round: one day (`on_day`) or a rule (`repeats`, in the
    organiser's words, runs of spaces made one) within an optional period. Shifts are sorted
    by start. `contact` is resolved to a member on import; `contact_line` only says where it
    was written, for the error when nobody matches."""

    key: str
    kind: ActionKind
    title: str
    place: str
    shifts: tuple[ShiftSetup, ...]
    campaign: str | None = None
    district: str | None = None
    on_day: date | None = None
    repeats: str | None = None
    starts_on: date | None = None
    ends_on: date | None = None
    material: str | None = None
    contact: Host | None = None
    contact_line: int = field(default=0, compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class MemorialEvent:
    """The KV's own event on a memorial day: local start time, place, a note."""

    time: time
    place: str
    note: str | None = None


@dataclass(frozen=True, slots=True)
class MemorialSetup:
    """A Gedenktag: a yearly rule as written ("27.01.", "2. Sonntag im September"), why it
    matters, and the KV's event that day when there is one."""

    key: str
    name: str
    rule: str
    about: str | None = None
    event: MemorialEvent | None = None


@dataclass(frozen=True, slots=True)
class GuideEntry:
    """One section of "how our KV works"."""

    title: str
    text: str


@dataclass(frozen=True, slots=True)
class ChatSetup:
    """A Telegram group the bot serves."""

    chat_id: int
    title: str
    group: str | None = None
    # The chat's invite link (https://t.me/+...), given to members who join its group.
    link: str | None = None
    language: str = "de"
    welcome: bool = True
    welcome_text: str | None = None
    approve_join_requests: bool = False


@dataclass(frozen=True, slots=True)
class KvSetup:
    """A whole, validated setup file in normalised form.

    Group topics and district neighbours follow the order of their sections, and served chats
    are sorted by chat id, because the database keeps no order for them; neighbours are made
    symmetric (listing B under A makes A a neighbour of B); everything else keeps the file's
    order.
    """

    name: str
    privacy_contact: str | None = None
    districts: tuple[Entry, ...] = ()
    topics: tuple[Entry, ...] = ()
    activity_types: tuple[Entry, ...] = ()
    groups: tuple[GroupSetup, ...] = ()
    campaigns: tuple[CampaignSetup, ...] = ()
    actions: tuple[ActionSetup, ...] = ()
    memorials: tuple[MemorialSetup, ...] = ()
    guide: tuple[GuideEntry, ...] = ()
    telegram_groups: tuple[ChatSetup, ...] = ()


@dataclass(frozen=True, slots=True)
class SetupError:
    """One mistake in a setup file, with its 1-based line."""

    line: int
    message: str

    def __str__(self) -> str:
        return _("line {line}: {message}").format(line=self.line, message=self.message)


class SetupInvalidError(ValueError):
    """The setup file has mistakes; `errors` lists all of them, ordered by line."""

    def __init__(self, errors: list[SetupError]) -> None:
        super().__init__("\n".join(str(error) for error in errors))
        self.errors = errors


class NothingToExportError(LookupError):
    """No setup has been imported yet, so there is no KV to export."""


def derive_key(name: str) -> str:
    """The key a name gets when the file gives none: "Süd-Ost / Altstadt" -> "sued-ost-altstadt"."""
    text = name.lower().translate(_UMLAUTS)
    # Other accents are dropped rather than the letters ("Café" -> "cafe").
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    key = re.sub(r"[^a-z0-9]+", "-", text).strip("-")
    return key[:KEY_LENGTH].rstrip("-")
