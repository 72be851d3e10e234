"""SQLAlchemy models, one module per aggregate; importing this package registers them all."""

from models.base import Base, UTCDateTime
from models.fsm import FsmRecord
from models.member import Member, MemberRole, Role
from models.processed_update import ProcessedUpdate

__all__ = ["Base", "FsmRecord", "Member", "MemberRole", "ProcessedUpdate", "Role", "UTCDateTime"]
