"""How broadcasts read: progress with the unreachable counted apart, plural forms."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiogram.utils.i18n import I18n

from bot.i18n import create_i18n
from bot.services.audience import Reach
from bot.services.broadcast_draft import Draft
from bot.services.broadcasts import Progress
from bot.telegram.views import broadcast as views
from bot.telegram.views import broadcast_draft as draft_views
from models import Broadcast, BroadcastStatus, Category

BERLIN = ZoneInfo("Europe/Berlin")
AT = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def i18n() -> I18n:
    return create_i18n("de")


def _broadcast(status: BroadcastStatus) -> Broadcast:
    # 1.443 rows: 15 members had blocked the bot before it started.
    return Broadcast(id=7, status=status, total=1443, unreachable=15, opted_out=0)


def _progress(*, sent: int, blocked: int, open_rows: int) -> Progress:
    return Progress(
        total=1443,
        sent=sent,
        blocked=blocked,
        failed=0,
        cancelled=0,
        open=open_rows,
        rate=25.0,
        remaining=timedelta(seconds=open_rows // 25),
    )


def test_running_progress_counts_the_known_unreachable_apart(i18n: I18n) -> None:
    progress = _progress(sent=600, blocked=15, open_rows=828)
    with i18n.context(), i18n.use_locale("de"):
        text = views.progress_text(_broadcast(BroadcastStatus.SENDING), progress)
    assert text.startswith("<b>Rundschreiben #7 geht raus</b>")
    assert "600 von 1.428" in text
    assert "Zugestellt: 600" in text
    assert "Nicht erreichbar (Bot blockiert): 15" in text


def test_finished_progress_says_so(i18n: I18n) -> None:
    progress = _progress(sent=1428, blocked=15, open_rows=0)
    broadcast = _broadcast(BroadcastStatus.DONE)
    with i18n.context(), i18n.use_locale("de"):
        german = views.progress_text(broadcast, progress)
    with i18n.context(), i18n.use_locale("en"):
        english = views.progress_text(broadcast, progress)
    assert german.startswith("<b>Rundschreiben #7 ist verschickt</b>")
    assert "Fertig: 1.428 zugestellt, 15 nicht erreichbar (Bot blockiert)" in german
    assert "geht raus" not in german
    assert "1.443" not in german
    assert "Finished: 1,428 delivered, 15 unreachable (blocked the bot)" in english


@pytest.mark.parametrize(
    ("count", "german", "english"),
    [
        (1, "Damit erreichst du <b>1</b> Mitglied.", "With this you reach <b>1</b> member."),
        (2, "Damit erreichst du <b>2</b> Mitglieder.", "With this you reach <b>2</b> members."),
    ],
)
def test_the_reach_has_plural_forms(i18n: I18n, count: int, german: str, english: str) -> None:
    reach = Reach(count, 0, 0)
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
    reach = Reach(0, count, count)
    draft = Draft(1, 2, "text")
    with i18n.context(), i18n.use_locale("de"):
        assert draft_views.left_out_text(reach, Category.ANNOUNCEMENTS) == left_out
        text, _keyboard = draft_views.confirm(count, draft, BERLIN)
    assert text.startswith(confirm)


def test_a_scheduled_confirmation_names_the_local_time(i18n: I18n) -> None:
    draft = Draft(1, 2, "text", "Frohe Feiertage").scheduled(AT)
    with i18n.context(), i18n.use_locale("de"):
        text, _keyboard = draft_views.confirm(1, draft, BERLIN)
    assert text.startswith("„Frohe Feiertage“ am Do., 24. Dez., 18:00 an <b>1</b> Mitglied senden?")
