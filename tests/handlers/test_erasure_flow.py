"""Erasing through the real dispatcher: a later /start begins as new, role holders are asked to
hand over first, and members who block the bot or leave every KV group are marked departed."""

from __future__ import annotations

from sqlalchemy import func, select

from bot.app import Application
from bot.services import erasure
from bot.telegram.views import privacy as privacy_views
from models import (
    Delivery,
    FsmRecord,
    Group,
    GroupHost,
    GroupType,
    KvProfile,
    Member,
    MemberRole,
    Profile,
    Role,
    ServedChat,
)
from tests.driver import BotDriver
from tests.fakebotapi import FakeBotAPI, FakeChat, FakeUser, SentMessage
from tests.members import signed_up


def _button(message: SentMessage, label: str) -> str:
    [data] = [data for text, data in message.buttons if label in text]
    return data


async def _member(app: Application, member_id: int) -> Member | None:
    async with app.session_pool() as session:
        return await session.get(Member, member_id)


async def _ask(driver: BotDriver, user: FakeUser, command: str, label: str) -> SentMessage:
    [privacy] = await driver.send(user, command)
    [ask] = await driver.press(user, privacy, _button(privacy, label))
    return ask


async def test_start_after_erasure_begins_as_new(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna", username="anna_k", language_code="de")
    await signed_up(app.session_pool, anna)
    async with app.session_pool() as session:
        member = await session.get(Member, anna.id)
        assert member is not None
        member.language = "en"  # her own choice, which must not survive
        await session.commit()
    # A conversation step under way: gone with the rest.
    await driver.send(anna, "/sprache")

    ask = await _ask(driver, anna, "/privacy", "Delete everything")
    assert [text for text, _data in ask.buttons] == ["Yes, delete everything", "Keep it"]
    assert await driver.press(anna, ask, _button(ask, "Yes, delete everything")) == []
    assert ask.text.startswith("Done. I deleted everything I knew about you.")

    # The middlewares of that same update wrote nothing back: no row names her.
    assert await _member(app, anna.id) is None
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(Profile)) == 0
        fsm = select(func.count()).select_from(FsmRecord).where(FsmRecord.user_id == anna.id)
        assert await session.scalar(fsm) == 0

    # /start: greeted as someone new, in Telegram's language, asked for consent again.
    [hello, consent] = await driver.send(anna, "/start")
    assert hello.text.startswith("Hallo Anna! 👋")
    assert "wieder da" not in hello.text
    assert consent.text.startswith("Bevor wir loslegen:")
    member = await _member(app, anna.id)
    assert member is not None
    assert (member.first_name, member.username, member.language) == (None, None, None)


async def test_a_second_press_finds_nothing_and_leaves_no_row(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    ben = fake_api.add_user(first_name="Ben", language_code="en")
    await signed_up(app.session_pool, ben)
    ask = await _ask(driver, ben, "/privacy", "Delete everything")
    erase = _button(ask, "Yes, delete everything")
    await driver.press(ben, ask, erase)
    assert await driver.press(ben, ask, erase) == []
    assert driver.last_answer()["text"] == "There was nothing to delete."
    # The stale press's own bookkeeping row went again.
    assert await _member(app, ben.id) is None


async def _host_of(app: Application, user: FakeUser, name: str) -> None:
    await signed_up(app.session_pool, user, role=Role.HOST)
    async with app.session_pool() as session:
        group = Group(key=name.lower().replace(" ", "-"), name=name, type=GroupType.STAMMTISCH)
        session.add(group)
        await session.flush()
        session.add(GroupHost(group_id=group.id, telegram_id=user.id))
        await session.commit()


async def test_a_host_is_asked_to_hand_over_first(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser
) -> None:
    hanna = fake_api.add_user(first_name="Hanna", language_code="de")
    await _host_of(app, hanna, "Stammtisch Nord")
    ask = await _ask(driver, hanna, "/datenschutz", "Alles löschen")
    assert ask.text.startswith("Bevor du alles löschst: Andere verlassen sich auf dich.")
    assert "Du bist Gastgeber:in von Stammtisch Nord." in ask.text
    assert "/meine_gruppen" in ask.text
    assert "Du bist Gastgeber:in im Bot. Ein Admin kann das jemand anderem geben (/rolle)." in (
        ask.text
    )
    assert [text for text, _data in ask.buttons] == ["Trotzdem löschen", "Nein, behalten"]

    await driver.press(hanna, ask, _button(ask, "Trotzdem löschen"))
    assert ask.text.startswith("Erledigt. Ich habe alles gelöscht")
    assert await _member(app, hanna.id) is None
    async with app.session_pool() as session:
        assert await session.scalar(select(func.count()).select_from(GroupHost)) == 0
        assert await session.scalar(select(func.count()).select_from(MemberRole)) == 0
        # Without organisers the admins hear that the group has no host.
        [lost] = await session.scalars(select(Delivery).where(Delivery.kind == erasure.HOST_LOST))
        assert lost.recipient_id == admin_user.id


async def test_yes_from_an_old_question_asks_a_new_host_to_hand_over(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    hanna = fake_api.add_user(first_name="Hanna", language_code="en")
    await signed_up(app.session_pool, hanna)
    ask = await _ask(driver, hanna, "/privacy", "Delete everything")
    # Meanwhile she became a host: the plain yes doesn't drop that silently.
    async with app.session_pool() as session:
        session.add(MemberRole(member_id=hanna.id, role=Role.HOST))
        await session.commit()
    await driver.press(hanna, ask, _button(ask, "Yes, delete everything"))
    assert ask.text.startswith("Before you delete everything: others rely on you.")
    assert [text for text, _data in ask.buttons] == ["Delete anyway", "Keep it"]
    assert await _member(app, hanna.id) is not None


async def test_an_admin_from_admin_ids_hears_the_bot_cant_change_that(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application, admin_user: FakeUser
) -> None:
    await signed_up(app.session_pool, admin_user)
    ask = await _ask(driver, admin_user, "/datenschutz", "Alles löschen")
    assert "Konfiguration des Bots als Admin eingetragen (ADMIN_IDS)" in ask.text
    await driver.press(admin_user, ask, _button(ask, "Trotzdem löschen"))
    assert await _member(app, admin_user.id) is None


# --- departed members ------------------------------------------------------------------------


async def _serve(app: Application, *groups: FakeChat) -> None:
    async with app.session_pool() as session:
        session.add(KvProfile(id=1, name="KV"))
        session.add_all(ServedChat(chat_id=group.id, title=group.title) for group in groups)
        await session.commit()


async def _departed(app: Application, user: FakeUser) -> bool:
    member = await _member(app, user.id)
    assert member is not None
    return member.departed_at is not None


async def test_blocking_the_bot_marks_departed_and_unblocking_clears_it(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    anna = fake_api.add_user(first_name="Anna")
    await signed_up(app.session_pool, anna)
    await driver.feed(await anna.block_bot())
    assert await _departed(app, anna)
    await driver.feed(await anna.unblock_bot())
    assert not await _departed(app, anna)


async def test_leaving_the_last_kv_group_marks_departed(
    driver: BotDriver, fake_api: FakeBotAPI, app: Application
) -> None:
    first, second = fake_api.add_group("KV Mitte"), fake_api.add_group("KV Nord")
    await _serve(app, first, second)
    anna = fake_api.add_user(first_name="Anna")
    await signed_up(app.session_pool, anna)
    await driver.feed(await anna.leave(first))
    assert not await _departed(app, anna)  # still in KV Nord (the bot asked)
    await driver.feed(await anna.leave(second))
    assert await _departed(app, anna)
    # Back in a KV group: no longer departed, and greeted as before.
    await driver.feed(await anna.join(first))
    assert not await _departed(app, anna)
    assert any("Anna" in (message.text or "") for message in fake_api.sent_to(first.id))


async def test_roles_held_names_only_what_the_member_holds(
    fake_api: FakeBotAPI, app: Application, admin_user: FakeUser
) -> None:
    hanna = fake_api.add_user(first_name="Hanna")
    await _host_of(app, hanna, "Stammtisch Nord")
    olli = fake_api.add_user(first_name="Olli")
    await signed_up(app.session_pool, olli)  # no username, hosts nothing
    async with app.session_pool() as session:
        assert not (await erasure.roles_held(session, olli.id, app.settings)).any
        held = await erasure.roles_held(session, hanna.id, app.settings)
        assert held.hosted_groups == ("Stammtisch Nord",)
        assert held.roles == {Role.HOST}
        admin = await erasure.roles_held(session, admin_user.id, app.settings)
        assert admin.configured_admin
        assert admin.any


async def test_the_host_lost_notice_in_german_and_english(app: Application) -> None:
    group = Group(key="nord", name="Stammtisch <Nord>", type=GroupType.STAMMTISCH)
    with app.i18n.context():
        with app.i18n.use_locale("de"):
            german, _ = privacy_views.host_lost(group)
        with app.i18n.use_locale("en"):
            english, _ = privacy_views.host_lost(group)
    assert german.startswith("<b>Stammtisch &lt;Nord&gt;</b> hat keine Gastgeber:in mehr")
    assert english.startswith("<b>Stammtisch &lt;Nord&gt;</b> has no host any more")
