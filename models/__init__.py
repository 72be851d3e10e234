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
from models.meeting import Attendance, Meeting
from models.member import Member, MemberRole, Role
from models.processed_update import ProcessedUpdate
from models.profile import ContactFrequency, FreeTime, GroupMembership, Profile

__all__ = [
    "ActivityType",
    "Attendance",
    "Base",
    "Broadcast",
    "BroadcastStatus",
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
    "GroupType",
    "GuideSection",
    "KvProfile",
    "Meeting",
    "Member",
    "MemberRole",
    "OptOut",
    "ProcessedUpdate",
    "Profile",
    "Role",
    "ServedChat",
    "Topic",
    "UTCDateTime",
]
