"""The organisers' newcomer digest: counts, then the newest few by name, a page at a time.

One message whatever the number of newcomers: the counts take a handful of lines (the largest
Stadtteile; the weeks since joining), a page names at most PAGE_SIZE newcomers with a
"write" button each, and two paging buttons edit the message to the next page. With names of
at most 64 and Stadtteile of at most 100 characters it stays far under 4,096 characters and
100 buttons.
"""

from __future__ import annotations

from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import ngettext

from bot.services.newcomer_digest import DIGEST_WEEKS, DigestPage, Newcomer
from bot.telegram.callbacks import DigestCallback
from bot.telegram.format import esc, number

SEPARATOR = " · "


def _weeks(weeks: int) -> str:
    return ngettext("{weeks} week", "{weeks} weeks", weeks).format(weeks=number(weeks))


def _line(newcomer: Newcomer) -> str:
    if newcomer.first_name:
        label = _("<b>{name}</b> (ID {id})").format(name=esc(newcomer.first_name), id=newcomer.id)
    else:
        label = _("ID {id}").format(id=newcomer.id)
    return f"• {label}{SEPARATOR}{_weeks(newcomer.weeks)}"


def _counts(page: DigestPage) -> list[str]:
    by_district = [f"{esc(name)}: {number(count)}" for name, count in page.districts]
    if page.other_districts:
        by_district.append(
            _("other Stadtteile: {count}").format(count=number(page.other_districts))
        )
    if page.no_district:
        by_district.append(_("no Stadtteil: {count}").format(count=number(page.no_district)))
    by_age = [f"{_weeks(weeks)}: {number(count)}" for weeks, count in page.weeks]
    return [
        _("<b>By Stadtteil:</b> {counts}").format(counts=SEPARATOR.join(by_district)),
        _("<b>Weeks since joining:</b> {counts}").format(counts=SEPARATOR.join(by_age)),
    ]


def _keyboard(page: DigestPage) -> InlineKeyboardMarkup | None:
    rows = [
        [
            InlineKeyboardButton(
                text=_("Write to {name}").format(name=newcomer.first_name or newcomer.id),
                url=f"tg://user?id={newcomer.id}",
            )
        ]
        for newcomer in page.newcomers
    ]
    paging = []
    if page.page > 0:
        paging.append(
            InlineKeyboardButton(
                text=_("« Newer"), callback_data=DigestCallback(page=page.page - 1).pack()
            )
        )
    if page.page + 1 < page.pages:
        paging.append(
            InlineKeyboardButton(
                text=_("Older »"), callback_data=DigestCallback(page=page.page + 1).pack()
            )
        )
    if paging:
        rows.append(paging)
    return InlineKeyboardMarkup(inline_keyboard=rows) if rows else None


def newcomer_digest(page: DigestPage) -> tuple[str, InlineKeyboardMarkup | None]:
    """The digest as one message: who has been with us NEWCOMER_DAYS or more (and at most
    DIGEST_WEEKS more) without a group, counted, and one page of them with a button to write
    each and buttons to page on."""
    title = _("<b>Newcomers without a group</b> ({count})").format(count=number(page.total))
    if not page.total:
        nobody = ngettext(
            "Nobody is waiting right now: every newcomer of the last {weeks} week has found a "
            "group or isn't with us any more.",
            "Nobody is waiting right now: every newcomer of the last {weeks} weeks has found a "
            "group or isn't with us any more.",
            DIGEST_WEEKS,
        ).format(weeks=DIGEST_WEEKS)
        return f"{title}\n{nobody}", None
    # Two plurals in one sentence (people and days) need two messages: the period first.
    period = ngettext("for {days} day or more", "for {days} days or more", page.days).format(
        days=page.days
    )
    intro = ngettext(
        "This newcomer has been with us {period} and hasn't joined a group yet. "
        "A personal message often helps.",
        "These newcomers have been with us {period} and haven't joined a group yet. "
        "A personal message often helps.",
        page.total,
    ).format(period=period)
    bounded = ngettext(
        "Listed for {weeks} week from then; the newest first.",
        "Listed for {weeks} weeks from then; the newest first.",
        DIGEST_WEEKS,
    ).format(weeks=DIGEST_WEEKS)
    last = page.first_position + len(page.newcomers) - 1
    heading = _("<b>Newest {first}–{last} of {total}:</b>").format(
        first=number(page.first_position), last=number(last), total=number(page.total)
    )
    lines = [
        title,
        f"{intro} {bounded}",
        "",
        *_counts(page),
        "",
        heading,
        *(_line(newcomer) for newcomer in page.newcomers),
    ]
    return "\n".join(lines), _keyboard(page)


def page_gone() -> str:
    """A press on a page past the end (fewer newcomers wait now than when it was sent)."""
    return _("Fewer newcomers are waiting now; here is the last page.")


def refusal() -> str:
    """A page button pressed by someone who is (no longer) an organiser or admin."""
    return _("Sorry, only organisers can page through the newcomer digest.")
