"""The KV setup file's field actions and Gedenktage: campaigns, actions with shifts, memorials,
Stadtteil neighbours and activity types' action kind; read, applied, read back, exported and
imported again without a change; every new error with its line; the CLI's dry run and horizon.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import main
from bot.db.engine import create_engine
from bot.db.session import SessionPool, create_session_pool
from bot.services import field_actions
from bot.services.field_actions import PlannedShift
from bot.services.kv_setup import (
    ChangeSummary,
    KvSetup,
    SectionChanges,
    SetupInvalidError,
    apply_setup,
    dump_setup,
    export_setup,
    load_setup,
    load_setup_bytes,
    read_setup,
)
from bot.services.kv_setup.schema import ActionSetup, Entry, Host, MemorialEvent, ShiftSetup
from models import (
    ActionDate,
    ActionKind,
    ActivityType,
    Campaign,
    District,
    FieldAction,
    Member,
    Memorial,
)
from models.kv import district_neighbours

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kv-musterstadt.yaml"
TOKEN = "123456789:AAH-fake-token-for-tests-0123456789ab"
ZONE = ZoneInfo("Europe/Berlin")
NOW = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


def _file(*lines: str) -> str:
    """A setup file from its lines, so a case's line numbers can be read off its position."""
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def example() -> KvSetup:
    """The example file, loaded once."""
    return load_setup_bytes(EXAMPLE.read_bytes())


async def _import(pool: SessionPool, text: str, *, keep: bool = True) -> ChangeSummary:
    """What `mitmachbot import` does (without the horizons): validate, apply, commit."""
    async with pool() as session:
        summary = await apply_setup(session, load_setup(text), source=text if keep else None)
        await session.commit()
    return summary


async def _export(pool: SessionPool) -> str:
    async with pool() as session:
        return await export_setup(session)


async def _stored(pool: SessionPool) -> KvSetup:
    async with pool() as session:
        return await read_setup(session)


async def _neighbour_pairs(session: AsyncSession) -> set[tuple[str, str]]:
    keys = {row.id: row.key for row in (await session.scalars(select(District))).all()}
    rows = await session.execute(select(district_neighbours))
    return {(keys[left], keys[right]) for left, right in rows}


async def _action(pool: SessionPool, key: str) -> FieldAction:
    async with pool() as session:
        action = await session.scalar(select(FieldAction).where(FieldAction.key == key))
    assert action is not None
    return action


# --- the example -----------------------------------------------------------------------------


async def test_example_stores_actions_memorials_and_neighbours(
    session_pool: SessionPool, example: KvSetup
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    summary = await _import(session_pool, text)
    assert (summary.campaigns, summary.actions, summary.memorials) == (
        SectionChanges(added=1),
        SectionChanges(added=2),
        SectionChanges(added=4),
    )
    async with session_pool() as session:
        # Listed once in the file (Nord-Ost names Mitte), stored both ways.
        pairs = await _neighbour_pairs(session)
        kinds = {
            row.key: row.action_kind for row in (await session.scalars(select(ActivityType))).all()
        }
        campaign = await session.scalar(select(Campaign))
        memorials = (await session.scalars(select(Memorial).order_by(Memorial.position))).all()
    assert pairs == {
        ("mitte", "nord"),
        ("nord", "mitte"),
        ("nord", "am-hafen"),
        ("am-hafen", "nord"),
        ("suedstadt", "mitte"),
        ("mitte", "suedstadt"),
        ("suedstadt", "westend"),
        ("westend", "suedstadt"),
        ("westend", "mitte"),
        ("mitte", "westend"),
    }
    assert kinds["infostaende"] == "infostand"
    assert kinds["haustuergespraeche"] == "door_to_door"
    assert kinds["plakatieren"] is None
    assert campaign is not None
    assert (campaign.key, campaign.starts_on, campaign.ends_on) == (
        "heisse-getraenke",
        date(2026, 12, 1),
        date(2027, 2, 28),
    )

    stand = await _action(session_pool, "infostand-markt")
    assert (stand.kind, stand.rule, stand.on_day, stand.active) == (
        ActionKind.INFOSTAND,
        "jeden Samstag",
        None,
        True,
    )
    assert stand.rrule is not None
    assert "FREQ=WEEKLY;BYDAY=SA" in stand.rrule
    assert stand.campaign is not None
    assert stand.campaign.key == "heisse-getraenke"
    assert stand.district is not None
    assert stand.district.key == "mitte"
    assert stand.shift_plan == [
        PlannedShift(time(9, 30), time(10), 2, "Aufbau").as_json(),
        PlannedShift(time(10), time(12), 3).as_json(),
        PlannedShift(time(12), time(14), 3).as_json(),
        PlannedShift(time(14), time(14, 30), 2, "Abbau").as_json(),
    ]
    assert stand.material is not None
    assert "Thermoskannen" in stand.material
    round_ = await _action(session_pool, "haustuer-lindenweg")
    assert (round_.kind, round_.on_day, round_.rule, round_.rrule) == (
        ActionKind.DOOR_TO_DOOR,
        date(2027, 1, 16),
        None,
        None,
    )

    assert [(m.rule, m.rrule.splitlines()[-1], m.event_time) for m in memorials] == [
        (
            "27.01.",
            "RRULE:FREQ=YEARLY;BYMONTH=1;BYMONTHDAY=27;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
            time(18),
        ),
        (
            "08.05.",
            "RRULE:FREQ=YEARLY;BYMONTH=5;BYMONTHDAY=8;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
            time(17),
        ),
        (
            "2. Sonntag im September",
            "RRULE:FREQ=YEARLY;BYMONTH=9;BYDAY=2SU;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
            None,
        ),
        (
            "10.11.",
            "RRULE:FREQ=YEARLY;BYMONTH=11;BYMONTHDAY=10;BYHOUR=0;BYMINUTE=0;BYSECOND=0",
            time(18, 30),
        ),
    ]
    assert all(m.about and m.active for m in memorials)
    assert memorials[0].event_place == "Mahnmal am Rathausplatz"
    assert memorials[2].event_place is None

    # Read back, it is the file; exported, it is the file itself, comments and all.
    assert await _stored(session_pool) == example
    assert await _export(session_pool) == text


async def test_plain_export_round_trips_every_new_section(
    session_pool: SessionPool, example: KvSetup
) -> None:
    await _import(session_pool, EXAMPLE.read_text(encoding="utf-8"), keep=False)
    exported = await _export(session_pool)
    assert exported == dump_setup(example)
    assert load_setup(exported) == example
    # Neighbours are written under both districts, dates the German way, times quoted.
    assert "  - {key: mitte, name: Mitte, neighbours: [nord, suedstadt, westend]}\n" in exported
    assert "  - {key: infostaende, name: Infostände, action: infostand}\n" in exported
    assert "    from: 01.12.2026\n    until: 28.02.2027\n" in exported
    assert "      - {label: Aufbau, time: '09:30-10:00', people: 2}\n" in exported
    assert "    kind: door_to_door\n" in exported
    assert "    date: 16.01.2027\n" in exported
    assert "    rule: 2. Sonntag im September\n" in exported
    assert "    event:\n      time: '18:00'\n      place: Mahnmal am Rathausplatz\n" in exported
    summary = await _import(session_pool, exported, keep=False)
    assert not summary.changed
    assert await _export(session_pool) == exported


# --- neighbours ------------------------------------------------------------------------------


async def test_neighbours_are_symmetric(session_pool: SessionPool) -> None:
    one_way = _file(
        "name: KV",
        "districts:",
        "  - {key: a, name: A, neighbours: [b, c]}",
        "  - {key: b, name: B}",
        "  - {key: c, name: C, neighbours: [a]}",
    )
    setup = load_setup(one_way)
    assert [(entry.key, entry.neighbours) for entry in setup.districts] == [
        ("a", ("b", "c")),
        ("b", ("a",)),
        ("c", ("a",)),
    ]
    # Both ways written out is the same setup.
    both_ways = _file(
        "name: KV",
        "districts:",
        "  - {key: a, name: A, neighbours: [c, b]}",
        "  - {key: b, name: B, neighbours: [a]}",
        "  - {key: c, name: C, neighbours: [a]}",
    )
    assert load_setup(both_ways) == setup
    await _import(session_pool, one_way)
    async with session_pool() as session:
        assert await _neighbour_pairs(session) == {
            ("a", "b"),
            ("b", "a"),
            ("a", "c"),
            ("c", "a"),
        }
    assert not (await _import(session_pool, both_ways)).changed

    # B leaves A's list: both lose each other; only those two count as updated.
    fewer = one_way.replace("neighbours: [b, c]", "neighbours: [c]")
    summary = await _import(session_pool, fewer)
    assert summary.districts == SectionChanges(updated=2)
    async with session_pool() as session:
        assert await _neighbour_pairs(session) == {("a", "c"), ("c", "a")}
    # Deleting C takes its links along.
    summary = await _import(session_pool, _file("name: KV", "districts: [{key: a, name: A}, B]"))
    assert summary.districts == SectionChanges(updated=1, removed=1)
    async with session_pool() as session:
        assert await _neighbour_pairs(session) == set()


# --- changes ---------------------------------------------------------------------------------

SMALL = _file(
    "name: KV",
    "districts: [Mitte]",
    "campaigns:",
    "  - {key: winter, name: Winter, from: 2026-12-01, until: 28.02.2027}",
    "actions:",
    "  - kind: Infostand",
    "    title: Stand Mitte",
    "    campaign: winter",
    "    district: mitte",
    "    place: Markt",
    "    repeats: jeden Samstag",
    "    shifts:",
    "      - {time: 10:00-12:00, people: 2}",
    "memorials:",
    "  - {name: Tag der Befreiung, rule: 8.5.}",
)


async def test_dropped_actions_and_memorials_are_deactivated_and_come_back(
    session_pool: SessionPool,
) -> None:
    await _import(session_pool, SMALL)
    without = _file("name: KV", "districts: [Mitte]")
    summary = await _import(session_pool, without)
    assert summary == ChangeSummary(
        campaigns=SectionChanges(removed=1),
        actions=SectionChanges(removed=1),
        memorials=SectionChanges(removed=1),
    )
    assert summary.lines()[5:8] == [
        "campaigns        0 added, 0 updated, 1 removed",
        "actions          0 added, 0 updated, 1 deactivated",
        "memorials        0 added, 0 updated, 1 deactivated",
    ]
    # The action was in the file imported before: deliberate, no warning.
    assert summary.warnings() == []
    action = await _action(session_pool, "stand-mitte")
    # Kept, inactive, without the deleted campaign; its district stays.
    assert (action.active, action.campaign, action.district is not None) == (False, None, True)
    async with session_pool() as session:
        memorial = await session.scalar(select(Memorial))
        assert memorial is not None
        assert not memorial.active
        assert await session.scalar(select(func.count()).select_from(Campaign)) == 0
    stored = await _stored(session_pool)
    assert (stored.campaigns, stored.actions, stored.memorials) == ((), (), ())

    summary = await _import(session_pool, SMALL)
    assert summary == ChangeSummary(
        campaigns=SectionChanges(added=1),
        actions=SectionChanges(added=1),
        memorials=SectionChanges(added=1),
    )
    action = await _action(session_pool, "stand-mitte")
    assert action.active
    assert action.campaign is not None
    assert not (await _import(session_pool, SMALL)).changed


async def test_changes_to_actions_and_memorials_are_counted(session_pool: SessionPool) -> None:
    await _import(session_pool, SMALL)
    changed = (
        SMALL.replace("people: 2}", "people: 3}")
        .replace("rule: 8.5.}", "rule: 8.5., event: {time: '17:00', place: Stadtpark}}")
        .replace("until: 28.02.2027", "until: 31.03.2027")
    )
    summary = await _import(session_pool, changed)
    assert summary == ChangeSummary(
        campaigns=SectionChanges(updated=1),
        actions=SectionChanges(updated=1),
        memorials=SectionChanges(updated=1),
    )
    action = await _action(session_pool, "stand-mitte")
    assert action.shift_plan == [PlannedShift(time(10), time(12), 3).as_json()]
    async with session_pool() as session:
        memorial = await session.scalar(select(Memorial))
    assert memorial is not None
    assert (memorial.event_time, memorial.event_place) == (time(17), "Stadtpark")
    # The kept file is brought in line, written the file's way where it was not touched.
    exported = await _export(session_pool)
    assert exported == changed


async def test_export_into_the_kept_file_follows_changes_made_without_it(
    session_pool: SessionPool, example: KvSetup
) -> None:
    text = EXAMPLE.read_text(encoding="utf-8")
    await _import(session_pool, text)
    stand, round_ = example.actions
    changed = dataclasses.replace(
        example,
        activity_types=(
            dataclasses.replace(example.activity_types[0], action=None),
            *example.activity_types[1:],
        ),
        actions=(
            dataclasses.replace(
                stand,
                shifts=(*stand.shifts[1:3], ShiftSetup(time(14), time(15), 1, "Abbau")),
                starts_on=date(2026, 12, 5),
                material=None,
            ),
            dataclasses.replace(round_, on_day=date(2027, 1, 23)),
            ActionSetup(
                key="neu",
                kind=ActionKind.INFOSTAND,
                title="Neu",
                place="Bahnhof",
                shifts=(ShiftSetup(time(8), time(9), 2),),
                on_day=date(2027, 2, 1),
            ),
        ),
        memorials=(
            dataclasses.replace(
                example.memorials[0],
                event=MemorialEvent(time(19), "Rathausplatz", note=None),
            ),
            *example.memorials[1:3],
        ),
    )
    async with session_pool() as session:
        await apply_setup(session, changed)
        await session.commit()
    exported = await _export(session_pool)
    # The header comment stays; what changed is written in the export's form.
    assert exported.startswith(text[: text.index("name: Kreisverband")])
    assert load_setup(exported) == await _stored(session_pool) == changed
    assert "  - {name: Infostände}\n" in exported
    assert "    from: 05.12.2026\n" in exported
    assert "      - {label: Abbau, time: 14:00-15:00, people: 1}\n" in exported
    assert "    date: 23.01.2027\n" in exported
    assert "novemberpogrome" not in exported
    assert not (await _import(session_pool, exported)).changed
    assert await _export(session_pool) == exported


# --- contacts and chat-planned actions -------------------------------------------------------


def _with_contact(contact: str) -> str:
    return SMALL.replace("    place: Markt\n", f"    place: Markt\n    contact: {contact}\n")


async def test_contact_is_a_member_the_bot_knows(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        session.add(Member(id=4242, first_name="Anna", username="anna_k"))
        session.add(Member(id=99, first_name="Ben"))
        await session.commit()
    await _import(session_pool, _with_contact('"@Anna_K"'))
    assert (await _action(session_pool, "stand-mitte")).contact_id == 4242
    assert (await _stored(session_pool)).actions[0].contact == Host(username="anna_k")
    summary = await _import(session_pool, _with_contact("99"))
    assert summary.actions == SectionChanges(updated=1)
    assert (await _action(session_pool, "stand-mitte")).contact_id == 99
    assert "    contact: 99\n" in await _export(session_pool)

    before = await _export(session_pool)
    text = _with_contact('"@nobody_here"')
    with pytest.raises(SetupInvalidError) as caught:
        await _import(session_pool, text)
    [error] = caught.value.errors
    assert error.line == 11
    assert error.message.startswith(
        "actions[0].contact: the bot doesn't know @nobody_here; a contact must have written to "
        "the bot first"
    )
    assert await _export(session_pool) == before


async def test_import_warns_before_dropping_an_action_planned_in_the_chat(
    session_pool: SessionPool,
) -> None:
    await _import(session_pool, SMALL)
    async with session_pool() as session:
        planned = await field_actions.create(
            session,
            kind=ActionKind.DOOR_TO_DOOR,
            title="Haustür-Runde Süd",
            place="Südring",
            shifts=(PlannedShift(time(10), time(12), 2),),
            on_day=date(2026, 12, 12),
            now=NOW,
            zone=ZONE,
        )
        await session.commit()
    assert planned.key == "haustuer-runde-sued"
    summary = await _import(session_pool, SMALL)
    assert summary.actions == SectionChanges(removed=1)
    assert summary.planned_in_bot_dropped == ("Haustür-Runde Süd",)
    [warning] = summary.warnings()
    assert "Haustür-Runde Süd" in warning
    assert "mitmachbot export" in warning
    assert not (await _action(session_pool, "haustuer-runde-sued")).active

    # Exported with the chat's action in it, the file keeps it and nobody is warned.
    async with session_pool() as session:
        action = await session.scalar(
            select(FieldAction).where(FieldAction.key == "haustuer-runde-sued")
        )
        assert action is not None
        action.active = True
        await session.commit()
    exported = await _export(session_pool)
    assert "  - key: haustuer-runde-sued\n    kind: door_to_door\n" in exported
    summary = await _import(session_pool, exported)
    assert not summary.changed
    assert summary.warnings() == []


# --- validation ------------------------------------------------------------------------------

HEAD = (
    "name: KV",
    "districts: [Mitte, Nord]",
    "campaigns: [{key: winter, name: Winter, from: 01.12.2026, until: 28.02.2027}]",
    "actions:",
    "  - kind: infostand",
    "    title: Stand",
    "    place: Markt",
)  # an action's further keys go on line 8 on
SHIFT = ("    shifts: [{time: '10:00-12:00', people: 2}]",)

BROKEN = [
    pytest.param(
        _file("name: KV", "districts:", "  - {key: a, name: A, neighbours: [a]}"),
        3,
        "districts[0].neighbours[0]: a district can't be its own neighbour",
        id="own-neighbour",
    ),
    pytest.param(
        _file("name: KV", "districts:", "  - {key: a, name: A, neighbours: [b]}"),
        3,
        "districts[0].neighbours[0]: unknown district 'b' (known: a)",
        id="unknown-neighbour",
    ),
    pytest.param(
        _file("name: KV", "districts:", "  - {key: a, name: A, neighbours: [b, b]}", "  - B"),
        3,
        "districts[0].neighbours[1]: neighbour 'b' is listed twice",
        id="neighbour-twice",
    ),
    pytest.param(
        _file("name: KV", "topics:", "  - {key: a, name: A, neighbours: []}"),
        3,
        "topics[0]: unknown key 'neighbours' (allowed: key, name)",
        id="neighbours-on-topic",
    ),
    pytest.param(
        _file("name: KV", "activity_types:", "  - {name: Stände, action: plakat}"),
        3,
        "activity_types[0].action: unknown kind of action 'plakat' (infostand, door_to_door)",
        id="activity-action",
    ),
    pytest.param(
        _file("name: KV", "campaigns:", "  - {name: W, from: 01.03.2027, until: 28.02.2027}"),
        3,
        "campaigns[0].until: until (28.02.2027) is before from (01.03.2027)",
        id="campaign-period",
    ),
    pytest.param(
        _file("name: KV", "campaigns:", "  - {name: W, from: 31.02.2027}"),
        3,
        "campaigns[0].from: expected a date like 12.12.2026 or 2026-12-12, got '31.02.2027'",
        id="campaign-date",
    ),
    pytest.param(
        _file("name: KV", "campaigns:", "  - {name: W}", "  - {key: w, name: V}"),
        4,
        "campaigns[1]: duplicate campaign key 'w' (first on line 3)",
        id="campaign-duplicate",
    ),
    pytest.param(
        _file(*HEAD[:4], "  - title: Stand", "    place: Markt", "    date: 12.12.2026", *SHIFT),
        5,
        "actions[0]: missing required key 'kind'",
        id="action-kind-missing",
    ),
    pytest.param(
        _file(*HEAD, "    date: 12.12.2026", *SHIFT).replace("kind: infostand", "kind: plakat"),
        5,
        "actions[0].kind: unknown kind of action 'plakat' (infostand, door_to_door)",
        id="action-kind",
    ),
    pytest.param(
        _file(*HEAD, "    campaign: sommer", "    date: 12.12.2026", *SHIFT),
        8,
        "actions[0].campaign: unknown campaign 'sommer' (known: winter)",
        id="action-campaign",
    ),
    pytest.param(
        _file(*HEAD, "    district: sued", "    date: 12.12.2026", *SHIFT),
        8,
        "actions[0].district: unknown district 'sued' (known: mitte, nord)",
        id="action-district",
    ),
    pytest.param(
        _file(*HEAD[:6], "    date: 12.12.2026", *SHIFT),
        5,
        "actions[0]: missing required key 'place'",
        id="action-place",
    ),
    pytest.param(
        _file(*HEAD, *SHIFT),
        5,
        "actions[0]: missing 'date' (one day) or 'repeats' (a rule like 'jeden Samstag')",
        id="action-no-when",
    ),
    pytest.param(
        _file(*HEAD, "    date: 12.12.2026", "    repeats: jeden Samstag", *SHIFT),
        9,
        "actions[0].repeats: give either date (one day) or repeats (a rule), not both",
        id="action-both-whens",
    ),
    pytest.param(
        _file(*HEAD, "    date: 12.12.2026", "    until: 20.12.2026", *SHIFT),
        9,
        "actions[0].until: from and until are for an action that repeats",
        id="action-day-with-period",
    ),
    pytest.param(
        _file(*HEAD, "    campaign: winter", "    date: 2027-03-06", *SHIFT),
        9,
        "actions[0].date: 06.03.2027 is outside the period of campaign 'winter'",
        id="action-day-outside-campaign",
    ),
    pytest.param(
        _file(*HEAD, "    repeats: jeden Samstag 10 Uhr", *SHIFT),
        8,
        "actions[0].repeats: the rule gives the days only, without a time: the shifts give "
        "the times",
        id="action-rule-time",
    ),
    pytest.param(
        _file(*HEAD, "    repeats: jeden Blurstag", *SHIFT),
        8,
        "actions[0].repeats: cannot read rule 'jeden Blurstag'",
        id="action-rule",
    ),
    pytest.param(
        _file(
            *HEAD,
            "    repeats: jeden Samstag",
            "    from: 20.12.2026",
            "    until: 05.12.2026",
            *SHIFT,
        ),
        10,
        "actions[0].until: until (05.12.2026) is before from (20.12.2026)",
        id="action-period",
    ),
    pytest.param(
        _file(*HEAD, "    date: 12.12.2026"),
        5,
        "actions[0]: missing required key 'shifts'",
        id="shifts-missing",
    ),
    pytest.param(
        _file(*HEAD, "    date: 12.12.2026", "    shifts: []"),
        9,
        "actions[0].shifts: an action needs at least one shift and at most 8; this one has 0",
        id="shifts-empty",
    ),
    pytest.param(
        _file(
            *HEAD,
            "    date: 12.12.2026",
            "    shifts:",
            *[f"      - {{time: '{hour}:00-{hour}:30', people: 1}}" for hour in range(8, 17)],
        ),
        10,  # where the list starts
        "actions[0].shifts: an action needs at least one shift and at most 8; this one has 9",
        id="shifts-too-many",
    ),
    pytest.param(
        _file(
            *HEAD,
            "    date: 12.12.2026",
            "    shifts:",
            "      - {time: '10:00-12:00', people: 2}",
            "      - {time: '11:30-13:00', people: 2}",
        ),
        11,
        "actions[0].shifts: this shift overlaps the one from 10:00 to 12:00",
        id="shifts-overlap",
    ),
    pytest.param(
        _file(
            *HEAD, "    date: 12.12.2026", "    shifts:", "      - {time: '12:00-10:00', people: 2}"
        ),
        10,
        "actions[0].shifts[0].time: the shift must end after it starts, on the same day",
        id="shift-backwards",
    ),
    pytest.param(
        _file(*HEAD, "    date: 12.12.2026", "    shifts:", "      - {time: 'ab 10', people: 2}"),
        10,
        "actions[0].shifts[0].time: expected a time span like \"9:30-10:00\", got 'ab 10'",
        id="shift-time",
    ),
    pytest.param(
        _file(
            *HEAD, "    date: 12.12.2026", "    shifts:", "      - {time: '10:00-12:00', people: 0}"
        ),
        10,
        "actions[0].shifts[0].people: expected a number of people from 1 to 50, got the number 0",
        id="shift-people",
    ),
    pytest.param(
        _file(*HEAD, "    date: 12.12.2026", "    shifts:", "      - {time: '10:00-12:00'}"),
        10,
        "actions[0].shifts[0]: missing required key 'people'",
        id="shift-people-missing",
    ),
    pytest.param(
        _file(
            *HEAD,
            "    date: 12.12.2026",
            "    shifts:",
            "      - {time: '10:00-12:00', people: 2, helpers: 3}",
        ),
        10,
        "actions[0].shifts[0]: unknown key 'helpers' (allowed: label, time, people)",
        id="shift-unknown-key",
    ),
    pytest.param(
        _file(*HEAD, "    date: 12.12.2026", *SHIFT, "    contact: '@x'"),
        10,
        "actions[0].contact: a host is a numeric Telegram id or an @username",
        id="action-contact",
    ),
    pytest.param(
        _file(
            *HEAD,
            "    date: 12.12.2026",
            *SHIFT,
            "  - {kind: infostand, title: Stand, place: X, date: 13.12.2026, "
            "shifts: [{time: '10:00-11:00', people: 1}]}",
        ),
        10,
        "actions[1]: duplicate action key 'stand' (first on line 5)",
        id="action-duplicate",
    ),
    pytest.param(
        _file("name: KV", "memorials:", "  - {name: Gedenktag, rule: jeden Sonntag}"),
        3,
        "memorials[0].rule: a Gedenktag recurs yearly",
        id="memorial-not-yearly",
    ),
    pytest.param(
        _file("name: KV", "memorials:", "  - {name: Gedenktag, rule: 27.01. 18 Uhr}"),
        3,
        "memorials[0].rule: the rule gives the day only; the time of the KV's event goes under "
        "event: time",
        id="memorial-rule-time",
    ),
    pytest.param(
        _file("name: KV", "memorials:", "  - {name: Gedenktag}"),
        3,
        "memorials[0]: missing required key 'rule'",
        id="memorial-rule-missing",
    ),
    pytest.param(
        _file(
            "name: KV",
            "memorials:",
            "  - name: Gedenktag",
            "    rule: '27.01.'",
            "    about: " + "x" * 1001,
        ),
        5,
        "memorials[0].about: too long (1001 characters, at most 1000)",
        id="memorial-about",
    ),
    pytest.param(
        _file(
            "name: KV",
            "memorials:",
            "  - name: Gedenktag",
            "    rule: '27.01.'",
            "    event:",
            "      time: abends",
            "      place: Rathaus",
        ),
        6,
        "memorials[0].event.time: expected a time like 18:00, got 'abends'",
        id="memorial-event-time",
    ),
    pytest.param(
        _file(
            "name: KV",
            "memorials:",
            "  - name: Gedenktag",
            "    rule: '27.01.'",
            "    event: {time: '18:00'}",
        ),
        5,
        "memorials[0].event: missing required key 'place'",
        id="memorial-event-place",
    ),
    pytest.param(
        _file(
            "name: KV",
            "memorials:",
            "  - {name: Gedenktag, rule: '27.01.'}",
            "  - {name: Gedenktag, rule: '08.05.'}",
        ),
        4,
        "memorials[1]: duplicate memorial key 'gedenktag' (first on line 3)",
        id="memorial-duplicate",
    ),
]


@pytest.mark.parametrize(("text", "line", "fragment"), BROKEN)
def test_each_mistake_is_reported_on_its_line(text: str, line: int, fragment: str) -> None:
    with pytest.raises(SetupInvalidError) as caught:
        load_setup(text)
    errors = caught.value.errors
    assert len(errors) == 1, errors
    assert (errors[0].line, fragment in errors[0].message) == (line, True), errors[0]


async def test_a_broken_file_stores_nothing(session_pool: SessionPool) -> None:
    await _import(session_pool, SMALL)
    before = await _export(session_pool)
    broken = SMALL.replace("people: 2}", "people: 2}\n      - {time: 11:00-13:00, people: 2}")
    with pytest.raises(SetupInvalidError) as caught:
        await _import(session_pool, broken)
    assert [error.line for error in caught.value.errors] == [14]
    assert await _export(session_pool) == before


def test_accepted_spellings() -> None:
    setup = load_setup(
        _file(
            "name: KV",
            "activity_types: [{name: Runden, action: Haustür-Runde}]",
            "actions:",
            "  - kind: haustuer",
            "    title: Runde",
            "    place: Südring",
            "    date: 2026-12-12",
            "    shifts: [{time: 9.30 – 11.00, people: 2}]",
            "  - kind: Infostand",
            "    title: Stand",
            "    place: '  Markt  '",
            "    repeats: '  jeden   Samstag '",
            "    from: 5.12.2026",
            "    shifts:",
            "      - {time: '14:00-15:00', people: 1, label: Abbau}",
            "      - {time: '10:00-14:00', people: 3}",
            "memorials:",
            "  - {name: Tag, rule: ' 2.  Sonntag im September', event: {time: 18:00, place: X}}",
        )
    )
    assert setup.activity_types[0].action is ActionKind.DOOR_TO_DOOR
    runde, stand = setup.actions
    assert (runde.kind, runde.on_day) == (ActionKind.DOOR_TO_DOOR, date(2026, 12, 12))
    assert runde.shifts == (ShiftSetup(time(9, 30), time(11), 2),)
    assert (stand.kind, stand.place, stand.repeats, stand.starts_on) == (
        ActionKind.INFOSTAND,
        "Markt",
        "jeden Samstag",
        date(2026, 12, 5),
    )
    # Sorted by start, as the plan is stored.
    assert [shift.start for shift in stand.shifts] == [time(10), time(14)]
    # 18:00 unquoted is a number to YAML 1.1; its text is what counts.
    assert setup.memorials[0].rule == "2. Sonntag im September"
    assert setup.memorials[0].event == MemorialEvent(time(18), "X")
    assert setup.districts == ()
    assert Entry("a", "A") == Entry("a", "A", neighbours=(), action=None)


# --- the command -----------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[str]:
    """Settings for `main` from the environment only, pointing at the test database."""
    for name in ("TELEGRAM_API_URL", "ADMIN_IDS", "KV_NAME", "WEBHOOK_URL", "WEBHOOK_SECRET"):
        monkeypatch.delenv(name, raising=False)
    for name in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield database_url
    root.handlers[:] = handlers
    root.setLevel(level)


async def _count_dates(database_url: str) -> dict[str, int]:
    engine = create_engine(database_url)
    try:
        async with create_session_pool(engine)() as session:
            rows = await session.execute(
                select(FieldAction.key, func.count(ActionDate.id))
                .join(ActionDate, ActionDate.action_id == FieldAction.id, isouter=True)
                .group_by(FieldAction.key)
            )
            return {str(key): int(count) for key, count in rows}
    finally:
        await engine.dispose()


def test_cli_import_makes_the_action_dates_and_dry_run_shows_the_changes(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import asyncio

    target = tmp_path / "kv.yaml"
    # Dates far ahead so that the horizon (8 weeks from today) has some whatever the clock.
    text = SMALL.replace("from: 2026-12-01, until: 28.02.2027", "from: 2026-12-01")
    target.write_text(text, encoding="utf-8")
    assert main(["import", "--dry-run", str(target)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "  campaigns        1 added, 0 updated, 0 removed" in out
    assert "  actions          1 added, 0 updated, 0 deactivated" in out
    assert "  memorials        1 added, 0 updated, 0 deactivated" in out
    assert asyncio.run(_count_dates(cli_env)) == {}

    assert main(["import", str(target)]) == 0
    capsys.readouterr()
    dates = asyncio.run(_count_dates(cli_env))
    # Every Saturday of the next eight weeks (the 8th may fall either side of the horizon).
    assert 7 <= dates["stand-mitte"] <= 9

    target.write_text(_file("name: KV", "districts: [Mitte]"), encoding="utf-8")
    assert main(["import", "--dry-run", str(target)]) == 0
    captured = capsys.readouterr()
    assert "  actions          0 added, 0 updated, 1 deactivated" in captured.out.splitlines()
    assert "  campaigns        0 added, 0 updated, 1 removed" in captured.out.splitlines()
    assert captured.err == ""
    assert asyncio.run(_count_dates(cli_env))["stand-mitte"] == dates["stand-mitte"]


def test_cli_reports_an_unknown_contact_like_a_file_error(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "kv.yaml"
    target.write_text(_with_contact('"@nobody_here"'), encoding="utf-8")
    assert main(["import", str(target)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines()[0].startswith(
        "line 11: actions[0].contact: the bot doesn't know @nobody_here"
    )
    assert captured.err.splitlines()[-1] == f"{target}: 1 error, nothing was imported"
    assert main(["export"]) == 1
