"""Member surveys: the questions, and the answers kept apart from who gave them.

Anonymity by structure: `SurveyAnswer` rows carry no member id. `SurveyParticipation` says
that a member answered (so no one answers twice, and erasure finds them). While a survey is
open, a member may change their answers; to replace exactly their rows, their participation
and their answer rows share an opaque random `ballot` token (no hash of the member id, so it
cannot be recomputed from a member id). The token is the only link, and it is short-lived:

- when the survey closes, the token is cleared on both sides in the closing transaction, so
  the stored answers of a closed survey belong to no one;
- when a member erases their data, their answer rows' token is cleared and their participation
  row deleted; the answers stay in the aggregates.

While a survey is open, someone with database access could follow the token from a member to
their answers; the bot itself never shows a member's answers to anyone but that member.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from models.base import Base, UTCDateTime, text_enum, utcnow

TITLE_LENGTH = 120
INTRO_LENGTH = 1000
PROMPT_LENGTH = 300
OPTION_LENGTH = 100
TEXT_LENGTH = 500
BALLOT_LENGTH = 32


class SurveyStatus(enum.StrEnum):
    """DRAFT is not stored today (drafts live in the organiser's conversation); OPEN until its
    end; then CLOSED with the results sent."""

    DRAFT = "draft"
    OPEN = "open"
    CLOSED = "closed"


class QuestionKind(enum.StrEnum):
    """What a question asks for."""

    RANKING = "ranking"
    SINGLE = "single"
    MULTIPLE = "multiple"
    SCALE = "scale"
    TEXT = "text"


class Survey(Base):
    """One survey: its title, audience (criteria as for broadcasts), time span and author."""

    __tablename__ = "surveys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(TITLE_LENGTH))
    intro: Mapped[str] = mapped_column(String(INTRO_LENGTH), default="")
    # {"districts": [ids], "topics": [...], ...}: bot.services.audience.Audience.to_json
    audience: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[SurveyStatus] = mapped_column(
        text_enum(SurveyStatus, "survey_status"), default=SurveyStatus.OPEN, index=True
    )
    # None once the author erased their data.
    author_id: Mapped[int | None] = mapped_column(BigInteger, index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    opens_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One survey per composed draft: a double "Start" (two instances too) finds the first.
    draft_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    # How many the invitation was for when it started (counted in SQL), and the last member id
    # whose invitation is in the outbox while the rest is still being queued (None: all are);
    # see bot.services.member_batches.
    invited: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    invited_through: Mapped[int | None] = mapped_column(BigInteger)

    questions: Mapped[list[SurveyQuestion]] = relationship(
        back_populates="survey",
        order_by="SurveyQuestion.position",
        cascade="all, delete-orphan",
        lazy="selectin",
    )


class SurveyQuestion(Base):
    """One question of a survey, in its position."""

    __tablename__ = "survey_questions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    kind: Mapped[QuestionKind] = mapped_column(text_enum(QuestionKind, "survey_question_kind"))
    prompt: Mapped[str] = mapped_column(String(PROMPT_LENGTH))

    survey: Mapped[Survey] = relationship(back_populates="questions")
    options: Mapped[list[SurveyOption]] = relationship(
        order_by="SurveyOption.position", cascade="all, delete-orphan", lazy="selectin"
    )


class SurveyOption(Base):
    """A choice of a single/multiple question, or a topic of a ranking question.

    Topics are copied by name when the survey is created, so renaming or removing a topic
    later changes no result.
    """

    __tablename__ = "survey_options"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    position: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(OPTION_LENGTH))


class SurveyParticipation(Base):
    """That a member answered a survey (never what): one row per member and survey."""

    __tablename__ = "survey_participations"

    survey_id: Mapped[int] = mapped_column(
        ForeignKey("surveys.id", ondelete="CASCADE"), primary_key=True
    )
    member_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("members.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The random token the member's answer rows carry while the survey is open (see the module
    # docstring); None once it closed.
    ballot: Mapped[str | None] = mapped_column(String(BALLOT_LENGTH), unique=True)


class SurveyAnswer(Base):
    """One answer: a chosen option, a scale value, a ranked topic (value = its place, 1 first)
    or a free text. No member id, by design."""

    __tablename__ = "survey_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    survey_id: Mapped[int] = mapped_column(ForeignKey("surveys.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("survey_questions.id", ondelete="CASCADE"), index=True
    )
    option_id: Mapped[int | None] = mapped_column(
        ForeignKey("survey_options.id", ondelete="CASCADE"), index=True
    )
    value: Mapped[int | None] = mapped_column(Integer)
    text: Mapped[str | None] = mapped_column(String(TEXT_LENGTH))
    # Shared with the participation while the survey is open; None after (see above).
    ballot: Mapped[str | None] = mapped_column(String(BALLOT_LENGTH), index=True)
