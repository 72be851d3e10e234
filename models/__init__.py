"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from models.base import Base, UTCDateTime
from models.broadcast import Broadcast, BroadcastStatus, Category, OptOut
from models.delivery import Delivery, DeliveryStatus
from models.fsm import FsmRecord
from models.kv import (
    ActivityType,
    District,
    Group,
    GroupHost,
    GroupType,
    GuideSection,
    KvProfile,
    ServedChat,
    Topic,
)
from models.meeting import (
    Attendance,
    CalendarFeed,
    CancelReason,
    GroupPause,
    GroupProposal,
    HandoverStatus,
    HostHandover,
    HostNotice,
    HostPreference,
    Meeting,
    MeetingPost,
    MeetingStatus,
    ProposalStatus,
    RsvpAnswer,
)
from models.member import Member, MemberRole, Role
from models.processed_update import ProcessedUpdate
from models.profile import (
    DEFAULT_REMINDER_OFFSETS,
    ContactFrequency,
    FreeTime,
    GroupMembership,
    Profile,
)

__all__ = [
    "DEFAULT_REMINDER_OFFSETS",
    "ActivityType",
    "Attendance",
    "Base",
    "Broadcast",
    "BroadcastStatus",
    "CalendarFeed",
    "CancelReason",
    "Category",
    "ContactFrequency",
    "Delivery",
    "DeliveryStatus",
    "District",
    "FreeTime",
    "FsmRecord",
    "Group",
    "GroupHost",
    "GroupMembership",
    "GroupPause",
    "GroupProposal",
    "GroupType",
    "GuideSection",
    "HandoverStatus",
    "HostHandover",
    "HostNotice",
    "HostPreference",
    "KvProfile",
    "Meeting",
    "MeetingPost",
    "MeetingStatus",
    "Member",
    "MemberRole",
    "OptOut",
    "ProcessedUpdate",
    "Profile",
    "ProposalStatus",
    "Role",
    "RsvpAnswer",
    "ServedChat",
    "Topic",
    "UTCDateTime",
]
