"""Members are recorded once, refreshed only when something changed, found by @username or id."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import event, select

from bot.db.session import SessionPool
from bot.services.members import (
    LAST_SEEN_RESOLUTION,
    Sighting,
    find_member,
    record_sighting,
    set_language,
    set_reachable,
)
from bot.services.profile import give_consent
from models import Group, GroupHost, GroupType, Member

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


async def _record(pool: SessionPool, sighting: Sighting, now: datetime) -> bool:
    async with pool() as session:
        _member, changed = await record_sighting(session, sighting, now)
        await session.commit()
        return changed


async def _consent(pool: SessionPool, sighting: Sighting) -> None:
    async with pool() as session:
        member, _changed = await record_sighting(session, sighting, T0)
        await give_consent(
            session, member, first_name=sighting.first_name, username=sighting.username, now=T0
        )
        await session.commit()


async def test_name_is_kept_after_consent_and_for_admins(session_pool: SessionPool) -> None:
    await _consent(session_pool, Sighting(1, "Anna", "Anna_K", "de"))
    async with session_pool() as session:
        _member, _changed = await record_sighting(
            session, Sighting(2, "Ada", "ada", None), T0, always_identified={2}
        )
        await session.commit()
    async with session_pool() as session:
        anna = await session.get(Member, 1)
        ada = await session.get(Member, 2)
    assert anna is not None
    assert ada is not None
    assert (anna.first_name, anna.username, anna.consented) == ("Anna", "anna_k", True)
    assert (ada.first_name, ada.username, ada.consented) == ("Ada", "ada", False)


async def test_first_sighting_keeps_only_id_and_language(session_pool: SessionPool) -> None:
    assert await _record(session_pool, Sighting(1, "Anna", "Anna_K", "de-DE"), T0)
    async with session_pool() as session:
        member = await session.get(Member, 1)
    assert member is not None
    # No consent yet: nothing beyond the Telegram id and language.
    assert (member.first_name, member.username, member.telegram_language) == (
        None,
        None,
        "de-DE",
    )
    assert member.reachable is True
    assert member.language is None
    assert member.created_at == T0
    assert member.last_seen_at == T0


async def test_unchanged_sighting_writes_nothing(session_pool: SessionPool) -> None:
    sighting = Sighting(1, "Anna", "anna", "de")
    await _consent(session_pool, sighting)
    statements: list[str] = []
    async with session_pool() as session:
        sync_engine = session.get_bind()

        def spy(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
            statements.append(statement)

        event.listen(sync_engine, "before_cursor_execute", spy)
        try:
            _member, changed = await record_sighting(session, sighting, T0 + timedelta(minutes=5))
            await session.flush()
        finally:
            event.remove(sync_engine, "before_cursor_execute", spy)
    assert changed is False
    assert not [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "INSERT"))]


async def test_last_seen_is_refreshed_hourly(session_pool: SessionPool) -> None:
    sighting = Sighting(1, "Anna", None, None)
    await _record(session_pool, sighting, T0)
    assert not await _record(session_pool, sighting, T0 + LAST_SEEN_RESOLUTION / 2)
    assert await _record(session_pool, sighting, T0 + LAST_SEEN_RESOLUTION)
    async with session_pool() as session:
        member = await session.get(Member, 1)
    assert member is not None
    assert member.last_seen_at == T0 + LAST_SEEN_RESOLUTION


async def test_name_change_is_stored(session_pool: SessionPool) -> None:
    await _consent(session_pool, Sighting(1, "Anna", None, None))
    assert await _record(session_pool, Sighting(1, "Anna-Lena", None, None), T0)
    async with session_pool() as session:
        assert (await session.get(Member, 1)).first_name == "Anna-Lena"  # type: ignore[union-attr]


async def test_overlong_name_is_cut_to_the_column(session_pool: SessionPool) -> None:
    await _consent(session_pool, Sighting(1, "x" * 200, "y" * 40, "z" * 40))
    async with session_pool() as session:
        member = await session.get(Member, 1)
    assert member is not None
    assert len(member.first_name) == 64
    assert len(member.username or "") == 32


async def test_username_moves_to_its_new_holder(session_pool: SessionPool) -> None:
    await _consent(session_pool, Sighting(1, "Anna", "kv_office", None))
    await _consent(session_pool, Sighting(2, "Ben", "KV_Office", None))
    async with session_pool() as session:
        holders = (
            await session.scalars(select(Member.id).where(Member.username == "kv_office"))
        ).all()
        found = await find_member(session, "@KV_OFFICE")
    assert holders == [2]
    assert found is not None
    assert found.id == 2


async def test_find_member_by_id_and_unknown(session_pool: SessionPool) -> None:
    await _consent(session_pool, Sighting(42, "Anna", None, None))
    async with session_pool() as session:
        assert (await find_member(session, " 42 ")).first_name == "Anna"  # type: ignore[union-attr]
        assert await find_member(session, "43") is None
        assert await find_member(session, "@nobody") is None
        assert await find_member(session, "@") is None


async def test_language_and_reachability(session_pool: SessionPool) -> None:
    await _record(session_pool, Sighting(1, "Anna", None, "de"), T0)
    async with session_pool() as session:
        member = await session.get(Member, 1)
        assert member is not None
        assert await set_language(session, member, "en") is True
        assert await set_language(session, member, "en") is False
        assert await set_reachable(session, 1, reachable=False) is True
        assert await set_reachable(session, 1, reachable=False) is False
        assert await set_reachable(session, 999, reachable=False) is False
        await session.commit()
    async with session_pool() as session:
        member = await session.get(Member, 1)
    assert member is not None
    assert (member.language, member.reachable) == ("en", False)


async def test_hosts_named_in_the_setup_are_identified(session_pool: SessionPool) -> None:
    async with session_pool() as session:
        group = Group(key="st", name="Stammtisch", type=GroupType.STAMMTISCH)
        group.hosts = [GroupHost(username="hanna_host"), GroupHost(telegram_id=7)]
        session.add(group)
        await session.commit()
    await _record(session_pool, Sighting(5, "Hanna", "Hanna_Host", "de"), T0)
    await _record(session_pool, Sighting(7, "Otto", None, "de"), T0)
    await _record(session_pool, Sighting(8, "Nobody", "nobody", "de"), T0)
    async with session_pool() as session:
        names = {m.id: m.first_name for m in await session.scalars(select(Member))}
    assert names == {5: "Hanna", 7: "Otto", 8: None}


async def _statements_of_sighting(
    pool: SessionPool, sighting: Sighting, now: datetime
) -> tuple[Member, list[str]]:
    """Record the sighting; returns the member and the kinds of SQL statement it took."""
    statements: list[str] = []

    def spy(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement.split(None, 1)[0].upper())

    async with pool() as session:
        engine = session.get_bind()
        event.listen(engine, "before_cursor_execute", spy)
        try:
            member, _changed = await record_sighting(session, sighting, now)
            await session.commit()
        finally:
            event.remove(engine, "before_cursor_execute", spy)
    return member, statements


async def test_a_sighting_costs_one_query_plus_what_it_writes(session_pool: SessionPool) -> None:
    sighting = Sighting(1, "Anna", "anna", "de")
    _member, statements = await _statements_of_sighting(session_pool, sighting, T0)
    assert statements == ["SELECT", "INSERT"]  # not read back after writing
    _member, statements = await _statements_of_sighting(session_pool, sighting, T0)
    assert statements == ["SELECT"]
    member, statements = await _statements_of_sighting(
        session_pool, sighting, T0 + LAST_SEEN_RESOLUTION
    )
    assert statements == ["SELECT", "UPDATE"]
    assert (member.roles, member.profile, member.last_seen_at) == (
        [],
        None,
        T0 + LAST_SEEN_RESOLUTION,
    )


async def test_a_member_found_by_the_sighting_can_be_changed_like_a_loaded_one(
    session_pool: SessionPool,
) -> None:
    await _record(session_pool, Sighting(1, "Anna", None, "de"), T0)
    async with session_pool() as session:
        member, changed = await record_sighting(session, Sighting(1, "Anna", None, "de"), T0)
        assert changed is False
        assert await session.get(Member, 1) is member
        await set_language(session, member, "en")
        await give_consent(session, member, first_name="Anna", username=None, now=T0)
        await session.commit()
    async with session_pool() as session:
        member, _changed = await record_sighting(session, Sighting(1, "Anna", None, "de"), T0)
        assert (member.language, member.first_name, member.consented) == ("en", "Anna", True)
        # Seen again in the same session: the same object, as session.get would return it.
        again, _changed = await record_sighting(session, Sighting(1, "Anna", None, "de"), T0)
        assert again is member
