"""Surveys: organisers compose and follow them (/umfrage, guarded), members answer them.

Two routers: planning for organisers only (bot.telegram.guards.guard: one role filter, one
refusal), answering for every member (the services check survey, audience and options). The
services' refusals are explained in one place each.
"""

from __future__ import annotations

from aiogram import Router

from bot.services.audience import UnknownSegmentError
from bot.services.broadcasts import ScheduleError
from bot.services.survey_draft import SurveyInputError
from bot.services.surveys import SurveyError
from bot.telegram.callbacks import SurveyPlanCallback
from bot.telegram.commands import SURVEY
from bot.telegram.guards import explain, guard, private_router
from bot.telegram.screens import Shown
from bot.telegram.views import broadcast_draft as draft_views
from bot.telegram.views import survey_planning as planning_views
from bot.telegram.views import surveys as views
from handlers.surveys import answering, planning


def create_router() -> Router:
    """Surveys in the private chat: answering for all, composing guarded by the role."""
    feature = private_router(__name__)
    feature.callback_query.filter(Shown())
    composing = private_router(f"{__name__}.planning")
    composing.include_router(planning.create_router())
    feature.include_routers(
        answering.create_router(),
        guard(
            composing,
            roles=SURVEY.roles,
            refusal=planning_views.no_permission,
            commands=[SURVEY],
            callbacks=[SurveyPlanCallback],
            states=[planning.SurveyPlanFlow],
        ),
    )
    # A refused answer is a real refusal of what was pressed: an alert (a message: a reply).
    explain(feature, SurveyError, views.survey_error_text, alert=True)
    explain(feature, SurveyInputError, planning_views.input_error_text)
    # The end date and the audience are typed and chosen as for broadcasts.
    explain(feature, ScheduleError, draft_views.schedule_error_text)
    explain(feature, UnknownSegmentError, draft_views.segment_error_text, alert=True)
    return feature


__all__ = ["create_router"]
