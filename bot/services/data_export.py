"""Everything stored about one member, collected for "show my data" and "download my data".

GDPR Art. 15 and 20: the member gets what the bot keeps about them, in a machine-readable file
(JSON) and in words (bot.telegram.views.privacy renders the same MemberData for the chat and
for the text file, so the two can't disagree). Only the member's own rows are read; where a
row names someone else (the taker of a swapped shift, whoever granted a role) that person is
left out. Secrets are left out too: the calendar link's fingerprint is not exported, only when
the link was made.

COVERED names every table and column that refers to a member; a test checks it against the
metadata, so a new table with a member id fails until it is exported here.
"""

from __future__ import annotations

import dataclasses
import enum
import json
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from bot.services import surveys
from bot.services.members import load_answers
from models import (
    ActionPlanner,
    Attendance,
    AuditEntry,
    Broadcast,
    CalendarFeed,
    CallConsent,
    CheckIn,
    ConsentRecord,
    Delivery,
    District,
    FieldAction,
    FsmRecord,
    Group,
    GroupHost,
    GroupMembership,
    GroupProposal,
    HelpCall,
    HostHandover,
    HostPreference,
    Invitation,
    Meeting,
    Member,
    MemberRole,
    MemorialAnswer,
    MemorialDate,
    NoticeCap,
    OptOut,
    Shift,
    ShiftSignup,
    ShiftSwap,
    Survey,
)

# A download is sent at most once a minute: a double tap (or a second instance handling a
# repeated press) sends the two files once. Kept as a notice-cap row of its own kind.
DOWNLOAD_KIND = "export"
DOWNLOAD_WINDOW = timedelta(minutes=1)

# Table -> the columns that refer to a member and are read here. A column listed under
# NOT_EXPORTED is about someone else's act and names the member only as its object or author
# of a decision over others (kept out: exporting it would hand out other people's data).
COVERED: dict[str, tuple[str, ...]] = {
    "members": ("id",),
    "profiles": ("member_id",),
    "profile_topics": ("member_id",),
    "profile_activity_types": ("member_id",),
    "group_memberships": ("member_id",),
    "attendances": ("member_id",),
    "memorial_answers": ("member_id",),
    "shift_signups": ("member_id",),
    "help_calls": ("member_id",),
    "shift_swaps": ("from_member_id", "to_member_id"),
    "group_proposals": ("proposer_id",),
    "host_handovers": ("from_member_id", "to_member_id"),
    "group_hosts": ("telegram_id",),
    "member_roles": ("member_id",),
    "action_planners": ("member_id",),
    "field_actions": ("contact_id",),
    "opt_outs": ("member_id",),
    "host_preferences": ("member_id",),
    "notice_caps": ("member_id",),
    "calendar_feeds": ("member_id",),
    "invitations": ("member_id",),
    "deliveries": ("recipient_id",),
    "broadcasts": ("author_id",),
    # Which surveys they took part in and created (never their answers: those carry no id).
    "survey_participations": ("member_id",),
    "surveys": ("author_id",),
    "audit_log": ("actor_id",),
    "consent_events": ("member_id",),
    "fsm_records": ("user_id",),
    "check_ins": ("member_id",),
    "call_consents": ("member_id",),
}
# Columns naming the member as the one who decided about others' rows (granted someone a
# role, approved someone's proposal, stopped a broadcast): those rows are the others' data.
NOT_EXPORTED: dict[str, tuple[str, ...]] = {
    "member_roles": ("granted_by",),
    "action_planners": ("granted_by",),
    "group_proposals": ("decided_by",),
    "host_handovers": ("decided_by",),
    "broadcasts": ("cancelled_by",),
    "fsm_records": ("chat_id",),
}


@dataclass(frozen=True)
class Account:
    """The members row."""

    id: int
    first_name: str | None
    username: str | None
    language: str | None
    telegram_language: str | None
    reachable: bool
    created_at: datetime
    last_seen_at: datetime
    # Since when they blocked the bot or left every KV group (erased MEMBER_RETENTION_MONTHS on).
    departed_at: datetime | None = None
    # "Pause bis ...": no bulk messages before this moment.
    paused_until: datetime | None = None


@dataclass(frozen=True)
class Answers:
    """The profile: consent and the intake answers."""

    consent_at: datetime
    consent_version: int
    topics: list[str]
    district: str | None
    outside_districts: bool
    activity_types: list[str]
    free_time: list[str]
    contact_frequency: str | None
    intake_started_at: datetime | None
    intake_completed_at: datetime | None
    intake_reminded_at: datetime | None
    reminder_offsets: list[int]


@dataclass(frozen=True)
class Joined:
    group: str
    joined_at: datetime


@dataclass(frozen=True)
class MeetingAnswer:
    group: str
    starts_at: datetime
    cancelled: bool
    answer: str
    guests: int
    waitlisted: bool
    answered_at: datetime


@dataclass(frozen=True)
class MemorialReply:
    memorial: str
    day: date
    answer: str
    answered_at: datetime


@dataclass(frozen=True)
class ShiftTaken:
    action: str
    starts_at: datetime
    ends_at: datetime
    label: str | None
    signed_at: datetime
    via_call: bool


@dataclass(frozen=True)
class HelpCallReceived:
    action: str
    shift_starts_at: datetime
    called_at: datetime


@dataclass(frozen=True)
class Swap:
    action: str
    shift_starts_at: datetime
    offered_by_you: bool
    status: str
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class Proposal:
    name: str
    district: str | None
    place: str | None
    rule: str | None
    status: str
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class Handover:
    group: str
    handed_by_you: bool
    status: str
    created_at: datetime
    decided_at: datetime | None


@dataclass(frozen=True)
class RoleHeld:
    role: str
    granted_at: datetime


@dataclass(frozen=True)
class Broadcasted:
    summary: str
    category: str
    status: str
    scheduled_at: datetime


@dataclass(frozen=True)
class SurveyTaken:
    """A survey the member took part in; what they answered is stored without their id and
    so is not part of the export."""

    survey: str
    status: str
    answered_at: datetime


@dataclass(frozen=True)
class SurveyCreated:
    """A survey the member created as organiser."""

    title: str
    status: str
    ends_at: datetime


@dataclass(frozen=True)
class Audited:
    """An audit log entry of something the member did as organiser, host or admin."""

    action: str
    subject: str | None
    count: int
    at: datetime


@dataclass(frozen=True)
class Switched:
    category: str
    created_at: datetime


@dataclass(frozen=True)
class NoticeSent:
    kind: str
    subject_id: int
    sent_at: datetime


@dataclass(frozen=True)
class Link:
    """The calendar link (no token: only its fingerprint is stored) or the invitation link."""

    created_at: datetime
    token: str | None = None


@dataclass(frozen=True)
class Message:
    """A message queued for the member (only kind and outcome: the text is not stored)."""

    kind: str
    category: str | None
    status: str
    created_at: datetime
    sent_at: datetime | None


@dataclass(frozen=True)
class ConsentChange:
    event: str
    consent_version: int
    at: datetime


@dataclass(frozen=True)
class Conversation:
    """An unfinished conversation step (what the bot waits for), with what it kept so far."""

    state: str | None
    data: dict[str, Any]
    updated_at: datetime


@dataclass(frozen=True)
class CheckInSent:
    """A check-in sent (or queued) while the member was quiet, and their reaction."""

    quarter: str
    queued_at: datetime
    sent_at: datetime | None
    reaction: str | None
    reacted_at: datetime | None


@dataclass(frozen=True)
class CallConsentGiven:
    """Consent to be phoned by the KV, with the number shared for it."""

    phone: str
    consented_at: datetime


@dataclass(frozen=True)
class MemberData:
    """Everything stored about one member, as plain values."""

    exported_at: datetime
    account: Account
    profile: Answers | None
    groups: list[Joined] = field(default_factory=list)
    meeting_answers: list[MeetingAnswer] = field(default_factory=list)
    memorial_answers: list[MemorialReply] = field(default_factory=list)
    shifts: list[ShiftTaken] = field(default_factory=list)
    help_calls: list[HelpCallReceived] = field(default_factory=list)
    shift_swaps: list[Swap] = field(default_factory=list)
    group_proposals: list[Proposal] = field(default_factory=list)
    host_handovers: list[Handover] = field(default_factory=list)
    hosted_groups: list[str] = field(default_factory=list)
    roles: list[RoleHeld] = field(default_factory=list)
    contact_for_actions: list[str] = field(default_factory=list)
    broadcasts: list[Broadcasted] = field(default_factory=list)
    surveys_taken: list[SurveyTaken] = field(default_factory=list)
    surveys_created: list[SurveyCreated] = field(default_factory=list)
    audit_entries: list[Audited] = field(default_factory=list)
    switched_off: list[Switched] = field(default_factory=list)
    host_notice: str | None = None
    notices: list[NoticeSent] = field(default_factory=list)
    calendar_link: Link | None = None
    invitation: Link | None = None
    deliveries: list[Message] = field(default_factory=list)
    consent_history: list[ConsentChange] = field(default_factory=list)
    conversations: list[Conversation] = field(default_factory=list)
    check_ins: list[CheckInSent] = field(default_factory=list)
    call_consent: CallConsentGiven | None = None


def _value(value: Any) -> str:
    return value.value if isinstance(value, enum.Enum) else str(value)


def _profile(member: Member) -> Answers | None:
    profile = member.profile
    if profile is None:
        return None
    return Answers(
        consent_at=profile.consent_at,
        consent_version=profile.consent_version,
        topics=[topic.name for topic in profile.topics],
        district=profile.district.name if profile.district is not None else None,
        outside_districts=profile.outside_districts,
        activity_types=[kind.name for kind in profile.activity_types],
        free_time=list(profile.free_time),
        contact_frequency=profile.contact_frequency,
        intake_started_at=profile.intake_started_at,
        intake_completed_at=profile.intake_completed_at,
        intake_reminded_at=profile.intake_reminded_at,
        reminder_offsets=sorted(profile.reminder_offsets, reverse=True),
    )


async def _meetings(session: AsyncSession, member_id: int) -> list[MeetingAnswer]:
    rows = await session.execute(
        select(Meeting, Attendance)
        .join(Attendance, Attendance.meeting_id == Meeting.id)
        .where(Attendance.member_id == member_id)
        .order_by(Meeting.starts_at, Meeting.id)
    )
    return [
        MeetingAnswer(
            group=meeting.group.name,
            starts_at=meeting.starts_at,
            cancelled=_value(meeting.status) == "cancelled",
            answer=_value(attendance.answer),
            guests=attendance.guests,
            waitlisted=attendance.waitlisted,
            answered_at=attendance.answered_at,
        )
        for meeting, attendance in rows.unique()
    ]


async def _field_actions(session: AsyncSession, member_id: int) -> dict[str, list[Any]]:
    signups = await session.execute(
        select(Shift, ShiftSignup)
        .join(ShiftSignup, ShiftSignup.shift_id == Shift.id)
        .where(ShiftSignup.member_id == member_id)
        .order_by(Shift.starts_at, Shift.id)
    )
    calls = await session.execute(
        select(Shift, HelpCall)
        .join(HelpCall, HelpCall.shift_id == Shift.id)
        .where(HelpCall.member_id == member_id)
        .order_by(HelpCall.called_at, Shift.id)
    )
    swaps = await session.execute(
        select(Shift, ShiftSwap)
        .join(ShiftSwap, ShiftSwap.shift_id == Shift.id)
        .where(or_(ShiftSwap.from_member_id == member_id, ShiftSwap.to_member_id == member_id))
        .order_by(ShiftSwap.created_at, ShiftSwap.id)
    )
    contact = await session.scalars(
        select(FieldAction.title)
        .where(FieldAction.contact_id == member_id)
        .order_by(FieldAction.position, FieldAction.id)
    )
    return {
        "shifts": [
            ShiftTaken(
                action=shift.action_date.action.title,
                starts_at=shift.starts_at,
                ends_at=shift.ends_at,
                label=shift.label,
                signed_at=signup.signed_at,
                via_call=signup.via_call,
            )
            for shift, signup in signups.unique()
        ],
        "help_calls": [
            HelpCallReceived(
                action=shift.action_date.action.title,
                shift_starts_at=shift.starts_at,
                called_at=call.called_at,
            )
            for shift, call in calls.unique()
        ],
        "swaps": [
            Swap(
                action=shift.action_date.action.title,
                shift_starts_at=shift.starts_at,
                offered_by_you=swap.from_member_id == member_id,
                status=_value(swap.status),
                created_at=swap.created_at,
                decided_at=swap.decided_at,
            )
            for shift, swap in swaps.unique()
        ],
        "contact": list(contact),
    }


async def _hosting(session: AsyncSession, member: Member) -> dict[str, list[Any]]:
    proposals = await session.scalars(
        select(GroupProposal)
        .where(GroupProposal.proposer_id == member.id)
        .order_by(GroupProposal.created_at, GroupProposal.id)
    )
    proposal_rows = list(proposals)
    districts = {row.id: row.name for row in await session.scalars(select(District))}
    handovers = await session.execute(
        select(HostHandover, Group.name)
        .join(Group, Group.id == HostHandover.group_id)
        .where(
            or_(HostHandover.from_member_id == member.id, HostHandover.to_member_id == member.id)
        )
        .order_by(HostHandover.created_at, HostHandover.id)
    )
    # Hosts are named in the setup file by id or by @username (stored lower-cased).
    named = [GroupHost.telegram_id == member.id]
    if member.username:
        named.append(GroupHost.username == member.username.lower())
    hosted = await session.scalars(
        select(Group.name)
        .join(GroupHost, GroupHost.group_id == Group.id)
        .where(or_(*named))
        .order_by(Group.position, Group.id)
    )
    return {
        "proposals": [
            Proposal(
                name=row.name,
                district=districts.get(row.district_id),
                place=row.place,
                rule=row.rule,
                status=_value(row.status),
                created_at=row.created_at,
                decided_at=row.decided_at,
            )
            for row in proposal_rows
        ],
        "handovers": [
            Handover(
                group=name,
                handed_by_you=row.from_member_id == member.id,
                status=_value(row.status),
                created_at=row.created_at,
                decided_at=row.decided_at,
            )
            for row, name in handovers
        ],
        "hosted": list(dict.fromkeys(hosted)),
    }


async def collect(session: AsyncSession, member: Member, *, now: datetime) -> MemberData:
    """Everything stored about `member` (reads only; nothing is changed)."""
    member_id = member.id
    if member.profile is not None:
        await load_answers(session, member.profile)
    groups = await session.execute(
        select(Group.name, GroupMembership.joined_at)
        .join(GroupMembership, GroupMembership.group_id == Group.id)
        .where(GroupMembership.member_id == member_id)
        .order_by(Group.position, Group.id)
    )
    memorials = await session.execute(
        select(MemorialDate, MemorialAnswer)
        .join(MemorialAnswer, MemorialAnswer.memorial_date_id == MemorialDate.id)
        .where(MemorialAnswer.member_id == member_id)
        .order_by(MemorialDate.day, MemorialDate.id)
    )
    actions = await _field_actions(session, member_id)
    hosting = await _hosting(session, member)
    roles = [
        RoleHeld(role=_value(row.role), granted_at=row.granted_at)
        for row in await session.scalars(
            select(MemberRole).where(MemberRole.member_id == member_id).order_by(MemberRole.role)
        )
    ]
    planner = await session.get(ActionPlanner, member_id)
    if planner is not None:
        roles.append(RoleHeld(role="action_planner", granted_at=planner.granted_at))
    broadcasts = await session.scalars(
        select(Broadcast)
        .where(Broadcast.author_id == member_id)
        .order_by(Broadcast.created_at, Broadcast.id)
    )
    created = await session.scalars(
        select(Survey).where(Survey.author_id == member_id).order_by(Survey.created_at, Survey.id)
    )
    surveys_created = [
        SurveyCreated(title=row.title, status=_value(row.status), ends_at=row.ends_at)
        for row in created
    ]
    audited = await session.scalars(
        select(AuditEntry)
        .where(AuditEntry.actor_id == member_id)
        .order_by(AuditEntry.at, AuditEntry.id)
    )
    opt_outs = await session.scalars(
        select(OptOut).where(OptOut.member_id == member_id).order_by(OptOut.category)
    )
    preference = await session.get(HostPreference, member_id)
    notices = await session.scalars(
        select(NoticeCap).where(NoticeCap.member_id == member_id).order_by(NoticeCap.sent_at)
    )
    feed = await session.get(CalendarFeed, member_id)
    invitation = await session.get(Invitation, member_id)
    deliveries = await session.scalars(
        select(Delivery)
        .where(Delivery.recipient_id == member_id)
        .order_by(Delivery.created_at, Delivery.id)
    )
    history = await session.scalars(
        select(ConsentRecord)
        .where(ConsentRecord.member_id == member_id)
        .order_by(ConsentRecord.at, ConsentRecord.id)
    )
    conversations = await session.scalars(
        select(FsmRecord).where(FsmRecord.user_id == member_id).order_by(FsmRecord.updated_at)
    )
    check_ins = await session.scalars(
        select(CheckIn).where(CheckIn.member_id == member_id).order_by(CheckIn.queued_at)
    )
    call_consent = await session.get(CallConsent, member_id)
    return MemberData(
        exported_at=now,
        account=Account(
            id=member.id,
            first_name=member.first_name,
            username=member.username,
            language=member.language,
            telegram_language=member.telegram_language,
            reachable=member.reachable,
            created_at=member.created_at,
            last_seen_at=member.last_seen_at,
            departed_at=member.departed_at,
            paused_until=member.paused_until,
        ),
        profile=_profile(member),
        groups=[Joined(group=name, joined_at=joined) for name, joined in groups],
        meeting_answers=await _meetings(session, member_id),
        memorial_answers=[
            MemorialReply(
                memorial=row.memorial.name,
                day=row.day,
                answer=_value(answer.answer),
                answered_at=answer.answered_at,
            )
            for row, answer in memorials.unique()
        ],
        shifts=actions["shifts"],
        help_calls=actions["help_calls"],
        shift_swaps=actions["swaps"],
        group_proposals=hosting["proposals"],
        host_handovers=hosting["handovers"],
        hosted_groups=hosting["hosted"],
        roles=roles,
        contact_for_actions=actions["contact"],
        broadcasts=[
            Broadcasted(
                summary=row.summary,
                category=_value(row.category),
                status=_value(row.status),
                scheduled_at=row.scheduled_at,
            )
            for row in broadcasts
        ],
        surveys_taken=[SurveyTaken(**row) for row in await surveys.taken_part(session, member_id)],
        surveys_created=surveys_created,
        audit_entries=[
            Audited(action=row.action, subject=row.subject, count=row.count, at=row.at)
            for row in audited
        ],
        switched_off=[
            Switched(category=_value(row.category), created_at=row.created_at) for row in opt_outs
        ],
        host_notice=_value(preference.notice) if preference is not None else None,
        notices=[
            NoticeSent(kind=row.kind, subject_id=row.subject_id, sent_at=row.sent_at)
            for row in notices
        ],
        calendar_link=Link(created_at=feed.created_at) if feed is not None else None,
        invitation=(
            Link(created_at=invitation.created_at, token=invitation.token)
            if invitation is not None
            else None
        ),
        deliveries=[
            Message(
                kind=row.kind,
                category=row.category,
                status=_value(row.status),
                created_at=row.created_at,
                sent_at=row.sent_at,
            )
            for row in deliveries
        ],
        consent_history=[
            ConsentChange(event=_value(row.event), consent_version=row.consent_version, at=row.at)
            for row in history
        ],
        conversations=[
            Conversation(state=row.state, data=dict(row.data or {}), updated_at=row.updated_at)
            for row in conversations
            if row.state is not None or row.data
        ],
        check_ins=[
            CheckInSent(
                quarter=row.quarter,
                queued_at=row.queued_at,
                sent_at=row.sent_at,
                reaction=_value(row.reaction) if row.reaction is not None else None,
                reacted_at=row.reacted_at,
            )
            for row in check_ins
        ],
        call_consent=(
            CallConsentGiven(phone=call_consent.phone, consented_at=call_consent.consented_at)
            if call_consent is not None
            else None
        ),
    )


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    raise TypeError(f"not exportable: {type(value).__name__}")


def to_json(data: MemberData) -> str:
    """The export as JSON text (times ISO 8601 in UTC), UTF-8 characters kept readable."""
    return json.dumps(dataclasses.asdict(data), ensure_ascii=False, indent=2, default=_plain)


def file_name(data: MemberData, extension: str) -> str:
    """mitmachbot-daten-2026-12-01.json"""
    return f"mitmachbot-daten-{data.exported_at.date().isoformat()}.{extension}"


async def claim_download(session: AsyncSession, member_id: int, *, now: datetime) -> bool:
    """Whether the member's files may be sent now; True records the download.

    False within DOWNLOAD_WINDOW of the last one. One INSERT .. ON CONFLICT DO NOTHING, else a
    conditional UPDATE: both atomic, so of two presses handled at once only one wins. The
    caller commits before sending.
    """
    inserted = await session.execute(
        dialect_insert(session)(NoticeCap)
        .values(member_id=member_id, kind=DOWNLOAD_KIND, subject_id=0, sent_at=now)
        .on_conflict_do_nothing()
    )
    if inserted.rowcount:
        return True
    updated = await session.execute(
        update(NoticeCap)
        .where(
            NoticeCap.member_id == member_id,
            NoticeCap.kind == DOWNLOAD_KIND,
            NoticeCap.subject_id == 0,
            NoticeCap.sent_at <= now - DOWNLOAD_WINDOW,
        )
        .values(sent_at=now)
    )
    return bool(updated.rowcount)
