"""KV setup file: every error with its line, idempotent import, a stable export, and the CLI."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.cli import admin_locale, main
from bot.db.engine import create_engine
from bot.db.session import SessionPool, create_session_pool
from bot.services.kv_setup import (
    ChangeSummary,
    Entry,
    GroupSetup,
    Host,
    KvSetup,
    SectionChanges,
    SetupInvalidError,
    apply_setup,
    derive_key,
    dump_setup,
    export_setup,
    load_setup,
    load_setup_bytes,
    read_setup,
)
from bot.settings import Settings
from models import (
    ActivityType,
    District,
    Group,
    GroupHost,
    GroupProposal,
    GroupType,
    GuideSection,
    KvProfile,
    Member,
    ProposalStatus,
    ServedChat,
    Topic,
)

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "kv-musterstadt.yaml"
TOKEN = "123456789:AAH-fake-token-for-tests-0123456789ab"
LOCALE_VARIABLES = ("DEFAULT_LOCALE", "LC_ALL", "LC_MESSAGES", "LANG")


def _file(*lines: str) -> str:
    """A setup file from its lines, so a case's line numbers can be read off its position."""
    return "\n".join(lines) + "\n"


@pytest.fixture(scope="module")
def example() -> KvSetup:
    """The example file, loaded once."""
    return load_setup_bytes(EXAMPLE.read_bytes())


async def _apply(pool: SessionPool, setup: KvSetup) -> ChangeSummary:
    async with pool() as session:
        summary = await apply_setup(session, setup)
        await session.commit()
    return summary


async def _import_text(pool: SessionPool, text: str) -> ChangeSummary:
    """Validate everything first, then one transaction (the text not kept: plain exports)."""
    return await _apply(pool, load_setup(text))


async def _export(pool: SessionPool) -> str:
    async with pool() as session:
        return await export_setup(session)


async def _counts(session: AsyncSession) -> dict[str, int]:
    counts = {}
    for model in (
        KvProfile,
        District,
        Topic,
        ActivityType,
        Group,
        GroupHost,
        GuideSection,
        ServedChat,
    ):
        counts[model.__tablename__] = await session.scalar(select(func.count()).select_from(model))
    counts["active_groups"] = await session.scalar(
        select(func.count()).select_from(Group).where(Group.active.is_(True))
    )
    return counts


async def _db_counts(pool: SessionPool) -> dict[str, int]:
    async with pool() as session:
        return await _counts(session)


async def _group(pool: SessionPool, key: str) -> Group:
    async with pool() as session:
        group = await session.scalar(select(Group).where(Group.key == key))
    assert group is not None
    return group


def _without_district(setup: KvSetup, key: str) -> dict[str, object]:
    """The districts and actions of setup with district key gone: not a neighbour, not an
    action's district (what an organiser deleting it from the file would also have to do)."""
    return {
        "districts": tuple(
            dataclasses.replace(d, neighbours=tuple(n for n in d.neighbours if n != key))
            for d in setup.districts
            if d.key != key
        ),
        "actions": tuple(
            dataclasses.replace(a, district=None) if a.district == key else a for a in setup.actions
        ),
    }


def _host_rows(group: Group) -> list[tuple[int | None, str | None]]:
    return [(h.telegram_id, h.username) for h in sorted(group.hosts, key=lambda h: h.id)]


# --- import and export of the example ---------------------------------------------------------


async def test_example_imports_with_everything_in_place(
    session_pool: SessionPool, example: KvSetup
) -> None:
    summary = await _apply(session_pool, example)
    assert summary == ChangeSummary(
        profile=SectionChanges(added=1),
        districts=SectionChanges(added=5),
        topics=SectionChanges(added=8),
        activity_types=SectionChanges(added=7),
        groups=SectionChanges(added=6),
        campaigns=SectionChanges(added=1),
        actions=SectionChanges(added=2),
        memorials=SectionChanges(added=4),
        guide=SectionChanges(added=4),
        telegram_groups=SectionChanges(added=2),
    )
    assert summary.changed
    assert await _db_counts(session_pool) == {
        "kv_profile": 1,
        "districts": 5,
        "topics": 8,
        "activity_types": 7,
        "groups": 6,
        "group_hosts": 9,
        "guide_sections": 4,
        "served_chats": 2,
        "active_groups": 6,
    }
    async with session_pool() as session:
        profile = await session.get(KvProfile, 1)
        districts = (await session.scalars(select(District).order_by(District.position))).all()
        chat = await session.get(ServedChat, -1009876543210)
    assert profile is not None
    assert (profile.name, profile.privacy_contact) == (
        "Kreisverband Musterstadt",
        "datenschutz@kv-musterstadt.example.org",
    )
    assert [(d.key, d.name, d.position) for d in districts] == [
        ("mitte", "Mitte", 0),
        ("nord", "Nord-Ost", 1),
        ("suedstadt", "Südstadt", 2),
        ("westend", "Westend", 3),
        ("am-hafen", "Am Hafen", 4),
    ]
    stammtisch = await _group(session_pool, "stammtisch-mitte")
    assert stammtisch.type is GroupType.STAMMTISCH
    assert stammtisch.rule == "jeden 2. Donnerstag 19 Uhr"
    assert stammtisch.district is not None
    assert stammtisch.district.key == "mitte"
    assert sorted(t.key for t in stammtisch.topics) == ["daseinsvorsorge", "kommunalfinanzen"]
    assert _host_rows(stammtisch) == [(None, "anna_k"), (123456789, None)]
    assert (stammtisch.newcomer_friendly, stammtisch.open_to_non_members) == (True, True)
    assert stammtisch.description is not None
    assert stammtisch.description.endswith("einfach vorbeikommen.")
    hafen = await _group(session_pool, "stammtisch-am-hafen")
    assert (hafen.type, hafen.open_to_non_members, hafen.description) == (
        GroupType.STAMMTISCH,
        False,
        None,
    )
    biweekly = await _group(session_pool, "bg-sued")
    assert biweekly.rule == "alle zwei Wochen mittwochs 19:30 ab 07.01.2026"
    assert chat is not None
    assert chat.group is not None
    assert chat.group.key == "stammtisch-mitte"
    assert (chat.language, chat.welcome_enabled, chat.welcome_text) == ("de", True, None)


async def test_export_is_a_fixed_point(session_pool: SessionPool, example: KvSetup) -> None:
    await _apply(session_pool, example)
    exported = await _export(session_pool)
    assert load_setup(exported) == example
    assert dump_setup(example) == exported
    summary = await _import_text(session_pool, exported)
    assert not summary.changed
    assert await _export(session_pool) == exported


async def test_second_import_writes_nothing(session_pool: SessionPool, example: KvSetup) -> None:
    await _apply(session_pool, example)
    statements: list[str] = []
    async with session_pool() as session:
        sync_engine = session.get_bind()

        def spy(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            statements.append(statement)

        event.listen(sync_engine, "before_cursor_execute", spy)
        try:
            summary = await apply_setup(session, example)
            await session.commit()
        finally:
            event.remove(sync_engine, "before_cursor_execute", spy)
    assert summary.changed is False
    assert summary.lines()[0] == "profile          0 added, 0 updated, 0 removed"
    assert statements, "the spy saw nothing, so it proves nothing"
    writes = ("INSERT", "UPDATE", "DELETE")
    assert [s for s in statements if s.lstrip().upper().startswith(writes)] == []


EXPORT_INPUT = _file(
    'name: "  KV Beispiel  "',
    "districts:",
    "  - Süd-Ost",
    "  - {key: alt, name: Altstadt}",
    "topics: [Umwelt, Bildung]",
    "groups:",
    "  - name: AG Grün",
    "    type: AG",
    "    district: alt",
    "    topics: [bildung, umwelt]",
    "    meets: jeden 2. Donnerstag 19 Uhr",
    "    hosts: ['@Anna_K', '42']",
    "    newcomer_friendly: yes",
    "    description: |",
    "      Erste Zeile   ",
    "      zweite Zeile",
    "",
    "guide:",
    "  - {title: Über uns, text: Kurz.}",
    "telegram_groups:",
    "  - {chat_id: -2, title: Zwei}",
    "  - chat_id: -10",
    "    title: Zehn",
    "    group: ag-gruen",
    "    language: EN",
    "    welcome: false",
    "    welcome_text: 'Hallo {names} im {kv}, {{Klammern}} bleiben'",
)
EXPORT_EXPECTED = _file(
    "name: KV Beispiel",
    "",
    "districts:",
    "  - Süd-Ost",
    "  - {key: alt, name: Altstadt}",
    "",
    "topics:",
    "  - Umwelt",
    "  - Bildung",
    "",
    "groups:",
    "  - key: ag-gruen",
    "    name: AG Grün",
    "    type: ag",
    "    district: alt",
    "    topics: [umwelt, bildung]",
    "    meets: jeden 2. Donnerstag 19 Uhr",
    "    hosts: ['@anna_k', 42]",
    "    newcomer_friendly: true",
    "    open_to_non_members: false",
    "    description: |",
    "      Erste Zeile",
    "      zweite Zeile",
    "",
    "guide:",
    "  - title: Über uns",
    "    text: Kurz.",
    "",
    "telegram_groups:",
    "  - chat_id: -10",
    "    title: Zehn",
    "    group: ag-gruen",
    "    language: en",
    "    welcome: false",
    "    welcome_text: Hallo {names} im {kv}, {{Klammern}} bleiben",
    "    approve_join_requests: false",
    "  - chat_id: -2",
    "    title: Zwei",
    "    language: de",
    "    welcome: true",
    "    approve_join_requests: false",
)


async def test_export_writes_the_normalised_form(session_pool: SessionPool) -> None:
    await _import_text(session_pool, EXPORT_INPUT)
    exported = await _export(session_pool)
    assert exported == EXPORT_EXPECTED
    assert load_setup(exported) == load_setup(EXPORT_INPUT)


async def test_meeting_rules_keep_the_organisers_words(session_pool: SessionPool) -> None:
    phrases = [
        "jeden 2. Donnerstag 19 Uhr",
        "letzter Freitag im Monat 18 Uhr",
        "2. Sonntag im September",
        "27.01.",
        "every other Thursday 19:00 from 2026-01-08",
    ]
    groups = [f"  - {{name: G{n}, type: ag, meets: '{p}'}}" for n, p in enumerate(phrases)]
    await _import_text(session_pool, _file("name: KV", "groups:", *groups))
    exported = await _export(session_pool)
    assert [group.meets for group in load_setup(exported).groups] == phrases
    for phrase in phrases:
        assert f"meets: {phrase}\n" in exported or f"meets: '{phrase}'\n" in exported
    # Spacing is the only thing tidied; the rule is still checked by the parser.
    setup = load_setup(
        _file("name: KV", "groups:", "  - {name: G, type: ag, meets: ' jeden  Do   19 Uhr '}")
    )
    assert setup.groups[0].meets == "jeden Do 19 Uhr"


async def test_rules_are_stored_as_rrule_and_a_new_rule_restarts_an_ended_series(
    session_pool: SessionPool,
) -> None:
    def setup(meets: str) -> str:
        return _file(
            "name: KV",
            "groups:",
            f"  - {{key: g, name: G, type: stammtisch, meets: '{meets}'}}",
            "telegram_groups:",
            "  - {chat_id: -100, title: G-Chat, group: g, link: 'https://t.me/+AbCdEf123'}",
        )

    await _import_text(session_pool, setup("jeden 2. Donnerstag 19 Uhr"))
    group = await _group(session_pool, "g")
    assert group.rule == "jeden 2. Donnerstag 19 Uhr"
    assert group.rrule == "RRULE:FREQ=MONTHLY;BYDAY=2TH;BYHOUR=19;BYMINUTE=0;BYSECOND=0"
    async with session_pool() as session:
        chat = await session.get(ServedChat, -100)
        assert chat is not None
        assert chat.invite_link == "https://t.me/+AbCdEf123"
        stored = await session.get(Group, group.id)
        assert stored is not None
        stored.series_ends_on = date(2026, 12, 1)
        await session.commit()
    assert "link: https://t.me/+AbCdEf123" in await _export(session_pool)
    # The same rule again keeps the host's end of the series; a new rule starts a new one.
    await _import_text(session_pool, setup("jeden 2. Donnerstag 19 Uhr"))
    assert (await _group(session_pool, "g")).series_ends_on == date(2026, 12, 1)
    await _import_text(session_pool, setup("jeden Donnerstag 19 Uhr"))
    group = await _group(session_pool, "g")
    assert group.series_ends_on is None
    assert group.rrule == "RRULE:FREQ=WEEKLY;BYDAY=TH;BYHOUR=19;BYMINUTE=0;BYSECOND=0"


async def test_import_warns_before_dropping_a_group_founded_in_the_bot(
    session_pool: SessionPool,
) -> None:
    text = _file("name: KV", "groups:", "  - {key: g, name: G, type: ag}")
    await _import_text(session_pool, text)
    async with session_pool() as session:
        session.add(Member(id=77, first_name="Pia"))
        founded = Group(key="stammtisch-pia", name="Stammtisch Pia", type=GroupType.STAMMTISCH)
        session.add(founded)
        await session.flush()
        session.add(
            GroupProposal(
                proposer_id=77,
                name="Stammtisch Pia",
                status=ProposalStatus.APPROVED,
                group_id=founded.id,
            )
        )
        # A group dropped for other reasons is no surprise and gets no warning.
        session.add(Group(key="old", name="Old AG", type=GroupType.AG))
        await session.commit()

    summary = await _import_text(session_pool, text)
    assert summary.founded_in_bot_dropped == ("Stammtisch Pia",)
    [warning] = summary.warnings()
    assert "Stammtisch Pia" in warning
    assert "Old AG" not in warning
    assert "mitmachbot export" in warning
    assert not (await _group(session_pool, "stammtisch-pia")).active
    # Once the export (which has the group) is imported, nothing is dropped and nobody warned.
    async with session_pool() as session:
        group = await session.scalar(select(Group).where(Group.key == "stammtisch-pia"))
        assert group is not None
        group.active = True
        await session.commit()
    summary = await _import_text(session_pool, await _export(session_pool))
    assert summary.warnings() == []
    assert (await _group(session_pool, "stammtisch-pia")).active


# --- exporting into the file last imported ----------------------------------------------------

# The example with a few more comments: on a list entry, above a group, after a value.
COMMENTED = (
    EXAMPLE.read_text(encoding="utf-8")
    .replace("  - Mitte\n", "  - Mitte  # mit der Altstadt\n", 1)
    .replace(
        "  - key: bg-nord\n", "  # Die Basisgruppe trifft sich jede Woche.\n  - key: bg-nord\n", 1
    )
    .replace(
        "    place: Café Rosa, Hauptstraße 5\n",
        "    place: Café Rosa, Hauptstraße 5  # 1. Stock\n",
        1,
    )
)
COMMENTS = (
    "# Einrichtung eines Kreisverbands für den Mitmachbot",
    # Mitte loses Westend as a neighbour in these tests, so it is written anew as a mapping;
    # the comment stays on its line.
    "# mit der Altstadt\n",
    "  # Die Basisgruppe trifft sich jede Woche.\n  - key: bg-nord\n",
    "  # 1. Stock\n",
)


async def _import_file(pool: SessionPool, text: str) -> ChangeSummary:
    """What `mitmachbot import` does, the file's text kept for the export."""
    async with pool() as session:
        summary = await apply_setup(session, load_setup(text), source=text)
        await session.commit()
    return summary


async def _stored(pool: SessionPool) -> KvSetup:
    async with pool() as session:
        return await read_setup(session)


async def test_export_keeps_the_comments_of_the_file_last_imported(
    session_pool: SessionPool,
) -> None:
    await _import_file(session_pool, COMMENTED)
    assert await _export(session_pool) == COMMENTED
    modified = COMMENTED.replace("jeden 2. Donnerstag 19 Uhr", "jeden 3. Donnerstag 20 Uhr")
    modified = modified.replace("  - {key: westend, name: Westend, neighbours: [mitte]}\n", "")
    modified = modified.replace("neighbours: [mitte, westend]", "neighbours: [mitte]")
    summary = await _import_file(session_pool, modified)
    assert (summary.groups.updated, summary.districts.removed) == (1, 1)
    exported = await _export(session_pool)
    assert all(comment in exported for comment in COMMENTS)
    assert "meets: jeden 3. Donnerstag 20 Uhr\n" in exported
    assert "Westend" not in exported
    assert load_setup(exported) == await _stored(session_pool)
    assert not (await _import_file(session_pool, exported)).changed
    assert await _export(session_pool) == exported


async def test_export_brings_the_file_in_line_with_the_database(
    session_pool: SessionPool, example: KvSetup
) -> None:
    """Changes made without a file (as the bot's own editing would) go into the kept file."""
    await _import_file(session_pool, COMMENTED)
    changed = dataclasses.replace(
        example,
        name="KV Musterstadt",
        privacy_contact=None,
        districts=(
            *_without_district(example, "westend")["districts"],  # type: ignore[misc]
            Entry("ost", "Ost"),
        ),
        topics=tuple(
            Entry("umwelt", "Umwelt & Klima") if topic.key == "umwelt" else topic
            for topic in example.topics
        ),
        groups=(
            *_replace_group(example, "stammtisch-mitte", meets="jeden 3. Donnerstag 20 Uhr")[:5],
            GroupSetup(key="ag-neu", name="AG Neu", type=GroupType.AG, place="yes"),
        ),
        guide=example.guide[::-1],
    )
    await _apply(session_pool, changed)
    exported = await _export(session_pool)
    assert all(comment in exported for comment in COMMENTS)
    assert load_setup(exported) == await _stored(session_pool) == changed
    assert "\nprivacy_contact:" not in exported
    assert "  - {key: umwelt, name: Umwelt & Klima}\n" in exported
    assert "meets: jeden 3. Donnerstag 20 Uhr\n" in exported
    # PyYAML would read a bare yes as true; ruamel (YAML 1.2) would write it bare.
    assert "    place: 'yes'\n" in exported
    # What didn't change is written as it was, not in the plain export's words.
    assert "    type: Basisgruppe\n" in exported
    assert exported.index("Wer entscheidet") < exported.index("Wer wir sind")
    assert not (await _import_file(session_pool, exported)).changed
    assert await _export(session_pool) == exported


async def test_export_keeps_the_file_s_own_indentation(session_pool: SessionPool) -> None:
    flat = _file(
        "# Kompakt geschrieben",
        "name: KV",
        "districts:",
        "- Mitte  # Zentrum",
        "- Nord",
        "groups:",
        "- name: AG Umwelt",
        "  type: ag",
        "  description: |",
        "      eingerückt",
        "      um vier",
    )
    await _import_file(session_pool, flat)
    await _apply(
        session_pool,
        dataclasses.replace(load_setup(flat), districts=(Entry("mitte", "Mitte"),)),
    )
    assert await _export(session_pool) == flat.replace("- Nord\n", "")


async def test_export_adds_sections_the_file_did_not_have(session_pool: SessionPool) -> None:
    sparse = _file("# Noch fast leer", "name: KV", "districts: []", "", "# Ende")
    await _import_file(session_pool, sparse)
    grown = KvSetup(
        name="KV",
        districts=(Entry("mitte", "Mitte"),),
        groups=(GroupSetup(key="g", name="G", type=GroupType.AG, description="zwei\nZeilen"),),
    )
    await _apply(session_pool, grown)
    exported = await _export(session_pool)
    assert exported.startswith("# Noch fast leer\nname: KV\n")
    assert exported.endswith("# Ende\n")
    assert load_setup(exported) == grown
    assert "    description: |\n      zwei\n      Zeilen\n" in exported


async def test_export_without_a_usable_file_is_the_plain_form(session_pool: SessionPool) -> None:
    await _import_file(session_pool, COMMENTED)
    async with session_pool() as session:
        profile = await session.get(KvProfile, 1)
        assert profile is not None
        assert profile.setup_source == COMMENTED
        # A file the reader no longer accepts (say, after a stricter check came in).
        profile.setup_source = COMMENTED + "unknown_section: 1\n"
        await session.commit()
    assert await _export(session_pool) == dump_setup(await _stored(session_pool))


# --- changes ---------------------------------------------------------------------------------


def _replace_group(setup: KvSetup, key: str, **changes: object) -> tuple[GroupSetup, ...]:
    return tuple(
        dataclasses.replace(group, **changes) if group.key == key else group  # type: ignore[arg-type]
        for group in setup.groups
    )


async def test_changes_are_applied_and_counted(session_pool: SessionPool, example: KvSetup) -> None:
    await _apply(session_pool, example)
    original_export = await _export(session_pool)
    changed = dataclasses.replace(
        example,
        topics=tuple(
            Entry("umwelt", "Umwelt & Klima") if topic.key == "umwelt" else topic
            for topic in example.topics
        ),
        **_without_district(example, "westend"),  # type: ignore[arg-type]
        groups=tuple(
            group
            for group in _replace_group(
                example, "bg-nord", hosts=(Host(username="neue_hostin"), Host(telegram_id=777))
            )
            if group.key != "ag-frieden"
        ),
    )
    summary = await _apply(session_pool, changed)
    assert summary == ChangeSummary(
        topics=SectionChanges(updated=1),
        # Am Hafen moves up into Westend's place; Mitte and Südstadt lose a neighbour.
        districts=SectionChanges(updated=3, removed=1),
        # bg-nord's hosts changed; ag-frieden was the last, so no position moves.
        groups=SectionChanges(updated=1, removed=1),
    )
    counts = await _db_counts(session_pool)
    assert (counts["districts"], counts["groups"], counts["active_groups"]) == (4, 6, 5)
    async with session_pool() as session:
        topic = await session.scalar(select(Topic).where(Topic.key == "umwelt"))
        assert topic is not None
        assert topic.name == "Umwelt & Klima"
        assert await session.scalar(select(District).where(District.key == "westend")) is None
    frieden = await _group(session_pool, "ag-frieden")
    assert frieden.active is False
    assert _host_rows(frieden) == [(None, "friedenstaube_mk")]
    assert _host_rows(await _group(session_pool, "bg-nord")) == [(None, "neue_hostin"), (777, None)]
    assert "ag-frieden" not in await _export(session_pool)

    summary = await _apply(session_pool, example)
    assert summary == ChangeSummary(
        topics=SectionChanges(updated=1),
        districts=SectionChanges(added=1, updated=3),
        groups=SectionChanges(added=1, updated=1),
    )
    assert (await _group(session_pool, "ag-frieden")).active is True
    assert await _export(session_pool) == original_export


async def test_order_follows_the_file(session_pool: SessionPool, example: KvSetup) -> None:
    await _apply(session_pool, example)
    reordered = dataclasses.replace(
        example, guide=example.guide[::-1], groups=example.groups[1:] + example.groups[:1]
    )
    summary = await _apply(session_pool, reordered)
    assert summary == ChangeSummary(
        guide=SectionChanges(updated=4), groups=SectionChanges(updated=6)
    )
    exported = load_setup(await _export(session_pool))
    assert [entry.title for entry in exported.guide] == [
        "Wer entscheidet",
        "Wo wir uns treffen",
        "Wie du mitmachen kannst",
        "Wer wir sind",
    ]
    assert exported.groups[-1].key == "stammtisch-mitte"


async def test_dropping_a_group_with_its_district_and_topic(
    session_pool: SessionPool, example: KvSetup
) -> None:
    """The inactive group loses its links to what was deleted, on both backends' foreign keys."""
    await _apply(session_pool, example)
    without = dataclasses.replace(
        example,
        **_without_district(example, "nord"),  # type: ignore[arg-type]
        topics=tuple(t for t in example.topics if t.key != "demokratie"),
        groups=tuple(g for g in example.groups if g.key != "bg-nord"),
    )
    summary = await _apply(session_pool, without)
    assert (summary.districts.removed, summary.topics.removed, summary.groups.removed) == (1, 1, 1)
    group = await _group(session_pool, "bg-nord")
    assert (group.active, group.district) == (False, None)
    assert sorted(t.key for t in group.topics) == ["antifaschismus", "bildung-jugend"]
    assert not (await _apply(session_pool, without)).changed


async def test_served_chat_keeps_its_last_welcome(
    session_pool: SessionPool, example: KvSetup
) -> None:
    await _apply(session_pool, example)
    async with session_pool() as session:
        chat = await session.get(ServedChat, -1001234567890)
        assert chat is not None
        chat.last_welcome_message_id = 4711
        await session.commit()
    retitled = dataclasses.replace(
        example,
        telegram_groups=tuple(
            dataclasses.replace(chat, title="Alle in Musterstadt", group="ag-umwelt")
            if chat.chat_id == -1001234567890
            else chat
            for chat in example.telegram_groups
        ),
    )
    assert (await _apply(session_pool, retitled)).telegram_groups == SectionChanges(updated=1)
    async with session_pool() as session:
        chat = await session.get(ServedChat, -1001234567890)
    assert chat is not None
    assert (chat.title, chat.last_welcome_message_id) == ("Alle in Musterstadt", 4711)
    assert chat.group is not None
    assert chat.group.key == "ag-umwelt"
    dropped = dataclasses.replace(example, telegram_groups=example.telegram_groups[:1])
    assert (await _apply(session_pool, dropped)).telegram_groups == SectionChanges(removed=1)


async def test_apply_refuses_dangling_references(session_pool: SessionPool) -> None:
    setup = KvSetup(
        name="KV", groups=(GroupSetup(key="g", name="G", type=GroupType.AG, district="nowhere"),)
    )
    with pytest.raises(ValueError, match="unknown district 'nowhere'"):
        await _apply(session_pool, setup)
    assert (await _db_counts(session_pool))["kv_profile"] == 0


# --- validation ------------------------------------------------------------------------------

GROUP_HEAD = ("name: KV", "districts: [Mitte, {key: nord, name: Nord}]", "topics: [Umwelt]")
BROKEN_FILES = [
    pytest.param(
        _file("name: KV", "districts:", "  - Mitte", " - Nord"), 4, "invalid YAML", id="syntax"
    ),
    pytest.param(_file("- name: KV"), 1, "must be a mapping (name:, districts:, ...), not a list"),
    pytest.param(_file("# KV ohne Namen", "districts: [Mitte]"), 2, "missing required key 'name'"),
    pytest.param(
        _file("name: KV", "", "grups: []"), 3, "unknown key 'grups' (did you mean 'groups'?)"
    ),
    pytest.param(
        _file("name: KV", "districts:", "  - Mitte", "  - Nord", "  - {key: mitte, name: Zentrum}"),
        5,
        "districts[2]: duplicate district key 'mitte' (first on line 3)",
    ),
    pytest.param(
        _file(*GROUP_HEAD, "groups:", "  - name: G", "    type: ag", "    district: nrd"),
        7,
        "groups[0].district: unknown district 'nrd' (known: mitte, nord)",
    ),
    pytest.param(
        _file(*GROUP_HEAD, "groups:", "  - name: G", "    type: ag", "    topics: [umwelt, x]"),
        7,
        "groups[0].topics[1]: unknown topic 'x' (known: umwelt)",
    ),
    pytest.param(
        _file(*GROUP_HEAD, "groups:", "  - name: G", "    type: ag", "    meets: every blursday"),
        7,
        "groups[0].meets: cannot read rule 'every blursday': unknown weekday 'blursday'",
    ),
    pytest.param(
        _file("name: KV", "groups:", "  - name: G", "    type: ag", "    hosts: [42, '@x']"),
        5,
        "groups[0].hosts[1]: a host is a numeric Telegram id or an @username",
    ),
    pytest.param(
        _file("name: KV", "telegram_groups:", "  - title: T", "    chat_id: 1001234567890"),
        4,
        "telegram_groups[0].chat_id: must be a group's negative chat id",
    ),
    pytest.param(
        _file(
            "name: KV",
            "telegram_groups:",
            "  - chat_id: -1",
            "    title: T",
            "    welcome_text: Hallo {name}!",
        ),
        5,
        "welcome_text: unknown placeholder {name} (allowed: {names}, {kv})",
    ),
    pytest.param(
        _file(
            "name: KV",
            "telegram_groups:",
            "  - chat_id: -1",
            "    title: T",
            "    link: https://evil.example/join",
        ),
        5,
        "link must be a Telegram invite link like https://t.me/+AbCdEf, not "
        "'https://evil.example/join'",
    ),
    pytest.param(
        _file(
            "name: KV",
            "groups:",
            "  - name: G",
            "    type: ag",
            "    newcomer_friendly: yes please",
        ),
        5,
        "groups[0].newcomer_friendly: expected true or false, got 'yes please'",
    ),
    pytest.param(_file("name: " + "x" * 101), 1, "name: too long (101 characters, at most 100)"),
    pytest.param("", 1, "the file is empty"),
    pytest.param(_file("# nur ein Kommentar"), 1, "the file is empty"),
    pytest.param(
        _file("name: &kv KV", "privacy_contact: *kv"), 2, "aliases (*kv) are not supported"
    ),
    pytest.param(_file("name: KV", "name: KV 2"), 2, "name: duplicate key (first on line 1)"),
    pytest.param(
        _file("name: KV", "groups:", "  - name: G", "    type: verein"),
        4,
        "groups[0].type: unknown group type 'verein' (stammtisch, basisgruppe, ag)",
    ),
]


@pytest.mark.parametrize(("text", "line", "fragment"), BROKEN_FILES)
async def test_broken_file_is_rejected_and_nothing_written(
    session_pool: SessionPool, example: KvSetup, text: str, line: int, fragment: str
) -> None:
    await _apply(session_pool, example)
    before = (await _export(session_pool), await _db_counts(session_pool))
    with pytest.raises(SetupInvalidError) as caught:
        await _import_text(session_pool, text)
    errors = caught.value.errors
    assert len(errors) == 1, errors
    assert errors[0].line == line
    assert fragment in errors[0].message
    assert str(errors[0]) == f"line {line}: {errors[0].message}"
    assert (await _export(session_pool), await _db_counts(session_pool)) == before


def test_all_errors_are_reported_in_line_order() -> None:
    text = _file(
        "name: KV",
        "telegram_groups:",
        "  - chat_id: 5",
        "    title: T",
        "districts: [Mitte]",
        "groups:",
        "  - name: G",
        "    type: ag",
        "    district: nrd",
        "    meets: sometimes",
    )
    with pytest.raises(SetupInvalidError) as caught:
        load_setup(text)
    assert [(error.line, error.message.split(":")[0]) for error in caught.value.errors] == [
        (3, "telegram_groups[0].chat_id"),
        (9, "groups[0].district"),
        (10, "groups[0].meets"),
    ]
    assert str(caught.value).splitlines()[1] == (
        "line 9: groups[0].district: unknown district 'nrd' (known: mitte)"
    )


def test_file_level_errors() -> None:
    with pytest.raises(SetupInvalidError) as caught:
        load_setup_bytes(b"name: KV\nprivacy_contact: K\xe4the\n")
    assert [(e.line, "not UTF-8" in e.message) for e in caught.value.errors] == [(2, True)]
    with pytest.raises(SetupInvalidError) as caught:
        load_setup_bytes(b"name: KV\n" + b"#" * 1024 * 1024)
    assert [(e.line, "too large" in e.message) for e in caught.value.errors] == [(1, True)]
    # A byte order mark is still UTF-8.
    assert load_setup_bytes("\ufeffname: Kreisverband Köln\n".encode()).name == "Kreisverband Köln"


def test_values_are_normalised() -> None:
    setup = load_setup(
        _file(
            "name: '  KV  '",
            "topics: [Senior:innen, Umwelt/Klima, Straßen & Plätze, Café]",
            "groups:",
            "  - {name: Große AG, type: AG, topics: [cafe, senior-innen]}",
            "  - {key: bg_1, name: BG, type: Basisgruppe, hosts: ['123', '@Anna_K'], meets: ~}",
        )
    )
    assert setup.name == "KV"
    assert [t.key for t in setup.topics] == [
        "senior-innen",
        "umwelt-klima",
        "strassen-plaetze",
        "cafe",
    ]
    assert [(g.key, g.type, g.topics) for g in setup.groups] == [
        ("grosse-ag", GroupType.AG, ("senior-innen", "cafe")),
        ("bg_1", GroupType.BASISGRUPPE, ()),
    ]
    assert setup.groups[1].hosts == (Host(telegram_id=123), Host(username="anna_k"))
    assert setup.groups[1].meets is None


@pytest.mark.parametrize(
    ("name", "key"),
    [
        ("Mitte", "mitte"),
        ("Süd-Ost / Altstadt", "sued-ost-altstadt"),
        ("Ärzte für Öffentlichkeit", "aerzte-fuer-oeffentlichkeit"),
        ("  --Senior:innen!!  ", "senior-innen"),
        ("x" * 70, "x" * 64),
        ("!!!", ""),
    ],
)
def test_derive_key(name: str, key: str) -> None:
    assert derive_key(name) == key


# --- the command line ------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, database_url: str) -> Iterator[str]:
    """Settings for `main` from the environment only, pointing at the test database.

    Messages are English (DEFAULT_LOCALE=en) unless a test sets the language itself.
    """
    for name in (
        "TELEGRAM_API_URL",
        "ADMIN_IDS",
        "KV_NAME",
        "WEBHOOK_URL",
        "WEBHOOK_SECRET",
        *LOCALE_VARIABLES,
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("DEFAULT_LOCALE", "en")
    monkeypatch.setenv("BOT_TOKEN", TOKEN)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("LOG_LEVEL", "WARNING")
    monkeypatch.chdir(tmp_path)  # no .env from the developer's checkout
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield database_url
    # main() installs its own log handler on the captured stderr; later tests must not see it.
    root.handlers[:] = handlers
    root.setLevel(level)


def _rows(database_url: str) -> dict[str, int]:
    async def count() -> dict[str, int]:
        engine = create_engine(database_url)
        try:
            async with create_session_pool(engine)() as session:
                return await _counts(session)
        finally:
            await engine.dispose()

    return asyncio.run(count())


def test_cli_import_and_export(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], example: KvSetup
) -> None:
    assert main(["import", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert f"imported {EXAMPLE}:" in out
    assert "  districts        5 added, 0 updated, 0 removed" in out.splitlines()
    assert "  groups           6 added, 0 updated, 0 deactivated" in out.splitlines()
    assert _rows(cli_env)["groups"] == 6

    # Nothing changed since the import, so the export is the file itself, comments and all.
    target = tmp_path / "export.yaml"
    assert main(["export", str(target)]) == 0
    assert target.read_bytes() == EXAMPLE.read_bytes()
    capsys.readouterr()
    assert main(["export"]) == 0
    assert capsys.readouterr().out == EXAMPLE.read_text(encoding="utf-8")

    assert main(["import", str(target)]) == 0
    assert capsys.readouterr().out.endswith("nothing changed\n")

    # A dry run keeps nothing, not even the file's text.
    target.write_text("# Probe\n" + EXAMPLE.read_text(encoding="utf-8"), encoding="utf-8")
    assert main(["import", "--dry-run", str(target)]) == 0
    capsys.readouterr()
    assert main(["export"]) == 0
    assert capsys.readouterr().out == EXAMPLE.read_text(encoding="utf-8")


def test_cli_invalid_file_writes_nothing(
    cli_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    broken = tmp_path / "kv.yaml"
    broken.write_text(
        _file("name: KV", "districts: [Mitte, Mitte]", "grups: []", "guide: [{title: T}]"),
        encoding="utf-8",
    )
    assert main(["import", str(broken)]) == 1
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.splitlines() == [
        "line 2: districts[1]: duplicate district key 'mitte' (first on line 2)",
        "line 3: unknown key 'grups' (did you mean 'groups'?)",
        "line 4: guide[0]: missing required key 'text'",
        f"{broken}: 3 errors, nothing was imported",
    ]
    assert set(_rows(cli_env).values()) == {0}
    assert main(["import", str(tmp_path / "missing.yaml")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_cli_dry_run_writes_nothing(cli_env: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import", "--dry-run", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out
    assert "dry run" in out
    assert "  topics           8 added, 0 updated, 0 removed" in out.splitlines()
    assert set(_rows(cli_env).values()) == {0}
    assert main(["export"]) == 1
    assert "nothing to export" in capsys.readouterr().err


@pytest.mark.parametrize(("command", "expected"), [("import", "--dry-run"), ("export", "FILE")])
def test_cli_help(command: str, expected: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main([command, "--help"])
    assert exited.value.code == 0
    assert expected in capsys.readouterr().out


def test_cli_speaks_german_when_the_kv_does(
    cli_env: str,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("DEFAULT_LOCALE", "de")
    monkeypatch.setenv("LANG", "en_US.UTF-8")  # DEFAULT_LOCALE wins over the shell
    broken = tmp_path / "kv.yaml"
    broken.write_text(
        _file("name: KV", "districts: [Mitte, Mitte]", "grups: []", "guide: [{title: T}]"),
        encoding="utf-8",
    )
    assert main(["import", str(broken)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "Zeile 2: districts[1]: doppelter key 'mitte' bei den Stadtteilen (zuerst in Zeile 2)",
        "Zeile 3: unbekannter Schlüssel 'grups' (vielleicht 'groups'?)",
        "Zeile 4: guide[0]: Pflichtschlüssel 'text' fehlt",
        f"{broken}: 3 Fehler, nichts eingelesen",
    ]
    broken.write_text(_file("name: KV", "groups:", "  - {name: G, type: ag, meets: 19 Uhr}"))
    assert main(["import", str(broken)]) == 1
    assert capsys.readouterr().err.splitlines() == [
        "Zeile 3: groups[0].meets: Regel '19 Uhr' nicht lesbar: kein Wochentag und kein Datum "
        "gefunden: z. B. 'jeden Donnerstag 19 Uhr', 'erster Montag im Monat 18:30' oder '27.01.' "
        "schreiben",
        f"{broken}: 1 Fehler, nichts eingelesen",
    ]
    assert main(["export"]) == 1
    assert capsys.readouterr().err == (
        "nichts zu exportieren: es wurde noch keine KV-Einrichtung eingelesen\n"
    )
    assert main(["import", "--dry-run", str(EXAMPLE)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0] == f"Probelauf mit {EXAMPLE}, nichts gespeichert; das Einlesen würde ändern:"
    assert "  groups           6 hinzugefügt, 0 geändert, 0 deaktiviert" in out


@pytest.mark.parametrize(
    ("environment", "language"),
    [
        ({"LANG": "en_US.UTF-8"}, "en"),
        ({"LANG": "de_DE.UTF-8"}, "de"),
        ({"LC_MESSAGES": "en_GB", "LANG": "de_DE.UTF-8"}, "en"),
        ({"LC_ALL": "de_AT@euro", "LC_MESSAGES": "en_GB"}, "de"),
        ({"LANG": "fr_FR.UTF-8"}, "de"),  # no French catalog: the bot's default
        ({"LANG": "C.UTF-8"}, "de"),
        ({}, "de"),
        ({"DEFAULT_LOCALE": "en", "LANG": "de_DE.UTF-8"}, "en"),
        ({"DEFAULT_LOCALE": "de", "LANG": "en_US.UTF-8"}, "de"),
    ],
)
def test_admin_locale(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], language: str
) -> None:
    for name in LOCALE_VARIABLES:
        monkeypatch.delenv(name, raising=False)
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    settings = Settings(bot_token=TOKEN, _env_file=None)  # type: ignore[call-arg]
    assert admin_locale(settings, os.environ) == language


def test_cli_follows_the_shell_without_default_locale(
    cli_env: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("DEFAULT_LOCALE")
    monkeypatch.setenv("LANG", "en_US.UTF-8")
    assert main(["export"]) == 1
    assert capsys.readouterr().err == "nothing to export: no KV setup has been imported yet\n"
    monkeypatch.setenv("LANG", "de_DE.UTF-8")
    assert main(["import", str(EXAMPLE)]) == 0
    assert capsys.readouterr().out.splitlines()[0] == f"{EXAMPLE} eingelesen:"
