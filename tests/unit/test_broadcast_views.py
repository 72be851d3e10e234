"""How broadcasts read: plural forms, local times."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from aiogram.utils.i18n import I18n

from bot.i18n import create_i18n
from bot.services.audience import Reach
from bot.services.broadcast_draft import Draft
from bot.telegram.views import broadcast_draft as draft_views
from models import Category

BERLIN = ZoneInfo("Europe/Berlin")
AT = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n("de")


@pytest.mark.parametrize(
    ("count", "german", "english"),
    [
        (1, "Damit erreichst du <b>1</b> Mitglied.", "With this you reach <b>1</b> member."),
        (2, "Damit erreichst du <b>2</b> Mitglieder.", "With this you reach <b>2</b> members."),
    ],
)
def test_the_reach_has_plural_forms(i18n: I18n, count: int, german: str, english: str) -> None:
    reach = Reach(list(range(count)), [], 0)
    with i18n.context(), i18n.use_locale("de"):
        assert draft_views.reach_line(reach) == german
    with i18n.context(), i18n.use_locale("en"):
        assert draft_views.reach_line(reach) == english


@pytest.mark.parametrize(
    ("count", "left_out", "confirm"),
    [
        (
            1,
            "1 Mitglied hat Ankündigungen abgeschaltet. "
            "1 Mitglied ist nicht erreichbar (hat den Bot blockiert).",
            "eine Nachricht jetzt an <b>1</b> Mitglied senden?",
        ),
        (
            2,
            "2 Mitglieder haben Ankündigungen abgeschaltet. "
            "2 Mitglieder sind nicht erreichbar (haben den Bot blockiert).",
            "eine Nachricht jetzt an <b>2</b> Mitglieder senden?",
        ),
    ],
)
def test_counts_and_nouns_agree_in_german(
    i18n: I18n, count: int, left_out: str, confirm: str
) -> None:
    reach = Reach([], list(range(count)), count)
    draft = Draft(1, 2, "text")
    with i18n.context(), i18n.use_locale("de"):
        assert draft_views.left_out_text(reach, Category.ANNOUNCEMENTS) == left_out
        text, _keyboard = draft_views.confirm(count, draft, BERLIN)
    assert text.startswith(confirm)


def test_a_scheduled_confirmation_names_the_local_time(i18n: I18n) -> None:
    draft = Draft(1, 2, "text", "Frohe Feiertage").scheduled(AT)
    with i18n.context(), i18n.use_locale("de"):
        text, _keyboard = draft_views.confirm(1, draft, BERLIN)
    assert text.startswith("“Frohe Feiertage” am Do., 24. Dez., 18:00 an <b>1</b> Mitglied senden?")
