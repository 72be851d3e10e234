"""Member surveys: starting one, answering and changing answers, closing, the results.

Anonymity: answer rows carry no member id (models.survey explains the ballot token that links
a member's answers to their participation while the survey is open, and why it is cleared at
the close and on erasure). Results are computed in SQL from the answer rows alone.

Rankings are counted by Borda count: with n topics in the question, the topic a member put
first gets n - 1 points, the second n - 2, ..., the last 0. A member may rank only some
topics (the ones they care about); the topics they left out get 0 points from them, the
same as a last place. A topic's score is the sum over all members.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import delete, exists, func, not_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.dialect import dialect_insert
from bot.services import audience as segments
from bot.services import delivery, member_batches
from bot.services.errors import DomainError
from bot.services.reports.model import SMALL_COUNT
from bot.services.survey_draft import SurveyDraft, SurveyInputError
from models import Category, Topic
from models.base import valid_id
from models.survey import (
    TEXT_LENGTH,
    QuestionKind,
    Survey,
    SurveyAnswer,
    SurveyOption,
    SurveyParticipation,
    SurveyQuestion,
    SurveyStatus,
)

# Outbox kinds: the invitation with its "Take part" button, and the results after the close.
SURVEY_INVITE = "survey_invite"
SURVEY_RESULTS = "survey_results"
SCALE = range(1, 6)
# Kinds whose answer is a list of option ids.
CHOICE_KINDS = frozenset({QuestionKind.SINGLE, QuestionKind.MULTIPLE, QuestionKind.RANKING})

# One answer as the member gives it: option ids (single: one; multiple: some; ranking: in
# order, maybe only some), a scale value, a text (None: skipped).
Answer = list[int] | int | str | None
Answers = dict[int, Answer]


class SurveyError(DomainError):
    """A survey action the rules refuse.

    `reason`: "unknown" (no such survey), "closed" (ended), "not_in_audience", "answered"
    (already took part; change instead), "forged" (an option of another question, a value out
    of range), "incomplete" (a question without an answer), "text_long", "past" (an end that is
    not in the future).
    """


class AlreadyStartedError(DomainError):
    """This draft was started already (a double tap on "Start"); `survey` is the first one."""

    def __init__(self, survey: Survey) -> None:
        super().__init__("started")
        self.survey = survey


def borda_points(place: int, count: int) -> int:
    """Points for ranking a topic at `place` (1 first) among `count` topics: count - place."""
    return max(count - place, 0)


async def find(session: AsyncSession, survey_id: int) -> Survey | None:
    """The survey with this id (questions and options loaded), or None, also for an id no row
    can have (a forged button)."""
    if not valid_id(survey_id):
        return None
    return await session.get(Survey, survey_id)


async def started_with(session: AsyncSession, key: str) -> Survey | None:
    """The survey a draft with this key became, if it was started."""
    return await session.scalar(select(Survey).where(Survey.draft_key == key))


async def start(
    session: AsyncSession,
    draft: SurveyDraft,
    *,
    author_id: int,
    now: datetime,
    key: str,
    batch: int = member_batches.BATCH,
) -> tuple[Survey, int]:
    """Store `draft` as an open survey and invite its audience through the outbox.

    Ranking questions get the KV's topics as options, copied by name now. The audience is
    counted in SQL and the first `batch` members' invitations are queued in this transaction;
    the rest follow in batches (`invite_batch`, run by the survey job), so a large audience
    never holds the organiser's update. Returns the survey and how many it invites.

    Raises SurveyError("past") for an end not in the future, SurveyInputError for a draft
    without questions or a ranking with fewer than two topics, UnknownSegmentError for an
    audience naming what is gone, AlreadyStartedError for a draft started before. The caller
    commits.
    """
    existing = await started_with(session, key)
    if existing is not None:
        raise AlreadyStartedError(existing)
    if draft.ends_at is None or draft.ends_at <= now:
        raise SurveyError("past")
    if not draft.questions:
        raise SurveyInputError("no_questions")
    await segments.check(session, draft.audience)
    topics = list(await session.scalars(select(Topic.name).order_by(Topic.position, Topic.name)))
    survey = Survey(
        title=draft.title,
        intro=draft.intro,
        audience=draft.audience.to_json(),
        status=SurveyStatus.OPEN,
        author_id=author_id,
        created_at=now,
        opens_at=now,
        ends_at=draft.ends_at,
        draft_key=key,
    )
    for position, question in enumerate(draft.questions):
        labels: tuple[str, ...] = question.options
        if question.kind is QuestionKind.RANKING:
            if len(topics) < 2:
                raise SurveyInputError("few_topics")
            labels = tuple(topics)
        row = SurveyQuestion(position=position, kind=question.kind, prompt=question.prompt)
        row.options = [SurveyOption(position=i, label=label) for i, label in enumerate(labels)]
        survey.questions.append(row)
    session.add(survey)
    await session.flush()
    reach = await segments.reach(session, draft.audience, Category.ANNOUNCEMENTS)
    survey.invited = reach.recipients
    survey.invited_through = 0
    await session.flush()
    await invite_batch(session, survey.id, now=now, batch=batch)
    # The batch moved the cursor in SQL.
    await session.refresh(survey, ["invited_through"])
    return survey, reach.recipients


async def inviting(session: AsyncSession) -> list[int]:
    """Open surveys whose invitations are not all in the outbox yet, oldest first."""
    rows = await session.scalars(
        select(Survey.id).where(Survey.invited_through.is_not(None)).order_by(Survey.id)
    )
    return list(rows)


async def invite_batch(
    session: AsyncSession, survey_id: int, *, now: datetime, batch: int = member_batches.BATCH
) -> bool:
    """Queue the invitations of the next `batch` members (by id) to whoever of them the survey's
    audience matches and takes announcements; the caller commits. Returns True while more may
    remain.

    Claimed as bot.services.member_batches describes, and each row carries the key
    "survey:<id>:<member>" besides: a rerun or a second instance adds nothing. No member id
    passes through Python (one INSERT ... SELECT). A survey that closed meanwhile invites no
    one more.
    """
    row = (
        await session.execute(
            select(Survey.status, Survey.invited_through, Survey.audience).where(
                Survey.id == survey_id
            )
        )
    ).one_or_none()
    if row is None or row.invited_through is None:
        return False
    audience = segments.Audience.readable(row.audience)
    if row.status is not SurveyStatus.OPEN:
        audience = None
    claimed = await member_batches.claim(
        session,
        Survey.invited_through,
        Survey.id == survey_id,
        after=row.invited_through,
        size=batch,
        empty=audience is None,
    )
    if claimed is None:
        return True
    if claimed.last is not None:
        assert audience is not None
        chosen = segments.matching(
            audience, Category.ANNOUNCEMENTS, after=claimed.after, through=claimed.last
        ).subquery()
        invitations = select(chosen.c.id).where(chosen.c.reachable, not_(chosen.c.opted_out))
        await delivery.enqueue_once_selected(
            session,
            invitations.subquery(),
            key_prefix=f"survey:{survey_id}:",
            kind=SURVEY_INVITE,
            payload={"survey_id": survey_id},
            due_at=now,
            category=Category.ANNOUNCEMENTS.value,
        )
    return not claimed.done


async def in_audience(session: AsyncSession, survey: Survey, member_id: int) -> bool:
    """Whether the member fits the survey's audience now (opt-outs aside: the invitation obeys
    them, but a member who found the survey anyway may answer)."""
    matching = segments.matching(
        segments.Audience.from_json(survey.audience),
        Category.ANNOUNCEMENTS,
        after=member_id - 1,
        through=member_id,
    )
    return (await session.execute(matching.limit(1))).first() is not None


async def open_for(session: AsyncSession, survey_id: int, member_id: int, now: datetime) -> Survey:
    """The survey, if the member may answer it now; else SurveyError ("unknown", "closed",
    "not_in_audience")."""
    survey = await find(session, survey_id)
    if survey is None:
        raise SurveyError("unknown")
    if survey.status is not SurveyStatus.OPEN or survey.ends_at <= now:
        raise SurveyError("closed")
    if not await in_audience(session, survey, member_id):
        raise SurveyError("not_in_audience")
    return survey


def question_of(survey: Survey, question_id: int) -> SurveyQuestion | None:
    """The survey's question with this id (None for another survey's or a forged one)."""
    return next((q for q in survey.questions if q.id == question_id), None)


def check_answer(question: SurveyQuestion, answer: object) -> Answer:
    """`answer` as stored for `question`, or SurveyError("forged"/"text_long"/"incomplete").

    Option ids must be the question's own, each at most once; a single choice is exactly one,
    a multiple choice at least one, a ranking any number (partial rankings allowed); a scale
    value 1-5; a text at most TEXT_LENGTH characters, None when skipped.
    """
    kind = question.kind
    if kind in CHOICE_KINDS:
        if not isinstance(answer, list) or not all(
            isinstance(item, int) and not isinstance(item, bool) for item in answer
        ):
            raise SurveyError("incomplete" if answer is None else "forged")
        own = {option.id for option in question.options}
        if len(set(answer)) != len(answer) or not set(answer) <= own:
            raise SurveyError("forged")
        if kind is QuestionKind.SINGLE and len(answer) != 1:
            raise SurveyError("incomplete" if not answer else "forged")
        if kind is QuestionKind.MULTIPLE and not answer:
            raise SurveyError("incomplete")
        return list(answer)
    if kind is QuestionKind.SCALE:
        if answer is None:
            raise SurveyError("incomplete")
        if not isinstance(answer, int) or isinstance(answer, bool) or answer not in SCALE:
            raise SurveyError("forged")
        return answer
    if answer is None:
        return None
    if not isinstance(answer, str):
        raise SurveyError("forged")
    text = answer.strip()
    if len(text) > TEXT_LENGTH:
        raise SurveyError("text_long")
    return text or None


def _rows(survey: Survey, answers: Mapping[int, Answer], ballot: str) -> list[SurveyAnswer]:
    rows = []
    for question in survey.questions:
        answer = answers[question.id]
        common = {"survey_id": survey.id, "question_id": question.id, "ballot": ballot}
        if question.kind is QuestionKind.RANKING:
            assert isinstance(answer, list)
            rows += [
                SurveyAnswer(option_id=option_id, value=place, **common)
                for place, option_id in enumerate(answer, start=1)
            ]
        elif question.kind in CHOICE_KINDS:
            assert isinstance(answer, list)
            rows += [SurveyAnswer(option_id=option_id, **common) for option_id in answer]
        elif question.kind is QuestionKind.SCALE:
            rows.append(SurveyAnswer(value=answer, **common))
        elif answer is not None:
            rows.append(SurveyAnswer(text=answer, **common))
    return rows


async def submit(
    session: AsyncSession,
    survey_id: int,
    member_id: int,
    answers: Mapping[int, object],
    *,
    now: datetime,
    change: bool,
) -> Survey:
    """Store the member's answers: the first time (`change` False), or replacing the earlier
    ones (`change` True). Every answer is checked against the database first.

    A first submission when the member already took part (a second tap, a second instance)
    raises SurveyError("answered") and stores nothing: one participation row per member and
    survey (its primary key) and one set of answer rows per ballot, so nothing counts twice.
    The caller commits.
    """
    survey = await open_for(session, survey_id, member_id, now)
    checked = {q.id: check_answer(q, answers.get(q.id)) for q in survey.questions}
    ballot = secrets.token_hex(16)
    added = await session.execute(
        dialect_insert(session)(SurveyParticipation)
        .values(survey_id=survey.id, member_id=member_id, answered_at=now, ballot=ballot)
        .on_conflict_do_nothing(index_elements=["survey_id", "member_id"])
    )
    if not added.rowcount:
        if not change:
            raise SurveyError("answered")
        # Locked (PostgreSQL) so two changes at once replace one after the other.
        participation = await session.scalar(
            select(SurveyParticipation)
            .where(
                SurveyParticipation.survey_id == survey.id,
                SurveyParticipation.member_id == member_id,
            )
            .with_for_update()
        )
        if participation is None or participation.ballot is None:
            # Closed (its ballots cleared) between the check above and now.
            raise SurveyError("closed")
        ballot = participation.ballot
        await session.execute(delete(SurveyAnswer).where(SurveyAnswer.ballot == ballot))
        participation.answered_at = now
    session.add_all(_rows(survey, checked, ballot))
    await session.flush()
    return survey


async def has_answered(session: AsyncSession, survey_id: int, member_id: int) -> bool:
    """Whether the member took part in the survey."""
    return bool(
        await session.scalar(
            select(
                exists().where(
                    SurveyParticipation.survey_id == survey_id,
                    SurveyParticipation.member_id == member_id,
                )
            )
        )
    )


async def my_answers(session: AsyncSession, survey: Survey, member_id: int) -> Answers | None:
    """The member's stored answers while the survey is open (through their ballot), None when
    they haven't answered or the link is gone (closed, erased)."""
    ballot = await session.scalar(
        select(SurveyParticipation.ballot).where(
            SurveyParticipation.survey_id == survey.id,
            SurveyParticipation.member_id == member_id,
        )
    )
    if ballot is None:
        return None
    rows = list(
        await session.scalars(
            select(SurveyAnswer).where(SurveyAnswer.ballot == ballot).order_by(SurveyAnswer.id)
        )
    )
    answers: Answers = {}
    for question in survey.questions:
        mine = [row for row in rows if row.question_id == question.id]
        if question.kind is QuestionKind.RANKING:
            answers[question.id] = [
                row.option_id
                for row in sorted(mine, key=lambda row: row.value or 0)
                if row.option_id is not None
            ]
        elif question.kind in CHOICE_KINDS:
            answers[question.id] = [row.option_id for row in mine if row.option_id is not None]
        elif question.kind is QuestionKind.SCALE:
            answers[question.id] = mine[0].value if mine else None
        else:
            answers[question.id] = mine[0].text if mine else None
    return answers


async def participant_count(session: AsyncSession, survey_id: int) -> int:
    """How many members took part so far."""
    count = await session.scalar(
        select(func.count())
        .select_from(SurveyParticipation)
        .where(SurveyParticipation.survey_id == survey_id)
    )
    return int(count or 0)


async def listed(session: AsyncSession, *, limit: int = 10) -> list[tuple[Survey, int]]:
    """Open surveys and the latest closed ones (newest first) with their participant counts."""
    count = (
        select(func.count())
        .where(SurveyParticipation.survey_id == Survey.id)
        .correlate(Survey)
        .scalar_subquery()
    )
    rows = await session.execute(
        select(Survey, count).order_by(Survey.status.desc(), Survey.id.desc()).limit(limit)
    )
    return [(survey, int(participants)) for survey, participants in rows]


async def open_surveys_for(session: AsyncSession, member_id: int, now: datetime) -> list[Survey]:
    """Open surveys the member fits the audience of and hasn't answered, soonest end first
    (for re-engagement messages: "an open survey")."""
    answered = exists().where(
        SurveyParticipation.survey_id == Survey.id, SurveyParticipation.member_id == member_id
    )
    candidates = await session.scalars(
        select(Survey)
        .where(Survey.status == SurveyStatus.OPEN, Survey.ends_at > now, ~answered)
        .order_by(Survey.ends_at, Survey.id)
    )
    return [survey for survey in candidates if await in_audience(session, survey, member_id)]


async def invitation_still_wanted(
    session: AsyncSession, survey_id: int, member_id: int, now: datetime
) -> Survey | None:
    """The survey an invitation is for, unless it closed or the member answered meanwhile."""
    survey = await find(session, survey_id)
    if survey is None or survey.status is not SurveyStatus.OPEN or survey.ends_at <= now:
        return None
    return None if await has_answered(session, survey_id, member_id) else survey


async def close_due(
    session: AsyncSession, *, now: datetime, admin_ids: Collection[int] = ()
) -> list[int]:
    """Close every open survey whose end passed: unlink the ballots and queue the results to
    its participants and to the author and organisers. Returns the ids this call closed.

    Each survey is claimed with a conditional UPDATE (open -> closed), so with two instances or
    a rerun it is closed and announced once; the result rows have keys besides. The caller
    commits.
    """
    due = list(
        await session.scalars(
            select(Survey.id).where(Survey.status == SurveyStatus.OPEN, Survey.ends_at <= now)
        )
    )
    closed = []
    for survey_id in due:
        claimed = await session.execute(
            update(Survey)
            .where(Survey.id == survey_id, Survey.status == SurveyStatus.OPEN)
            .values(status=SurveyStatus.CLOSED, closed_at=now)
            .execution_options(synchronize_session=False)
        )
        if not claimed.rowcount:
            continue
        closed.append(survey_id)
        # The answers of a closed survey belong to no one any more.
        await session.execute(
            update(SurveyParticipation)
            .where(SurveyParticipation.survey_id == survey_id)
            .values(ballot=None)
            .execution_options(synchronize_session=False)
        )
        await session.execute(
            update(SurveyAnswer)
            .where(SurveyAnswer.survey_id == survey_id)
            .values(ballot=None)
            .execution_options(synchronize_session=False)
        )
        await _queue_results(session, survey_id, now=now, admin_ids=admin_ids)
    return closed


async def _queue_results(
    session: AsyncSession, survey_id: int, *, now: datetime, admin_ids: Collection[int]
) -> None:
    # Imported here: directory imports profile, which unlinks surveys on a withdrawal.
    from bot.services import directory  # noqa: PLC0415

    author = await session.scalar(select(Survey.author_id).where(Survey.id == survey_id))
    found = set(await directory.organiser_ids(session, admin_ids))
    if author is not None:
        found.add(author)
    organisers = sorted(found)
    # Organisers who took part get the organisers' version (with the free texts) only.
    await delivery.enqueue_once_many(
        session,
        [(member_id, f"survey-results:{survey_id}:{member_id}") for member_id in organisers],
        kind=SURVEY_RESULTS,
        payload={"survey_id": survey_id, "organiser": True},
        due_at=now,
    )
    # Participants may be thousands: queued in SQL, no id through Python.
    participants = select(SurveyParticipation.member_id).where(
        SurveyParticipation.survey_id == survey_id,
        SurveyParticipation.member_id.not_in(organisers),
    )
    await delivery.enqueue_once_selected(
        session,
        participants.subquery(),
        key_prefix=f"survey-results:{survey_id}:",
        kind=SURVEY_RESULTS,
        payload={"survey_id": survey_id, "organiser": False},
        due_at=now,
    )


@dataclass(slots=True)
class OptionResult:
    """One option: how many chose it (people), or a ranked topic's Borda points."""

    label: str
    count: int = 0
    points: int = 0


@dataclass(slots=True)
class QuestionResult:
    """The aggregate answers to one question."""

    kind: QuestionKind
    prompt: str
    # Single/multiple: in the question's order; ranking: by points, best first (ties in the
    # question's order).
    options: list[OptionResult] = field(default_factory=list)
    # Scale: how many chose 1..5, and the mean (None without answers).
    scale: list[int] = field(default_factory=lambda: [0] * len(SCALE))
    mean: float | None = None
    # Free texts, sorted alphabetically (not in the order given, which could tell who wrote
    # what); for organisers only.
    texts: list[str] = field(default_factory=list)


@dataclass(slots=True)
class SurveyResults:
    """A survey's results; with fewer than SMALL_COUNT participants nothing is broken down."""

    survey_id: int
    title: str
    status: SurveyStatus
    ends_at: datetime
    participants: int
    questions: list[QuestionResult] = field(default_factory=list)

    @property
    def too_few(self) -> bool:
        """Whether too few took part for any breakdown to keep answers anonymous."""
        return self.participants < SMALL_COUNT


async def results(session: AsyncSession, survey: Survey) -> SurveyResults:
    """The survey's results, aggregated in SQL from the answer rows (no member involved)."""
    outcome = SurveyResults(
        survey.id,
        survey.title,
        survey.status,
        survey.ends_at,
        await participant_count(session, survey.id),
    )
    for question in survey.questions:
        result = QuestionResult(question.kind, question.prompt)
        outcome.questions.append(result)
        where = SurveyAnswer.question_id == question.id
        if question.kind in CHOICE_KINDS:
            n = len(question.options)
            rows = await session.execute(
                select(
                    SurveyAnswer.option_id,
                    func.count(),
                    func.coalesce(func.sum(n - SurveyAnswer.value), 0),
                )
                .where(where)
                .group_by(SurveyAnswer.option_id)
            )
            tallies: dict[int | None, tuple[int, int]] = {
                option_id: (int(count), int(points)) for option_id, count, points in rows
            }
            result.options = [
                OptionResult(option.label, *tallies.get(option.id, (0, 0)))
                for option in question.options
            ]
            if question.kind is QuestionKind.RANKING:
                for option in result.options:
                    option.points = max(option.points, 0)
                result.options.sort(key=lambda option: -option.points)
        elif question.kind is QuestionKind.SCALE:
            rows = await session.execute(
                select(SurveyAnswer.value, func.count()).where(where).group_by(SurveyAnswer.value)
            )
            counts: dict[int, int] = defaultdict(int)
            for value, count in rows:
                if value in SCALE:
                    counts[int(value)] = int(count)
            result.scale = [counts[value] for value in SCALE]
            mean = await session.scalar(select(func.avg(SurveyAnswer.value)).where(where))
            result.mean = float(mean) if mean is not None else None
        else:
            result.texts = list(
                await session.scalars(
                    select(SurveyAnswer.text)
                    .where(where, SurveyAnswer.text.is_not(None))
                    .order_by(SurveyAnswer.text)
                )
            )
    return outcome


async def may_see_results(
    session: AsyncSession, survey: Survey, member_id: int, *, organiser: bool
) -> bool:
    """Organisers always (while open: the number of participants only, see the views); a
    member once the survey closed, if they took part."""
    if organiser:
        return True
    return survey.status is SurveyStatus.CLOSED and await has_answered(
        session, survey.id, member_id
    )


async def unlink_member(session: AsyncSession, member_id: int) -> int:
    """For erasure: clear the ballot of the member's answers and delete their participations.

    The answer rows stay (the aggregates don't change), belonging to no one. Returns how many
    participations went. The caller commits.
    """
    ballots = select(SurveyParticipation.ballot).where(
        SurveyParticipation.member_id == member_id, SurveyParticipation.ballot.is_not(None)
    )
    await session.execute(
        update(SurveyAnswer)
        .where(SurveyAnswer.ballot.in_(ballots))
        .values(ballot=None)
        .execution_options(synchronize_session=False)
    )
    removed = await session.execute(
        delete(SurveyParticipation)
        .where(SurveyParticipation.member_id == member_id)
        .execution_options(synchronize_session=False)
    )
    return int(removed.rowcount or 0)


async def taken_part(session: AsyncSession, member_id: int) -> list[dict[str, Any]]:
    """For the data export: the surveys the member took part in (title, when, status), not the
    answers (they are stored without the member's id)."""
    rows = await session.execute(
        select(Survey.title, Survey.status, SurveyParticipation.answered_at)
        .join(SurveyParticipation, SurveyParticipation.survey_id == Survey.id)
        .where(SurveyParticipation.member_id == member_id)
        .order_by(SurveyParticipation.answered_at)
    )
    return [
        {"survey": title, "status": SurveyStatus(status).value, "answered_at": answered_at}
        for title, status, answered_at in rows
    ]
