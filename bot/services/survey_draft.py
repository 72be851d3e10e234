"""A survey being composed: title, questions, audience, end; kept in the organiser's
conversation state as plain JSON (a restart keeps it) until "Start" stores it
(bot.services.surveys.start).

Every limit is checked here, where the organiser's text comes in, so a draft that passes can be
stored as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.services.audience import Audience
from bot.services.errors import DomainError
from models.survey import (
    INTRO_LENGTH,
    OPTION_LENGTH,
    PROMPT_LENGTH,
    TITLE_LENGTH,
    QuestionKind,
)

MIN_OPTIONS = 2
MAX_OPTIONS = 10
# Options are buttons: a label longer than this doesn't fit a phone's button.
MAX_OPTION_CHARS = 60
MAX_QUESTIONS = 10
# Kinds whose options the organiser types; a ranking's options are the KV's topics.
TYPED_OPTIONS = frozenset({QuestionKind.SINGLE, QuestionKind.MULTIPLE})


class SurveyInputError(DomainError, ValueError):
    """Typed text the draft can't take.

    `reason`: "empty", "title_long", "intro_long", "prompt_long", "few_options",
    "many_options", "option_long", "duplicate_option", "many_questions", "no_questions",
    "few_topics", "no_end".
    """


class DraftError(ValueError):
    """Conversation data that is not a survey draft (from an older version, or damaged)."""


@dataclass(frozen=True, slots=True)
class DraftQuestion:
    """A question as typed: its kind, prompt and (for single/multiple) options."""

    kind: QuestionKind
    prompt: str
    options: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class SurveyDraft:
    """What the organiser has given so far; `pending` is a question still missing its prompt
    or options."""

    title: str
    intro: str = ""
    questions: tuple[DraftQuestion, ...] = ()
    pending: DraftQuestion | None = None
    audience: Audience = field(default_factory=Audience)
    ends_at: datetime | None = None

    def with_question(self, question: DraftQuestion) -> SurveyDraft:
        """The draft with `question` added at the end (no pending question)."""
        if len(self.questions) >= MAX_QUESTIONS:
            raise SurveyInputError("many_questions")
        return replace(self, questions=(*self.questions, question), pending=None)

    def with_pending(self, question: DraftQuestion | None) -> SurveyDraft:
        """The draft waiting for the rest of `question` (None: waiting for nothing)."""
        return replace(self, pending=question)

    def with_audience(self, audience: Audience) -> SurveyDraft:
        """The draft for another audience (and no end chosen yet)."""
        return replace(self, audience=audience, pending=None, ends_at=None)

    def ending(self, ends_at: datetime) -> SurveyDraft:
        """The draft open until `ends_at` (UTC)."""
        return replace(self, ends_at=ends_at, pending=None)

    def to_json(self) -> dict[str, Any]:
        """Plain values for the conversation state."""

        def plain(question: DraftQuestion | None) -> dict[str, Any] | None:
            if question is None:
                return None
            return {
                "kind": question.kind.value,
                "prompt": question.prompt,
                "options": list(question.options),
            }

        return {
            "title": self.title,
            "intro": self.intro,
            "questions": [plain(question) for question in self.questions],
            "pending": plain(self.pending),
            "audience": self.audience.to_json(),
            "ends_at": self.ends_at.isoformat() if self.ends_at else None,
        }

    @classmethod
    def from_json(cls, data: object) -> SurveyDraft:
        """Read what to_json wrote; anything else raises a ValueError."""
        if not isinstance(data, Mapping) or not isinstance(data.get("title"), str):
            raise DraftError("no draft")

        def question(raw: object) -> DraftQuestion:
            if not isinstance(raw, Mapping) or not isinstance(raw.get("prompt"), str):
                raise DraftError("bad question")
            options = raw.get("options") or []
            if not isinstance(options, list) or not all(isinstance(o, str) for o in options):
                raise DraftError("bad options")
            return DraftQuestion(QuestionKind(raw.get("kind")), raw["prompt"], tuple(options))

        raw_questions = data.get("questions") or []
        if not isinstance(raw_questions, list) or len(raw_questions) > MAX_QUESTIONS:
            raise DraftError("bad questions")
        pending = data.get("pending")
        ends_at = data.get("ends_at")
        return cls(
            title=data["title"],
            intro=str(data.get("intro") or ""),
            questions=tuple(question(raw) for raw in raw_questions),
            pending=question(pending) if pending is not None else None,
            audience=Audience.from_json(data.get("audience")),
            ends_at=datetime.fromisoformat(ends_at) if isinstance(ends_at, str) else None,
        )


def _clean(text: str) -> str:
    return " ".join(text.split())


def parse_title(text: str) -> tuple[str, str]:
    """The title (first line) and the introduction (the lines after it, may be empty)."""
    lines = text.strip().splitlines()
    title = _clean(lines[0]) if lines else ""
    intro = "\n".join(line.rstrip() for line in lines[1:]).strip()
    if not title:
        raise SurveyInputError("empty")
    if len(title) > TITLE_LENGTH:
        raise SurveyInputError("title_long")
    if len(intro) > INTRO_LENGTH:
        raise SurveyInputError("intro_long")
    return title, intro


def parse_prompt(text: str) -> str:
    """A question's wording: not empty, at most PROMPT_LENGTH characters."""
    prompt = _clean(text)
    if not prompt:
        raise SurveyInputError("empty")
    if len(prompt) > PROMPT_LENGTH:
        raise SurveyInputError("prompt_long")
    return prompt


def parse_options(text: str) -> tuple[str, ...]:
    """Options typed one per line: MIN_OPTIONS to MAX_OPTIONS, each at most MAX_OPTION_CHARS,
    no two alike (ignoring case)."""
    options = tuple(option for option in (_clean(line) for line in text.splitlines()) if option)
    if len(options) < MIN_OPTIONS:
        raise SurveyInputError("few_options")
    if len(options) > MAX_OPTIONS:
        raise SurveyInputError("many_options")
    if any(len(option) > min(MAX_OPTION_CHARS, OPTION_LENGTH) for option in options):
        raise SurveyInputError("option_long")
    if len({option.casefold() for option in options}) != len(options):
        raise SurveyInputError("duplicate_option")
    return options
