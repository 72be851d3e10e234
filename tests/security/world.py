"""A small KV with one person per role and something of every kind to press on.

The security tests need real ids (a group, a meeting, an action date and shift, a memorial
date, a proposal, a handover, a broadcast) so that a forged or foreign press reaches the
permission checks instead of stopping at "not found".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from sqlalchemy import select, update

from bot.app import Application
from bot.context import JobContext
from bot.services.kv_setup import apply_setup, load_setup
from jobs import field_actions as field_action_jobs
from jobs import meetings as meeting_jobs
from jobs import memorials as memorial_jobs
from models import (
    ActionDate,
    Broadcast,
    BroadcastStatus,
    Category,
    Group,
    GroupProposal,
    GuideSection,
    HostHandover,
    Meeting,
    Member,
    MemorialDate,
    Role,
    Shift,
    Topic,
)
from models.base import utcnow
from tests.fakebotapi import FakeBotAPI, FakeChat, FakeUser
from tests.members import signed_up

GROUP_CHAT_ID = -100777


class Who(enum.IntEnum):
    """The roles the suite tries, weakest first: a row's minimal role allows all above it."""

    STRANGER = 0  # never talked to the bot
    UNCONSENTED = 1  # talked to the bot, did not agree to have answers stored
    MEMBER = 2  # agreed; no role
    HOST_OTHER = 3  # hosts another group (AG Frieden), holds the host role
    HOST = 4  # hosts the group the ids point at (Stammtisch Mitte)
    ORGANISER = 5
    ADMIN = 6  # in ADMIN_IDS


SETUP = """
name: KV Sicherheit
districts:
  - Mitte
  - Nord
topics:
  - Frieden
  - Umwelt
activity_types:
  - {{name: Infostände, action: infostand}}
  - Plakatieren
groups:
  - key: stammtisch-mitte
    name: Stammtisch Mitte
    type: stammtisch
    district: mitte
    topics: [frieden]
    meets: every Thursday 19:00
    place: Café Rosa
    hosts: [{host}]
  - key: ag-frieden
    name: AG Frieden
    type: ag
    meets: every Tuesday 18:00
    hosts: [{host_other}]
campaigns:
  - key: kaelte
    name: Gegen Kälte
actions:
  - key: stand
    kind: infostand
    title: Stand Mitte
    district: mitte
    campaign: kaelte
    place: Marktplatz
    repeats: every Saturday
    shifts:
      - {{time: "10:00-12:00", people: 3}}
memorials:
  - key: gedenken
    name: Gedenken
    rule: "{memorial_day}"
    event:
      time: "18:00"
      place: Mahnmal
guide:
  - title: Wer wir sind
    text: Ein Kreisverband.
telegram_groups:
  - chat_id: {chat_id}
    title: Stammtisch Mitte Chat
    group: stammtisch-mitte
"""


@dataclass
class World:
    """The people (one per role but the stranger, who is new for every attempt) and the ids."""

    people: dict[Who, FakeUser]
    chat: FakeChat
    group_id: int  # Stammtisch Mitte, hosted by HOST
    other_group_id: int  # AG Frieden, hosted by HOST_OTHER
    meeting_id: int  # the next meeting of Stammtisch Mitte
    date_id: int  # the next date of "Stand Mitte"
    shift_id: int
    memorial_date_id: int
    proposal_id: int
    handover_id: int
    broadcast_id: int
    section_id: int
    district_id: int
    topic_id: int
    extra: dict[str, Any] = field(default_factory=dict)

    def person(self, who: Who, server: FakeBotAPI) -> FakeUser:
        """The person acting as `who`; a stranger is new every time."""
        if who is Who.STRANGER:
            return server.add_user(first_name="Fremd", language_code="de")
        return self.people[who]


async def build_world(app: Application, server: FakeBotAPI, admin: FakeUser) -> World:
    """Everything the security tests press on, stored as the bot itself would have it."""
    zone = app.settings.zone
    people = {
        Who.UNCONSENTED: server.add_user(first_name="Ulla", username="ulla", language_code="de"),
        Who.MEMBER: server.add_user(first_name="Mia", username="mia_m", language_code="de"),
        Who.HOST_OTHER: server.add_user(first_name="Otto", username="otto_h", language_code="de"),
        Who.HOST: server.add_user(first_name="Hanna", username="hanna_h", language_code="de"),
        Who.ORGANISER: server.add_user(first_name="Olga", username="olga_o", language_code="de"),
        Who.ADMIN: admin,
    }
    chat = server.add_group("Stammtisch Mitte Chat")
    memorial_day = utcnow().astimezone(zone).date() + timedelta(days=5)
    text = SETUP.format(
        host=people[Who.HOST].id,
        host_other=people[Who.HOST_OTHER].id,
        memorial_day=f"{memorial_day.day:02d}.{memorial_day.month:02d}.",
        chat_id=chat.id,
    )
    async with app.session_pool() as session:
        await apply_setup(session, load_setup(text))
        session.add(Member(id=people[Who.UNCONSENTED].id, telegram_language="de"))
        await session.commit()
    await signed_up(
        app.session_pool, people[Who.MEMBER], district="Mitte", group="Stammtisch Mitte"
    )
    await signed_up(app.session_pool, people[Who.HOST_OTHER], role=Role.HOST, group="AG Frieden")
    await signed_up(app.session_pool, people[Who.HOST], role=Role.HOST, group="Stammtisch Mitte")
    await signed_up(app.session_pool, people[Who.ORGANISER], role=Role.ORGANISER)
    await signed_up(app.session_pool, admin)
    async with app.session_pool() as session:
        # As the first update of each would store them (bookkeeping, not what is tested).
        for person in people.values():
            if person.username and person is not people[Who.UNCONSENTED]:
                await session.execute(
                    update(Member)
                    .where(Member.id == person.id)
                    .values(username=person.username.lower())
                )
        await session.commit()
    ctx = JobContext(app.session_pool, app.bot, app.i18n, app.settings)
    await meeting_jobs.extend_horizon(ctx)
    await field_action_jobs.extend_horizon(ctx)
    await memorial_jobs.extend_horizon(ctx)
    now = utcnow()
    async with app.session_pool() as session:
        groups = dict((await session.execute(select(Group.name, Group.id))).all())
        mitte, frieden = groups["Stammtisch Mitte"], groups["AG Frieden"]
        meeting_id = await session.scalar(
            select(Meeting.id)
            .where(Meeting.group_id == mitte, Meeting.starts_at > now + timedelta(days=1))
            .order_by(Meeting.starts_at)
            .limit(1)
        )
        date_id = await session.scalar(
            select(ActionDate.id)
            .where(ActionDate.day > now.astimezone(zone).date() + timedelta(days=1))
            .order_by(ActionDate.day)
            .limit(1)
        )
        shift_id = await session.scalar(select(Shift.id).where(Shift.action_date_id == date_id))
        memorial_date_id = await session.scalar(select(MemorialDate.id).limit(1))
        section_id = await session.scalar(select(GuideSection.id).limit(1))
        proposal = GroupProposal(
            proposer_id=people[Who.MEMBER].id, name="Stammtisch Nord", place="Kneipe"
        )
        handover = HostHandover(
            group_id=mitte,
            from_member_id=people[Who.HOST].id,
            to_member_id=people[Who.MEMBER].id,
        )
        broadcast = Broadcast(
            author_id=people[Who.ORGANISER].id,
            source_chat_id=people[Who.ORGANISER].id,
            source_message_id=1,
            content_type="text",
            summary="Einladung",
            category=Category.ANNOUNCEMENTS,
            audience={},
            scheduled_at=now + timedelta(days=2),
            status=BroadcastStatus.SCHEDULED,
        )
        session.add_all([proposal, handover, broadcast])
        await session.commit()
        district_id = await session.scalar(select(Group.district_id).where(Group.id == mitte))
        topic_id = await session.scalar(select(Topic.id).where(Topic.name == "Frieden"))
        ids = {
            "proposal": proposal.id,
            "handover": handover.id,
            "broadcast": broadcast.id,
        }
    assert None not in (meeting_id, date_id, shift_id, memorial_date_id, section_id, district_id)
    return World(
        people=people,
        chat=chat,
        group_id=mitte,
        other_group_id=frieden,
        meeting_id=meeting_id,
        date_id=date_id,
        shift_id=shift_id,
        memorial_date_id=memorial_date_id,
        proposal_id=ids["proposal"],
        handover_id=ids["handover"],
        broadcast_id=ids["broadcast"],
        section_id=section_id,
        district_id=district_id,
        topic_id=topic_id,
        extra={"tomorrow": (utcnow().astimezone(zone).date() + timedelta(days=1)).toordinal()},
    )
