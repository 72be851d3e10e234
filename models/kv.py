"""The Kreisverband's setup: Stadtteile, topics, activity types, groups, guide, served chats.

Imported from and exported to one YAML file (bot.services.kv_setup); keys are the stable
identifiers the file uses, ids are internal.
"""

from __future__ import annotations

import enum
from datetime import date

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, text_enum

KEY_LENGTH = 64
NAME_LENGTH = 100


class GroupType(enum.StrEnum):
    """What kind of group meets."""

    STAMMTISCH = "stammtisch"
    BASISGRUPPE = "basisgruppe"
    AG = "ag"


class KvProfile(Base):
    """The chapter itself (one row, id 1)."""

    __tablename__ = "kv_profile"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    # Where to turn with privacy questions (shown by /datenschutz).
    privacy_contact: Mapped[str | None] = mapped_column(String(200))
    # The text of the setup file last imported, so that the export keeps its comments and
    # layout; None before the first import from a file.
    setup_source: Mapped[str | None] = mapped_column(Text)


district_neighbours = Table(
    "district_neighbours",
    Base.metadata,
    Column("district_id", ForeignKey("districts.id", ondelete="CASCADE"), primary_key=True),
    Column("neighbour_id", ForeignKey("districts.id", ondelete="CASCADE"), primary_key=True),
)


class District(Base):
    """A Stadtteil or Ortsverband."""

    __tablename__ = "districts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    position: Mapped[int] = mapped_column(Integer, default=0)

    # Stadtteile next to this one (calls for help reach them too); stored both ways.
    neighbours: Mapped[list[District]] = relationship(
        secondary=district_neighbours,
        primaryjoin=lambda: District.id == district_neighbours.c.district_id,
        secondaryjoin=lambda: District.id == district_neighbours.c.neighbour_id,
        lazy="selectin",
    )


class Topic(Base):
    """A political topic members can care about (Umwelt/Klima, Bildung, ...)."""

    __tablename__ = "topics"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    position: Mapped[int] = mapped_column(Integer, default=0)


class ActivityType(Base):
    """A way to get involved (Infostände, Haustürgespräche, ...)."""

    __tablename__ = "activity_types"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    position: Mapped[int] = mapped_column(Integer, default=0)
    # The kind of field action this way of helping is (models.field_action.ActionKind's value:
    # "infostand", "door_to_door"); members who chose it are asked when such a shift lacks
    # people. None: no field action.
    action_kind: Mapped[str | None] = mapped_column(String(16))


group_topics = Table(
    "group_topics",
    Base.metadata,
    Column("group_id", ForeignKey("groups.id", ondelete="CASCADE"), primary_key=True),
    Column("topic_id", ForeignKey("topics.id", ondelete="CASCADE"), primary_key=True),
)


class Group(Base):
    """A Stammtisch, Basisgruppe or AG with its meeting rule."""

    __tablename__ = "groups"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(String(KEY_LENGTH), unique=True)
    name: Mapped[str] = mapped_column(String(NAME_LENGTH))
    type: Mapped[GroupType] = mapped_column(text_enum(GroupType, "group_type"))
    district_id: Mapped[int | None] = mapped_column(
        ForeignKey("districts.id", ondelete="SET NULL"), index=True
    )
    # The meeting rule as the organiser wrote it ("jeden 2. Donnerstag 19 Uhr"), read with
    # bot.services.recurrence.parse_rule; None: no fixed rule.
    rule: Mapped[str | None] = mapped_column(String(200))
    # The same rule as RFC 5545 text (floating local times, expanded in the KV's zone with
    # python-dateutil); None: no fixed rule.
    rrule: Mapped[str | None] = mapped_column(Text)
    # A host ended the series: no meetings from this local date on (until the rule changes).
    series_ends_on: Mapped[date | None] = mapped_column(Date)
    place: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    newcomer_friendly: Mapped[bool] = mapped_column(Boolean, default=False)
    open_to_non_members: Mapped[bool] = mapped_column(Boolean, default=False)
    # Groups dropped from the setup file stay, inactive, so memberships keep their history.
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    position: Mapped[int] = mapped_column(Integer, default=0)

    district: Mapped[District | None] = relationship(lazy="joined")
    topics: Mapped[list[Topic]] = relationship(secondary=group_topics, lazy="selectin")
    hosts: Mapped[list[GroupHost]] = relationship(
        back_populates="group", cascade="all, delete-orphan", lazy="selectin"
    )


class GroupHost(Base):
    """A host of a group, named in the setup file by Telegram id or @username."""

    __tablename__ = "group_hosts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    group_id: Mapped[int] = mapped_column(ForeignKey("groups.id", ondelete="CASCADE"), index=True)
    # One of the two is set; a username is matched against members the bot has met.
    telegram_id: Mapped[int | None] = mapped_column(BigInteger)
    username: Mapped[str | None] = mapped_column(String(32))

    group: Mapped[Group] = relationship(back_populates="hosts")


class GuideSection(Base):
    """One section of "how our KV works" (/kv)."""

    __tablename__ = "guide_sections"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    title: Mapped[str] = mapped_column(String(NAME_LENGTH))
    body: Mapped[str] = mapped_column(Text)


class ServedChat(Base):
    """A Telegram group the bot serves: where it greets newcomers."""

    __tablename__ = "served_chats"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    title: Mapped[str] = mapped_column(String(NAME_LENGTH))
    group_id: Mapped[int | None] = mapped_column(ForeignKey("groups.id", ondelete="SET NULL"))
    language: Mapped[str] = mapped_column(String(8), default="de")
    welcome_enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    # None: the standard welcome; organisers can set their own (in the file or in the bot).
    welcome_text: Mapped[str | None] = mapped_column(Text)
    approve_join_requests: Mapped[bool] = mapped_column(Boolean, default=False)
    # The chat's invite link (t.me/+...), given to members who join its group; from the file
    # (`link:`), else asked of Telegram once the bot may invite.
    invite_link: Mapped[str | None] = mapped_column(String(200))
    # The last welcome the bot posted, deleted when the next one comes.
    last_welcome_message_id: Mapped[int | None] = mapped_column(BigInteger)

    group: Mapped[Group | None] = relationship(lazy="joined")
