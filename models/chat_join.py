"""Joins to the KV's Telegram groups, counted per chat and day: the funnel's first step.

Aggregates only, on purpose: no member id, so nothing here says who joined (privacy: being in
a party's group is political data, and the report needs only the count).
"""

from __future__ import annotations

from datetime import date

from sqlalchemy import BigInteger, Date, Integer
from sqlalchemy.orm import Mapped, mapped_column

from models.base import Base


class ChatJoinDay(Base):
    """How many people joined one served group chat on one local day (the KV's zone).

    Telegram reports a join twice where the bot is an admin (a chat_member update and the
    "joined" service message) and only the service message elsewhere; a group may hide the
    service messages. Each source has its own counter, and a day's joins are the larger of the
    two (`bot.services.chat_joins.JOINS`): never counted twice, and whichever the bot sees.
    """

    __tablename__ = "chat_join_days"

    chat_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    day: Mapped[date] = mapped_column(Date, primary_key=True, index=True)
    # From chat_member updates (the bot is an admin); join requests approved arrive so too.
    joins: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # From "joined" service messages (new_chat_members).
    announced: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
