"""/bericht (/report): organisers choose a period and get the report as a summary message, the
charts as photos, the figures as a CSV file and a printable PDF.

Only organisers and admins get this far (guards.guard, checked for the command, every button
and the typed period alike). A period button works once per menu: the menu's message id is
kept in the conversation's data, so a double tap (the second press is handled after the
first, one update per chat at a time) gets a short note instead of a second report; a forged
button fails the callback data's check and ends in the fallback's "no longer valid".

Not in the audit log, on purpose: the log records who read lists that name members or wrote
to them (bot.services.audit); a report names no one, counts only, small ones masked.

The figures are counted in the database; the transaction ends before the charts and the PDF
are drawn (matplotlib, CPU-bound, in a worker thread so the bot keeps answering others),
so no connection is held while they render.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import date

from aiogram import Bot, F, Router
from aiogram.enums import ChatAction
from aiogram.filters import Command, StateFilter
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.types import BufferedInputFile, CallbackQuery, InputMediaPhoto, Message
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.directory import kv_name
from bot.services.reports import period as periods
from bot.services.reports.figures import compute_report
from bot.services.reports.model import Period, Report
from bot.services.reports.period import PeriodError, parse_period
from bot.settings import Settings
from bot.telegram.callbacks import ReportCallback, ReportChoice
from bot.telegram.commands import REPORT
from bot.telegram.guards import guard, private_router
from bot.telegram.screens import Shown, show
from bot.telegram.views import report_files
from bot.telegram.views import reports as views
from models.base import utcnow

logger = logging.getLogger(__name__)

# The conversation data key holding the message id of the last menu a period was chosen in.
USED_MENU = "report_menu"
# Telegram's limit of photos in one media group.
MEDIA_GROUP_MAX = 10

_FIXED = {
    ReportChoice.LAST_30_DAYS: periods.last_30_days,
    ReportChoice.HALF_YEAR: periods.half_year,
    ReportChoice.PREVIOUS_HALF_YEAR: periods.previous_half_year,
}


class ReportFlow(StatesGroup):
    """The organiser was asked to type a period."""

    waiting_for_period = State()


def _today(settings: Settings) -> date:
    return utcnow().astimezone(settings.zone).date()


def _render(report: Report) -> tuple[list[tuple[str, bytes]], bytes]:
    """Charts and PDF: CPU-bound, run in a worker thread (it inherits the i18n context)."""
    # Thread-safe: the charts use matplotlib's object API, no pyplot state (bot.services.charts).
    return report_files.charts(report), report_files.pdf(report)


async def _send_photos(bot: Bot, chat_id: int, charts: list[tuple[str, bytes]]) -> None:
    if len(charts) == 1:
        [(name, png)] = charts
        await bot.send_photo(chat_id, BufferedInputFile(png, name))
        return
    for first in range(0, len(charts), MEDIA_GROUP_MAX):
        chunk = charts[first : first + MEDIA_GROUP_MAX]
        if len(chunk) == 1:
            await _send_photos(bot, chat_id, chunk)
            continue
        await bot.send_media_group(
            chat_id, [InputMediaPhoto(media=BufferedInputFile(png, name)) for name, png in chunk]
        )


async def _send_report(
    bot: Bot, chat_id: int, session: AsyncSession, settings: Settings, period: Period
) -> None:
    """Count, then send the summary, the charts, the CSV and the PDF."""
    await bot.send_chat_action(chat_id, ChatAction.UPLOAD_DOCUMENT)
    report = await compute_report(
        session,
        period=period,
        kv_name=await kv_name(session, settings.kv_name),
        tz=settings.zone,
        now=utcnow(),
    )
    # Reads only: end the transaction so no connection waits on the drawing below.
    await session.commit()
    await bot.send_message(chat_id, views.summary(report))
    charts, pdf = await asyncio.to_thread(_render, report)
    if charts:
        await _send_photos(bot, chat_id, charts)
    await bot.send_document(
        chat_id,
        BufferedInputFile(views.csv_bytes(report, settings.zone), views.file_name(report, "csv")),
    )
    await bot.send_document(chat_id, BufferedInputFile(pdf, views.file_name(report, "pdf")))
    logger.info(
        "report %s..%s sent (%d charts, %d bytes of PDF)",
        period.first_day,
        period.last_day,
        len(charts),
        len(pdf),
    )


async def report_command(message: Message, state: FSMContext) -> None:
    """/bericht: ask for the period (a conversation open until now ends, as with any command)."""
    await state.clear()
    text, keyboard = views.choose_period()
    await message.answer(text, reply_markup=keyboard)


async def period_pressed(
    query: CallbackQuery,
    callback_data: ReportCallback,
    message: Message,
    bot: Bot,
    session: AsyncSession,
    settings: Settings,
    state: FSMContext,
) -> None:
    """A period button: once per menu; "Other period …" asks for one to be typed."""
    if (await state.get_data()).get(USED_MENU) == message.message_id:
        await query.answer(views.already_sent())
        return
    await state.update_data({USED_MENU: message.message_id})
    await query.answer()
    if callback_data.choice == ReportChoice.CUSTOM:
        await state.set_state(ReportFlow.waiting_for_period)
        await show(message, views.ask_for_period())
        return
    period = _FIXED[callback_data.choice](_today(settings))
    await show(message, views.preparing(period))
    await _send_report(bot, message.chat.id, session, settings, period)


async def period_typed(
    message: Message, bot: Bot, session: AsyncSession, settings: Settings, state: FSMContext
) -> None:
    """The typed period: the report, or why not and the invitation to try again."""
    try:
        period = parse_period(message.text or "", _today(settings))
    except PeriodError as error:
        await message.answer(views.period_problem(error.reason))
        return
    await state.set_state(None)
    await message.answer(views.preparing(period))
    await _send_report(bot, message.chat.id, session, settings, period)


def create_router() -> Router:
    """/bericht, its period buttons and the typed period, for organisers and admins only."""
    router = private_router(__name__)
    router.message.register(report_command, Command(*REPORT.aliases))
    router.callback_query.register(period_pressed, ReportCallback.filter(), Shown())
    router.message.register(
        period_typed,
        StateFilter(ReportFlow.waiting_for_period),
        F.text,
        ~F.text.startswith("/"),
    )
    return guard(
        router,
        roles=REPORT.roles,
        refusal=views.refusal,
        commands=[REPORT],
        callbacks=[ReportCallback],
        states=[ReportFlow],
    )
