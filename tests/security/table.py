"""The permission table: every command and every button action, and the weakest role that may
use it. Everyone weaker must get a polite refusal and change nothing.

A row is `key: (minimal role, trigger)`. Keys are "/command" (the German name; the English
one is the same handler), "prefix:action" for a button, and "group …" for what happens in a
group chat. The trigger says what the person sends, made from the world's ids, so a press
reaches the checks instead of "not found".
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from aiogram.filters.callback_data import CallbackData

from bot.telegram import callbacks as cb
from models import Category, Role
from tests.security.world import Who, World


@dataclass(frozen=True)
class Trigger:
    """A message (`text`) or a button press (`data`), in the private chat or the group chat."""

    text: str | None = None
    data: str | None = None
    in_group: bool = False


Make = Callable[[World], Trigger]


def command(text: str | Callable[[World], str], *, in_group: bool = False) -> Make:
    """Send `text` (a command with its arguments; a callable makes it from the world)."""
    return lambda w: Trigger(text=text(w) if callable(text) else text, in_group=in_group)


def press(factory: type[CallbackData], in_group: bool = False, **fields: Any) -> Make:
    """Press a button of `factory`; field values may be callables of the world."""

    def make(w: World) -> Trigger:
        values = {k: (v(w) if callable(v) else v) for k, v in fields.items()}
        return Trigger(data=factory(**values).pack(), in_group=in_group)

    return make


S, U, M, HO, H, ORG, A = (
    Who.STRANGER,
    Who.UNCONSENTED,
    Who.MEMBER,
    Who.HOST_OTHER,
    Who.HOST,
    Who.ORGANISER,
    Who.ADMIN,
)


def _group(w: World) -> int:
    return w.group_id


def _meeting(w: World) -> int:
    return w.meeting_id


def _ho(action: cb.HostAction, **extra: Any) -> Make:
    fields: dict[str, Any] = {"group_id": _group, "meeting_id": _meeting, **extra}
    return press(cb.HostCallback, action=action, **fields)


def _gr(action: cb.GroupAction, **extra: Any) -> Make:
    return press(cb.GroupCallback, action=action, **{"group_id": _group, **extra})


def _fa(act: cb.ActionAct) -> Make:
    return press(
        cb.ActionCallback, act=act, date_id=lambda w: w.date_id, shift_id=lambda w: w.shift_id
    )


def _fp(act: cb.PlanAct, value: int = 0) -> Make:
    return press(
        cb.PlanCallback,
        act=act,
        date_id=lambda w: w.date_id,
        shift_id=lambda w: w.shift_id,
        member_id=lambda w: w.people[Who.HOST].id,
        value=value,
    )


def _ar(act: cb.ResultAct, **extra: Any) -> Make:
    return press(cb.ResultCallback, act=act, shift_id=lambda w: w.shift_id, **extra)


def _bc(action: cb.BroadcastAction, dim: cb.AudienceKind | None = None, value: Any = 0) -> Make:
    return press(cb.BroadcastCallback, action=action, dim=dim, value=value)


def _broadcast(action: cb.BroadcastAction) -> Make:
    return _bc(action, value=lambda w: w.broadcast_id)


def _in(step: cb.IntakeStep, action: cb.IntakeAction, value: Any = 0) -> Make:
    return press(cb.IntakeCallback, step=step, action=action, value=value)


HA, GA, IA, IS = cb.HostAction, cb.GroupAction, cb.IntakeAction, cb.IntakeStep
BA, AK, FA, PA, RA = cb.BroadcastAction, cb.AudienceKind, cb.ActionAct, cb.PlanAct, cb.ResultAct

# Who may: the weakest role (and everyone above), or exactly these roles.
Allowed = Who | frozenset[Who]
NOBODY: frozenset[Who] = frozenset()

TABLE: dict[str, tuple[Allowed, Make]] = {
    # --- commands in the private chat
    "/start": (S, command("/start")),
    "/hilfe": (S, command("/hilfe")),
    "/sprache": (S, command("/sprache")),
    "/abbrechen": (S, command("/abbrechen")),
    "/profil": (M, command("/profil")),
    "/gruppen": (S, command("/gruppen")),
    "/termine": (S, command("/termine")),
    "/kalender": (M, command("/kalender")),
    "/einladen": (M, command("/einladen")),
    "/aktionen": (S, command("/aktionen")),
    "/aktionen_planen": (ORG, command("/aktionen_planen")),
    "/gedenktage": (S, command("/gedenktage")),
    "/kv": (S, command("/kv")),
    "/datenschutz": (S, command("/datenschutz")),
    "/einstellungen": (S, command("/einstellungen")),
    "/meine_gruppen": (HO, command("/meine_gruppen")),
    "/rundschreiben": (ORG, command("/rundschreiben")),
    "/umfrage": (ORG, command("/umfrage")),
    "/rolle": (A, command(lambda w: f"/rolle {w.people[Who.MEMBER].id}")),
    "/rollen": (A, command("/rollen")),
    "/protokoll": (A, command("/protokoll")),
    "/bericht": (ORG, command("/bericht")),
    # --- in the group chat
    # Nobody acts on these: everyone gets the fallback's polite pointer to /hilfe.
    "/unbekannt": (NOBODY, command("/unbekannt 12")),
    "text": (NOBODY, command("Hallo, was kannst du?")),
    "group /willkommen": (ORG, command("/willkommen", in_group=True)),
    "group /willkommen aus": (ORG, command("/willkommen aus", in_group=True)),
    "group /willkommen an": (ORG, command("/willkommen an", in_group=True)),
    "group /willkommen standard": (ORG, command("/willkommen standard", in_group=True)),
    "group /willkommen text": (ORG, command("/willkommen text Hallo {names}!", in_group=True)),
    "group /termine": (S, command("/termine", in_group=True)),
    "group rv1:y": (M, press(cb.RsvpCallback, True, action=cb.RsvpAction.YES, meeting_id=_meeting)),
    "group rv1:s": (
        S,
        press(cb.RsvpCallback, True, action=cb.RsvpAction.SHOW, meeting_id=_meeting),
    ),
    # --- buttons
    "lang1:de": (S, press(cb.LanguageCallback, code="de")),
    "role1:grant": (
        A,
        press(
            cb.RoleCallback, member_id=lambda w: w.people[Who.MEMBER].id, role=Role.HOST, grant=True
        ),
    ),
    "role1:revoke": (
        A,
        press(
            cb.RoleCallback, member_id=lambda w: w.people[Who.HOST].id, role=Role.HOST, grant=False
        ),
    ),
    "au1:page": (A, press(cb.AuditCallback, page=1)),
    "nd1:page": (ORG, press(cb.DigestCallback, page=1)),
    # Re-engagement: the call list for organisers; the check-in's buttons are anyone's to press
    # (the handler answers "no longer valid" unless the check-in is the presser's own).
    "/ruhige": (ORG, command("/ruhige")),
    "cl1:": (ORG, press(cb.CallListCallback, page=1)),
    "ci1:s": (S, press(cb.CheckInCallback, act=cb.CheckInAct.SHOW, member_id=1, quarter="2026Q4")),
    "ci1:l": (S, press(cb.CheckInCallback, act=cb.CheckInAct.LATER, member_id=1, quarter="2026Q4")),
    "ci1:f": (S, press(cb.CheckInCallback, act=cb.CheckInAct.FEWER, member_id=1, quarter="2026Q4")),
    "pz1:2w": (S, press(cb.PauseCallback, act=cb.PauseAct.TWO_WEEKS)),
    "pz1:1m": (S, press(cb.PauseCallback, act=cb.PauseAct.ONE_MONTH)),
    "pz1:3m": (S, press(cb.PauseCallback, act=cb.PauseAct.THREE_MONTHS)),
    "pz1:d": (S, press(cb.PauseCallback, act=cb.PauseAct.DATE)),
    "pz1:e": (S, press(cb.PauseCallback, act=cb.PauseAct.END)),
    "cc1:y": (M, press(cb.CallConsentCallback, act=cb.CallConsentAct.GIVE)),
    "cc1:n": (S, press(cb.CallConsentCallback, act=cb.CallConsentAct.REVOKE)),
    "rep1:30d": (ORG, press(cb.ReportCallback, choice=cb.ReportChoice.LAST_30_DAYS)),
    "rep1:c": (ORG, press(cb.ReportCallback, choice=cb.ReportChoice.CUSTOM)),
    "cons1:1": (frozenset({S, U}), press(cb.ConsentCallback, action=cb.ConsentAction.AGREE)),
    "cons1:0": (frozenset({S, U}), press(cb.ConsentCallback, action=cb.ConsentAction.NOT_NOW)),
    "in1:on": (M, _in(IS.TOPICS, IA.ON, lambda w: w.topic_id)),
    "in1:off": (M, _in(IS.TOPICS, IA.OFF, lambda w: w.topic_id)),
    "in1:choose": (M, _in(IS.DISTRICT, IA.CHOOSE, lambda w: w.district_id)),
    "in1:next": (M, _in(IS.TOPICS, IA.NEXT)),
    "in1:skip": (M, _in(IS.TOPICS, IA.SKIP)),
    "in1:back": (M, _in(IS.DISTRICT, IA.BACK)),
    "in1:edit": (M, _in(IS.SUMMARY, IA.EDIT, 1)),
    "in1:done": (M, _in(IS.SUMMARY, IA.DONE)),
    "in1:resume": (M, _in(IS.REMINDER, IA.RESUME)),
    "gr1:join": (S, _gr(GA.JOIN)),
    "gr1:details": (S, _gr(GA.DETAILS)),
    "gr1:more": (M, _gr(GA.MORE, page=1)),
    "gr1:found": (S, _gr(GA.FOUND)),
    "gr1:office": (M, _gr(GA.OFFICE)),
    "gr1:browse": (S, _gr(GA.BROWSE)),
    "gr1:menu": (S, _gr(GA.MENU)),
    "gr1:kinds": (S, _gr(GA.KINDS)),
    "gr1:dists": (S, _gr(GA.DISTRICTS)),
    "gr1:topics": (S, _gr(GA.TOPICS)),
    "gr1:all": (S, _gr(GA.ALL)),
    "gr1:type": (S, _gr(GA.BY_TYPE, group_id=0)),
    "gr1:dist": (S, _gr(GA.BY_DISTRICT, group_id=lambda w: w.district_id)),
    "gr1:topic": (S, _gr(GA.BY_TOPIC, group_id=lambda w: w.topic_id)),
    "gr1:mine": (S, _gr(GA.MINE)),
    "gr1:mineh": (S, _gr(GA.MINE_HERE)),
    "gr1:leave": (M, _gr(GA.LEAVE)),
    "gr1:leaveok": (M, _gr(GA.LEAVE_OK)),
    "ke1:now": (M, press(cb.KeptCallback, action=cb.KeptAction.NOW)),
    "fo1:d": (M, press(cb.FoundingCallback, step=cb.FoundingStep.DISTRICT, value=0)),
    "fo1:p": (M, press(cb.FoundingCallback, step=cb.FoundingStep.PLACE)),
    "fo1:r": (M, press(cb.FoundingCallback, step=cb.FoundingStep.RHYTHM)),
    "gp1:a": (
        ORG,
        press(
            cb.ProposalCallback,
            action=cb.ProposalAction.APPROVE,
            proposal_id=lambda w: w.proposal_id,
        ),
    ),
    "gp1:d": (
        ORG,
        press(
            cb.ProposalCallback,
            action=cb.ProposalAction.DECLINE,
            proposal_id=lambda w: w.proposal_id,
        ),
    ),
    "kv1:contents": (S, press(cb.GuideCallback, section_id=cb.GUIDE_CONTENTS)),
    "kv1:section": (S, press(cb.GuideCallback, section_id=lambda w: w.section_id)),
    "pr1:show": (S, press(cb.PrivacyCallback, action=cb.PrivacyAction.SHOW)),
    "pr1:ask": (S, press(cb.PrivacyCallback, action=cb.PrivacyAction.ASK)),
    "pr1:erase": (S, press(cb.PrivacyCallback, action=cb.PrivacyAction.ERASE)),
    "pr1:keep": (S, press(cb.PrivacyCallback, action=cb.PrivacyAction.KEEP)),
    "pr1:dl": (S, press(cb.PrivacyCallback, action=cb.PrivacyAction.DOWNLOAD)),
    "pr1:wask": (S, press(cb.PrivacyCallback, action=cb.PrivacyAction.WITHDRAW_ASK)),
    "pr1:wd": (S, press(cb.PrivacyCallback, action=cb.PrivacyAction.WITHDRAW)),
    "pr1:erase_all": (S, press(cb.PrivacyCallback, action=cb.PrivacyAction.ERASE_ALL)),
    "bc1:new": (ORG, _bc(BA.NEW)),
    "bc1:dim": (ORG, _bc(BA.PAGE, AK.DISTRICTS)),
    "bc1:add": (ORG, _bc(BA.ADD, AK.DISTRICTS, lambda w: w.district_id)),
    "bc1:rm": (ORG, _bc(BA.REMOVE, AK.DISTRICTS, lambda w: w.district_id)),
    "bc1:clear": (ORG, _bc(BA.CLEAR, AK.DISTRICTS)),
    "bc1:all": (ORG, _bc(BA.EVERYONE)),
    "bc1:home": (ORG, _bc(BA.HOME)),
    "bc1:cat": (ORG, _bc(BA.KINDS)),
    "bc1:kind": (ORG, _bc(BA.KIND, value=0)),
    "bc1:now": (ORG, _bc(BA.NOW)),
    "bc1:later": (ORG, _bc(BA.LATER)),
    "bc1:go": (ORG, _bc(BA.SEND, value=0)),
    "bc1:drop": (ORG, _bc(BA.DISCARD)),
    "bc1:stop": (ORG, _broadcast(BA.STOP)),
    "bc1:stopok": (ORG, _broadcast(BA.STOP_CONFIRMED)),
    "bc1:keep": (ORG, _broadcast(BA.KEEP)),
    "bc1:who": (ORG, _broadcast(BA.WHO)),
    "bc1:report": (ORG, _broadcast(BA.REPORT)),
    # Surveys: anyone may press a member's survey button (the service checks survey, audience
    # and options: there is no survey 1 here, so everyone gets "doesn't exist" or "stale");
    # composing is for organisers.
    **{
        f"sv1:{action.value}": (S, press(cb.SurveyCallback, action=action, survey=1))
        for action in cb.SurveyAction
    },
    **{
        f"so1:{action.value}": (
            ORG,
            press(
                cb.SurveyPlanCallback,
                action=action,
                dim=cb.AudienceKind.DISTRICTS,
                value=lambda w: w.district_id,
            ),
        )
        for action in cb.SurveyPlanAction
    },
    "set1:open": (S, press(cb.SettingsCallback, action=cb.SettingsAction.OPEN)),
    "set1:off": (
        S,
        press(cb.SettingsCallback, action=cb.SettingsAction.OFF, category=Category.ANNOUNCEMENTS),
    ),
    "set1:on": (
        S,
        press(cb.SettingsCallback, action=cb.SettingsAction.ON, category=Category.ANNOUNCEMENTS),
    ),
    "rem1:on": (M, press(cb.ReminderCallback, action=cb.ReminderAction.ON, minutes=60)),
    "rem1:off": (M, press(cb.ReminderCallback, action=cb.ReminderAction.OFF, minutes=60)),
    "rem1:none": (M, press(cb.ReminderCallback, action=cb.ReminderAction.NONE)),
    "rv1:y": (S, press(cb.RsvpCallback, action=cb.RsvpAction.YES, meeting_id=_meeting)),
    "rv1:m": (S, press(cb.RsvpCallback, action=cb.RsvpAction.MAYBE, meeting_id=_meeting)),
    "rv1:n": (S, press(cb.RsvpCallback, action=cb.RsvpAction.NO, meeting_id=_meeting)),
    "rv1:g": (S, press(cb.RsvpCallback, action=cb.RsvpAction.GUESTS, meeting_id=_meeting, value=1)),
    "rv1:s": (M, press(cb.RsvpCallback, action=cb.RsvpAction.SHOW, meeting_id=_meeting)),
    "ho1:groups": (HO, _ho(HA.GROUPS)),
    "ho1:group": (H, _ho(HA.GROUP)),
    "ho1:meeting": (H, _ho(HA.MEETING)),
    "ho1:post": (H, _ho(HA.POST)),
    "ho1:add": (H, _ho(HA.ADD)),
    "ho1:aday": (H, _ho(HA.ADD_DAY, value=lambda w: w.extra["tomorrow"])),
    "ho1:atime": (H, _ho(HA.ADD_TIME, value=lambda w: w.extra["tomorrow"] * 1440 + 20 * 60)),
    "ho1:atype": (H, _ho(HA.ADD_TYPED)),
    "ho1:cap": (H, _ho(HA.CAPACITY)),
    "ho1:note": (H, _ho(HA.NOTE)),
    "ho1:move": (H, _ho(HA.MOVE)),
    "ho1:cancel": (H, _ho(HA.CANCEL)),
    "ho1:cancelok": (H, _ho(HA.CANCEL_OK)),
    "ho1:msg": (H, _ho(HA.MESSAGE)),
    "ho1:msgok": (H, _ho(HA.MESSAGE_SEND)),
    "ho1:pause": (H, _ho(HA.PAUSE)),
    "ho1:pausenl": (H, _ho(HA.PAUSE_NO_LABEL)),
    "ho1:end": (H, _ho(HA.END)),
    "ho1:endok": (H, _ho(HA.END_OK)),
    "ho1:notice": (HO, _ho(HA.NOTICE)),
    "ho1:nset": (HO, _ho(HA.NOTICE_SET, value=1)),
    "ho1:hand": (frozenset({H}), _ho(HA.HANDOVER)),
    "ho1:hpick": (frozenset({H}), _ho(HA.HANDOVER_PICK, value=lambda w: w.people[Who.MEMBER].id)),
    "ho1:hyes": (ORG, _ho(HA.HANDOVER_YES, value=lambda w: w.handover_id)),
    "ho1:hno": (ORG, _ho(HA.HANDOVER_NO, value=lambda w: w.handover_id)),
    "cal1:file": (M, press(cb.CalendarCallback, action=cb.CalendarAction.FILE)),
    "cal1:meet": (
        S,
        press(cb.CalendarCallback, action=cb.CalendarAction.MEETING, item_id=_meeting),
    ),
    "cal1:shift": (
        M,
        press(cb.CalendarCallback, action=cb.CalendarAction.SHIFT, item_id=lambda w: w.shift_id),
    ),
    "cal1:gd": (
        S,
        press(
            cb.CalendarCallback,
            action=cb.CalendarAction.MEMORIAL,
            item_id=lambda w: w.memorial_date_id,
        ),
    ),
    "cal1:link": (M, press(cb.CalendarCallback, action=cb.CalendarAction.LINK)),
    "cal1:new": (M, press(cb.CalendarCallback, action=cb.CalendarAction.RENEW)),
    "fa1:list": (S, _fa(FA.LIST)),
    "fa1:date": (S, _fa(FA.DATE)),
    "fa1:in": (M, _fa(FA.SIGN_UP)),
    "fa1:out": (M, _fa(FA.CANCEL)),
    "fa1:outok": (M, _fa(FA.CANCEL_OK)),
    "fa1:swap": (M, _fa(FA.SWAP)),
    "fa1:swapno": (M, _fa(FA.SWAP_WITHDRAW)),
    "fa1:take": (M, _fa(FA.SWAP_TAKE)),
    "fa1:mine": (M, _fa(FA.MINE)),
    "fp1:menu": (ORG, _fp(PA.MENU)),
    "fp1:staff": (ORG, _fp(PA.STAFFING)),
    "fp1:date": (ORG, _fp(PA.DATE)),
    "fp1:shift": (ORG, _fp(PA.SHIFT)),
    "fp1:need": (ORG, _fp(PA.NEEDED, 5)),
    "fp1:cancel": (ORG, _fp(PA.CANCEL_DATE)),
    "fp1:cancelok": (ORG, _fp(PA.CANCEL_DATE_OK)),
    "fp1:new": (ORG, _fp(PA.NEW)),
    "fp1:kind": (ORG, _fp(PA.KIND)),
    "fp1:dist": (ORG, _fp(PA.DISTRICT)),
    "fp1:camp": (ORG, _fp(PA.CAMPAIGN)),
    "fp1:preset": (ORG, _fp(PA.PRESET)),
    "fp1:skip": (ORG, _fp(PA.SKIP)),
    "fp1:save": (ORG, _fp(PA.SAVE)),
    "fp1:planners": (ORG, _fp(PA.PLANNERS)),
    "fp1:planner": (ORG, _fp(PA.PLANNER, 1)),
    "ar1:open": (M, _ar(RA.OPEN)),
    "ar1:q": (M, _ar(RA.QUICK, value=5)),
    "ar1:qs": (M, _ar(RA.QUICK_SAVE, value=5)),
    "ar1:f": (M, _ar(RA.FOCUS)),
    "ar1:set": (M, _ar(RA.SET, value=3)),
    "ar1:add": (M, _ar(RA.ADD, value=1)),
    "ar1:topic": (M, _ar(RA.TOPIC, value=lambda w: w.topic_id)),
    "ar1:ton": (M, _ar(RA.TOPIC_ON, value=lambda w: w.topic_id)),
    "ar1:toff": (M, _ar(RA.TOPIC_OFF, value=lambda w: w.topic_id)),
    "ar1:page": (M, _ar(RA.PAGE)),
    "ar1:save": (M, _ar(RA.SAVE)),
    "gd1:y": (
        M,
        press(cb.MemorialCallback, act=cb.MemorialAct.YES, date_id=lambda w: w.memorial_date_id),
    ),
    "gd1:m": (
        M,
        press(cb.MemorialCallback, act=cb.MemorialAct.MAYBE, date_id=lambda w: w.memorial_date_id),
    ),
    "gd1:n": (
        M,
        press(cb.MemorialCallback, act=cb.MemorialAct.NO, date_id=lambda w: w.memorial_date_id),
    ),
    "gd1:s": (
        S,
        press(cb.MemorialCallback, act=cb.MemorialAct.SHOW, date_id=lambda w: w.memorial_date_id),
    ),
}


def action_field(factory: type[CallbackData]) -> tuple[str, type[StrEnum]] | None:
    """The field naming what a factory's button does (its first enum field), if it has one."""
    fields = factory.model_fields
    for name in ("action", "act", "step"):
        annotation = fields[name].annotation if name in fields else None
        if isinstance(annotation, type) and issubclass(annotation, StrEnum):
            return name, annotation
    return None


def required_keys(factory: type[CallbackData]) -> set[str]:
    """The table keys a factory needs: one per action, or at least one for its prefix."""
    found = action_field(factory)
    prefix = factory.__prefix__
    if found is None:
        return {f"{prefix}:"}
    _name, enum = found
    return {f"{prefix}:{member.value}" for member in enum}
