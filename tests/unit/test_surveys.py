"""The survey service: Borda counts and aggregates (a table of cases), the anonymity of the
answer rows, refusals that change nothing, the close, and erasure keeping the aggregates."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import pytest
import sqlalchemy as sa
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.db.session import SessionPool
from bot.services import data_export, erasure, profile, surveys
from bot.services.audience import Audience
from bot.services.preferences import set_opted_out
from bot.services.survey_draft import (
    DraftQuestion,
    SurveyDraft,
    SurveyInputError,
    parse_options,
    parse_title,
)
from bot.services.surveys import SurveyError
from models import (
    Category,
    Delivery,
    District,
    Member,
    Profile,
    QuestionKind,
    Survey,
    SurveyAnswer,
    SurveyParticipation,
    SurveyStatus,
    Topic,
)

NOW = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)
END = NOW + timedelta(days=7)
TOPICS = ("Umwelt", "Bildung", "Wohnen", "Verkehr")


async def _kv(session: AsyncSession, members: int) -> list[int]:
    """Topics, two Stadtteile, and `members` signed-up members in Mitte (ids 1..n), one in Nord
    (id 99)."""
    session.add_all(Topic(key=name.lower(), name=name, position=i) for i, name in enumerate(TOPICS))
    mitte, nord = District(key="mitte", name="Mitte"), District(key="nord", name="Nord")
    session.add_all([mitte, nord])
    await session.flush()
    ids = list(range(1, members + 1))
    for member_id, district in [*((i, mitte) for i in ids), (99, nord)]:
        member = Member(id=member_id, first_name=f"M{member_id}")
        member.profile = Profile(
            member_id=member_id, district_id=district.id, topics=[], activity_types=[]
        )
        session.add(member)
    await session.flush()
    return ids


async def _start(
    session: AsyncSession, *questions: DraftQuestion, mitte_only: bool = True
) -> Survey:
    district = await session.scalar(select(District.id).where(District.key == "mitte"))
    audience = Audience(districts=frozenset({district})) if mitte_only else Audience()
    draft = SurveyDraft("Programm", questions=questions, audience=audience, ends_at=END)
    survey, _invited = await surveys.start(session, draft, author_id=1, now=NOW, key="k")
    return survey


RANKING = DraftQuestion(QuestionKind.RANKING, "Was ist dir wichtig?")


def _ids(survey: Survey, index: int, labels: Sequence[str]) -> list[int]:
    by_label = {option.label: option.id for option in survey.questions[index].options}
    return [by_label[label] for label in labels]


# Each case: the rankings given (topics in order, maybe only some), and the Borda points
# expected per topic (4 topics: first 3 points, second 2, third 1, last or unranked 0).
BORDA_CASES = [
    pytest.param(
        [["Bildung", "Umwelt", "Wohnen", "Verkehr"]],
        {"Bildung": 3, "Umwelt": 2, "Wohnen": 1, "Verkehr": 0},
        id="single voter",
    ),
    pytest.param(
        [["Umwelt"], ["Bildung"]], {"Umwelt": 3, "Bildung": 3, "Wohnen": 0, "Verkehr": 0}, id="tie"
    ),
    pytest.param(
        [["Wohnen", "Verkehr"], ["Verkehr"], []],
        {"Verkehr": 5, "Wohnen": 3, "Umwelt": 0, "Bildung": 0},
        id="partial and empty rankings",
    ),
    pytest.param(
        [["Umwelt", "Bildung"], ["Bildung", "Umwelt"], ["Umwelt", "Wohnen", "Bildung"]],
        {"Umwelt": 8, "Bildung": 6, "Wohnen": 2, "Verkehr": 0},
        id="several voters",
    ),
]


@pytest.mark.parametrize(("rankings", "points"), BORDA_CASES)
async def test_borda_points(
    session_pool: SessionPool, rankings: list[list[str]], points: dict[str, int]
) -> None:
    async with session_pool() as session:
        members = await _kv(session, max(len(rankings), 1))
        survey = await _start(session, RANKING)
        question = survey.questions[0].id
        for member_id, ranking in zip(members, rankings, strict=False):
            await surveys.submit(
                session,
                survey.id,
                member_id,
                {question: _ids(survey, 0, ranking)},
                now=NOW,
                change=False,
            )
        await session.commit()
        result = (await surveys.results(session, survey)).questions[0]
    assert {option.label: option.points for option in result.options} == points
    # Best first; ties keep the question's (the setup's) order.
    scores = [option.points for option in result.options]
    assert scores == sorted(scores, reverse=True)


def test_borda_points_per_place() -> None:
    assert [surveys.borda_points(place, 4) for place in (1, 2, 3, 4)] == [3, 2, 1, 0]


async def test_choices_scales_and_texts_aggregate(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        members = await _kv(session, 4)
        survey = await _start(
            session,
            DraftQuestion(QuestionKind.SINGLE, "Wann?", ("Abends", "Wochenende")),
            DraftQuestion(QuestionKind.MULTIPLE, "Was?", ("Infostand", "Flyer", "Online")),
            DraftQuestion(QuestionKind.SCALE, "Wie zufrieden?"),
            DraftQuestion(QuestionKind.TEXT, "Was fehlt?"),
        )
        single, multiple, scale, text = (q.id for q in survey.questions)
        given = [
            ("Abends", ["Infostand", "Flyer"], 5, "Zeit"),
            ("Abends", ["Flyer"], 4, None),
            ("Wochenende", ["Flyer", "Online"], 4, "Räume"),
            ("Abends", ["Infostand"], 1, "Ansprache"),
        ]
        for member_id, (when, what, how, missing) in zip(members, given, strict=True):
            answers = {
                single: _ids(survey, 0, [when]),
                multiple: _ids(survey, 1, what),
                scale: how,
                text: missing,
            }
            await surveys.submit(session, survey.id, member_id, answers, now=NOW, change=False)
        await session.commit()
        results = await surveys.results(session, survey)
    assert results.participants == 4
    assert not results.too_few
    counts = [{o.label: o.count for o in q.options} for q in results.questions[:2]]
    assert counts == [
        {"Abends": 3, "Wochenende": 1},
        {"Infostand": 2, "Flyer": 3, "Online": 1},
    ]
    assert results.questions[2].scale == [1, 0, 0, 2, 1]
    assert results.questions[2].mean == pytest.approx(3.5)
    # Sorted, not in the order given (which could tell who wrote what); skipped: no row.
    assert results.questions[3].texts == ["Ansprache", "Räume", "Zeit"]


async def test_fewer_than_three_participants_show_no_breakdown(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        members = await _kv(session, 2)
        survey = await _start(session, RANKING)
        for member_id in members:
            await surveys.submit(
                session, survey.id, member_id, {survey.questions[0].id: []}, now=NOW, change=False
            )
        results = await surveys.results(session, survey)
    assert results.participants == 2
    assert results.too_few


def test_answer_rows_carry_no_member_id() -> None:
    columns = set(SurveyAnswer.__table__.columns.keys())
    assert columns == {"id", "survey_id", "question_id", "option_id", "value", "text", "ballot"}
    targets = {fk.column.table.name for fk in SurveyAnswer.__table__.foreign_keys}
    assert targets == {"surveys", "survey_questions", "survey_options"}
    assert not any(isinstance(c.type, sa.BigInteger) for c in SurveyAnswer.__table__.columns)
    # Who answered is in the participation, which holds no answer.
    assert set(SurveyParticipation.__table__.columns.keys()) == {
        "survey_id",
        "member_id",
        "answered_at",
        "ballot",
    }


async def _rows(session: AsyncSession) -> list[tuple[object, ...]]:
    rows = await session.execute(
        select(SurveyAnswer.question_id, SurveyAnswer.option_id, SurveyAnswer.value).order_by(
            SurveyAnswer.id
        )
    )
    return [tuple(row) for row in rows]


async def test_refusals_change_nothing(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        await _kv(session, 2)
        survey = await _start(
            session, RANKING, DraftQuestion(QuestionKind.SINGLE, "Wann?", ("Abends", "Morgens"))
        )
        ranking, single = (q.id for q in survey.questions)
        mine = {ranking: _ids(survey, 0, ["Umwelt"]), single: _ids(survey, 1, ["Abends"])}
        await surveys.submit(session, survey.id, 1, mine, now=NOW, change=False)
        await session.commit()
        before = await _rows(session)

        refusals = [
            # Submitting again as new: the answers count once.
            (1, mine, NOW, False, "answered"),
            # An option of another question.
            (
                2,
                {ranking: _ids(survey, 1, ["Abends"]), single: _ids(survey, 1, ["Abends"])},
                NOW,
                False,
                "forged",
            ),
            # The same topic twice in a ranking; two answers to a single choice.
            (
                2,
                {
                    ranking: _ids(survey, 0, ["Umwelt", "Umwelt"]),
                    single: _ids(survey, 1, ["Abends"]),
                },
                NOW,
                False,
                "forged",
            ),
            (
                2,
                {ranking: [], single: _ids(survey, 1, ["Abends", "Morgens"])},
                NOW,
                False,
                "forged",
            ),
            # A question left out.
            (2, {ranking: []}, NOW, False, "incomplete"),
            # After the end, also for a change.
            (2, mine, END, False, "closed"),
            (1, mine, END + timedelta(seconds=1), True, "closed"),
            # Nord is not in the audience.
            (99, mine, NOW, False, "not_in_audience"),
        ]
        survey_id = survey.id  # a rollback expires the loaded survey
        for member_id, answers, at, change, reason in refusals:
            with pytest.raises(SurveyError) as refused:
                await surveys.submit(session, survey_id, member_id, answers, now=at, change=change)
            assert refused.value.reason == reason
            await session.rollback()
        assert await _rows(session) == before
        with pytest.raises(SurveyError, match="unknown"):
            await surveys.open_for(session, 2**40, 1, NOW)


async def test_changing_replaces_the_members_rows_only(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        await _kv(session, 2)
        survey = await _start(session, DraftQuestion(QuestionKind.SCALE, "Wie?"))
        scale = survey.questions[0].id
        await surveys.submit(session, survey.id, 1, {scale: 2}, now=NOW, change=False)
        await surveys.submit(session, survey.id, 2, {scale: 5}, now=NOW, change=False)
        await surveys.submit(session, survey.id, 1, {scale: 3}, now=NOW, change=True)
        await surveys.submit(session, survey.id, 1, {scale: 4}, now=NOW, change=True)
        await session.commit()
        assert sorted(value for _q, _o, value in await _rows(session)) == [4, 5]
        assert await surveys.my_answers(session, survey, 1) == {scale: 4}
        assert await surveys.participant_count(session, survey.id) == 2


async def test_close_is_once_and_unlinks(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        await _kv(session, 1)
        survey = await _start(session, DraftQuestion(QuestionKind.SCALE, "Wie?"))
        await surveys.submit(
            session, survey.id, 1, {survey.questions[0].id: 3}, now=NOW, change=False
        )
        await session.commit()
        assert await surveys.close_due(session, now=END - timedelta(seconds=1)) == []
        assert await surveys.close_due(session, now=END) == [survey.id]
        assert await surveys.close_due(session, now=END) == []
        await session.commit()
        await session.refresh(survey)
        assert survey.status is SurveyStatus.CLOSED
        ballots = set(await session.scalars(select(SurveyAnswer.ballot)))
        ballots |= set(await session.scalars(select(SurveyParticipation.ballot)))
        assert ballots == {None}
        assert await surveys.my_answers(session, survey, 1) is None
        assert await surveys.may_see_results(session, survey, 1, organiser=False)
        assert not await surveys.may_see_results(session, survey, 99, organiser=False)


async def test_erasure_keeps_aggregates_and_removes_the_link(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        members = await _kv(session, 3)
        survey = await _start(session, RANKING)
        question = survey.questions[0].id
        for member_id in members:
            ranking = _ids(survey, 0, ["Wohnen", "Umwelt"])
            await surveys.submit(
                session, survey.id, member_id, {question: ranking}, now=NOW, change=False
            )
        await session.commit()
        before = await surveys.results(session, survey)
        # The export names the survey taken part in, not the answers (not linked to anyone).
        member = await session.get(Member, 1)
        assert member is not None
        exported = await data_export.collect(session, member, now=NOW)
        assert [row.survey for row in exported.surveys_taken] == ["Programm"]
        assert [row.title for row in exported.surveys_created] == ["Programm"]
        assert "Wohnen" not in data_export.to_json(exported)
        ballot = await session.scalar(
            select(SurveyParticipation.ballot).where(SurveyParticipation.member_id == 1)
        )
    async with session_pool() as session:
        assert await erasure.erase_member(session, 1, now=NOW)
        await session.commit()
    async with session_pool() as session:
        survey = await session.get(Survey, survey.id)
        assert survey is not None
        after = await surveys.results(session, survey)
        # The answers stay in the sums; only the participation (the link) went.
        assert [(o.label, o.points) for o in after.questions[0].options] == [
            (o.label, o.points) for o in before.questions[0].options
        ]
        assert await session.scalar(select(func.count()).select_from(SurveyAnswer)) == 6
        assert await session.scalar(select(func.count()).where(SurveyAnswer.ballot == ballot)) == 0
        assert not await surveys.has_answered(session, survey.id, 1)
        assert survey.author_id is None  # member 1 was the author
        assert await surveys.participant_count(session, survey.id) == 2


async def test_withdrawing_consent_unlinks_too(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        await _kv(session, 3)
        survey = await _start(session, DraftQuestion(QuestionKind.SCALE, "Wie?"))
        for member_id in (1, 2, 3):
            await surveys.submit(
                session,
                survey.id,
                member_id,
                {survey.questions[0].id: member_id},
                now=NOW,
                change=False,
            )
        await session.commit()
        member = await session.get(Member, 2)
        assert member is not None
        await profile.withdraw_consent(session, member, now=NOW)
        await session.commit()
        assert not await surveys.has_answered(session, survey.id, 2)
        assert await surveys.my_answers(session, survey, 1) == {survey.questions[0].id: 1}
        values = sorted(await session.scalars(select(SurveyAnswer.value)))
        assert values == [1, 2, 3]
        linked = await session.scalar(select(func.count()).where(SurveyAnswer.ballot.is_(None)))
        assert linked == 1  # only the withdrawn member's answer lost its link


async def test_open_surveys_for(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        await _kv(session, 2)
        survey = await _start(session, DraftQuestion(QuestionKind.SCALE, "Wie?"))
        await surveys.submit(
            session, survey.id, 1, {survey.questions[0].id: 3}, now=NOW, change=False
        )
        assert await surveys.open_surveys_for(session, 1, NOW) == []  # answered
        assert [s.id for s in await surveys.open_surveys_for(session, 2, NOW)] == [survey.id]
        assert await surveys.open_surveys_for(session, 99, NOW) == []  # not in the audience
        assert await surveys.open_surveys_for(session, 2, END) == []  # over


async def test_start_refuses_and_snapshots_topics(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        await _kv(session, 1)
        late = SurveyDraft("x", questions=(RANKING,), ends_at=NOW)
        with pytest.raises(SurveyError, match="past"):
            await surveys.start(session, late, author_id=1, now=NOW, key="a")
        with pytest.raises(SurveyInputError, match="no_questions"):
            await surveys.start(
                session, SurveyDraft("x", ends_at=END), author_id=1, now=NOW, key="b"
            )
        survey = await _start(session, RANKING)
        with pytest.raises(surveys.AlreadyStartedError):
            await surveys.start(
                session,
                SurveyDraft("x", questions=(RANKING,), ends_at=END),
                author_id=1,
                now=NOW,
                key="k",
            )
        # Renaming a topic later changes no option.
        topic = await session.scalar(select(Topic).where(Topic.name == "Umwelt"))
        assert topic is not None
        topic.name = "Klima"
        await session.flush()
        await session.refresh(survey.questions[0])
        assert [o.label for o in survey.questions[0].options] == list(TOPICS)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("eine", "few_options"),
        ("\n".join(f"o{i}" for i in range(11)), "many_options"),
        ("a\n" + "b" * 61, "option_long"),
        ("Ja\nja", "duplicate_option"),
    ],
)
def test_options_are_bounded(text: str, reason: str) -> None:
    with pytest.raises(SurveyInputError) as refused:
        parse_options(text)
    assert refused.value.reason == reason


def test_title_and_intro() -> None:
    assert parse_title("  Programm 2027 \nWas ist\n dir wichtig?") == (
        "Programm 2027",
        "Was ist\n dir wichtig?",
    )
    assert parse_options(" Abends \n\nWochenende") == ("Abends", "Wochenende")
    with pytest.raises(SurveyInputError, match="title_long"):
        parse_title("x" * 121)


async def _outbox(session: AsyncSession, kind: str) -> dict[str, int]:
    rows = await session.execute(
        select(Delivery.dedupe_key, Delivery.recipient_id).where(Delivery.kind == kind)
    )
    return {str(key): int(recipient) for key, recipient in rows}


async def test_invitations_are_queued_in_batches_once_each(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        ids = await _kv(session, 7)
        # One blocked the bot, one opted out of announcements: neither is invited nor counted.
        (await session.get(Member, 3)).reachable = False  # type: ignore[union-attr]
        await set_opted_out(session, 5, Category.ANNOUNCEMENTS, opted_out=True)
        district = await session.scalar(select(District.id).where(District.key == "mitte"))
        draft = SurveyDraft(
            "Programm",
            questions=(DraftQuestion(QuestionKind.SCALE, "Wie?"),),
            audience=Audience(districts=frozenset({district})),
            ends_at=END,
        )
        survey, invited = await surveys.start(
            session, draft, author_id=1, now=NOW, key="k", batch=2
        )
        await session.commit()
        expected = [member for member in ids if member not in (3, 5)]
        assert invited == survey.invited == len(expected)
        # Only the first batch went in with the organiser's "Start".
        assert await _outbox(session, surveys.SURVEY_INVITE) == {
            f"survey:{survey.id}:1": 1,
            f"survey:{survey.id}:2": 2,
        }
        assert await surveys.inviting(session) == [survey.id]
        batches = 0
        while await surveys.invite_batch(session, survey.id, now=NOW, batch=2):
            await session.commit()
            batches += 1
        await session.commit()
        # 8 members with profiles (7 in Mitte, one in Nord) after the first 2: 3 more batches.
        assert batches == 3
        assert await surveys.inviting(session) == []
        queued = await _outbox(session, surveys.SURVEY_INVITE)
        assert queued == {f"survey:{survey.id}:{member}": member for member in expected}
        # Done: a rerun (a restart, a second instance) adds nothing.
        assert not await surveys.invite_batch(session, survey.id, now=NOW, batch=2)
        assert await _outbox(session, surveys.SURVEY_INVITE) == queued


async def test_a_batch_taken_elsewhere_or_a_closed_survey_invites_no_one(
    session_pool: SessionPool,
) -> None:
    async with session_pool() as session:
        await _kv(session, 6)
        survey = await _start(session, DraftQuestion(QuestionKind.SCALE, "Wie?"))
        await session.commit()
        queued = await _outbox(session, surveys.SURVEY_INVITE)
        assert len(queued) == 6
        # Started with the default batch: all six are in, nothing is left to walk.
        assert survey.invited_through is None
        # Another instance moved the cursor after this one read it: no rows from this one.
        survey.invited_through = 2
        await session.commit()
        stale = await surveys.member_batches.claim(
            session, Survey.invited_through, Survey.id == survey.id, after=0, size=2
        )
        assert stale is None
        # A survey that closed while its invitations were being queued invites no one more.
        await session.execute(sa.delete(Delivery).where(Delivery.kind == surveys.SURVEY_INVITE))
        survey.status = SurveyStatus.CLOSED
        await session.commit()
        assert not await surveys.invite_batch(session, survey.id, now=NOW)
        await session.commit()
        assert await _outbox(session, surveys.SURVEY_INVITE) == {}
        assert await surveys.inviting(session) == []


async def test_results_go_to_participants_and_organisers_once(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        await _kv(session, 4)
        survey = await _start(session, DraftQuestion(QuestionKind.SCALE, "Wie?"))
        for member in (1, 2, 3):
            await surveys.submit(
                session, survey.id, member, {survey.questions[0].id: 4}, now=NOW, change=False
            )
        await session.commit()
        # Member 1 is the author and took part; 99 is an admin who did not.
        assert await surveys.close_due(session, now=END, admin_ids=[99]) == [survey.id]
        await session.commit()
        rows = await session.execute(
            select(Delivery.recipient_id, Delivery.payload).where(
                Delivery.kind == surveys.SURVEY_RESULTS
            )
        )
        versions = {int(recipient): payload["organiser"] for recipient, payload in rows}
        assert versions == {1: True, 99: True, 2: False, 3: False}
