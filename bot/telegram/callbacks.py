"""Callback data factories: short versioned prefixes, ids only; handlers reload and re-check."""

from __future__ import annotations

from enum import StrEnum

from aiogram.filters.callback_data import CallbackData

from bot.telegram.ids import DbId, SignedInt, TelegramId
from models import Category, Role


class LanguageCallback(CallbackData, prefix="lang1"):
    """A language button of /sprache."""

    code: str


class RoleCallback(CallbackData, prefix="role1"):
    """Give (grant=True) or take a role from a member, pressed in an admin's role panel."""

    member_id: TelegramId
    role: Role
    grant: bool


class AuditCallback(CallbackData, prefix="au1"):
    """A page of /protokoll (0 is the newest); handlers re-check the admin and clamp the page."""

    page: DbId = 0


class DigestCallback(CallbackData, prefix="nd1"):
    """A page of the organisers' newcomer digest (0 the newest); handlers re-check the role
    and compute the page anew, clamped to the newcomers waiting now."""

    page: DbId = 0


class ConsentAction(StrEnum):
    """The two answers to the consent question.

    The values are what the earlier `agree: bool` field packed ("cons1:1", "cons1:0"), so a
    question sent before that changed still works.
    """

    AGREE = "1"
    NOT_NOW = "0"


class ConsentCallback(CallbackData, prefix="cons1"):
    """An answer to the consent question."""

    action: ConsentAction


class IntakeStep(StrEnum):
    """Where an intake button belongs: a question, the summary, or the reminder."""

    TOPICS = "topics"
    DISTRICT = "district"
    ACTIVITIES = "activities"
    FREE_TIME = "free_time"
    FREQUENCY = "frequency"
    SUMMARY = "summary"
    # The reminder's "carry on" button; it belongs to no step (and is never stale).
    REMINDER = "resume"


class IntakeAction(StrEnum):
    """What an intake button does. ON and OFF say what they set, so a second press is harmless."""

    ON = "on"  # choose option `value` (of several)
    OFF = "off"  # unchoose option `value`
    CHOOSE = "choose"  # the one answer `value`, then on to the next step
    NEXT = "next"
    SKIP = "skip"
    BACK = "back"
    EDIT = "edit"  # from the summary: step number `value` (0-based) again
    DONE = "done"  # from the summary: finish and show suggestions
    RESUME = "resume"  # from the reminder: back to the first step


class IntakeCallback(CallbackData, prefix="in1"):
    """A button of the intake conversation.

    `step` is the step the button belongs to (a press from another step is stale); `value` is
    an id (topic, Stadtteil, activity type; 0 for "not sure / outside") or an index (free-time
    slot, frequency, step).
    """

    step: IntakeStep
    action: IntakeAction
    value: DbId = 0


class GroupAction(StrEnum):
    """What a button under suggestions, the directory, browsing or a group's details does.

    Screens named "here" replace the pressed message; the others come as a new message.
    """

    JOIN = "join"
    DETAILS = "details"
    MORE = "more"  # the next page of suggestions
    FOUND = "found"  # no fitting group: I'd like to start one
    OFFICE = "office"  # no fitting group: I'd like to talk to someone
    BROWSE = "browse"  # the ways to browse (new message)
    MENU = "menu"  # the ways to browse, here (Back)
    KINDS = "kinds"  # the kinds of group, here
    DISTRICTS = "dists"  # the Stadtteile, here, page `page`
    TOPICS = "topics"  # the topics, here, page `page`
    ALL = "all"  # every group, here, page `page`
    BY_TYPE = "type"  # groups of kind `group_id` (index into directory.GROUP_TYPES), here
    BY_DISTRICT = "dist"  # groups in Stadtteil `group_id` (0: the whole KV), here
    BY_TOPIC = "topic"  # groups on topic `group_id`, here
    MINE = "mine"  # the member's own groups (new message)
    MINE_HERE = "mineh"  # the member's own groups, here
    LEAVE = "leave"  # ask whether to leave `group_id`, here
    LEAVE_OK = "leaveok"  # leave `group_id` (confirmed), here


class GroupCallback(CallbackData, prefix="gr1"):
    """Suggestions, the directory and browsing: join or look at `group_id`, or show `page`.

    For the BY_* actions `group_id` is the value browsed by (see GroupAction).
    """

    action: GroupAction
    group_id: DbId = 0
    page: DbId = 0


class KeptAction(StrEnum):
    """A button about an action kept until consent (a join or an answer pressed before)."""

    NOW = "now"  # skip the remaining questions: do it now


class KeptCallback(CallbackData, prefix="ke1"):
    """Do the kept action now, without finishing the intake."""

    action: KeptAction


class FoundingStep(StrEnum):
    """The steps of proposing a Stammtisch that have buttons."""

    DISTRICT = "d"  # `value`: the Stadtteil's id, 0 for the whole KV
    PLACE = "p"  # "don't know yet"
    RHYTHM = "r"  # "don't know yet"


class FoundingCallback(CallbackData, prefix="fo1"):
    """A button of the conversation proposing a Stammtisch."""

    step: FoundingStep
    value: DbId = 0


class ProposalAction(StrEnum):
    """An organiser's answer to a proposed Stammtisch."""

    APPROVE = "a"
    DECLINE = "d"


class ProposalCallback(CallbackData, prefix="gp1"):
    """Approve or decline proposal `proposal_id`; the handler re-checks the organiser."""

    action: ProposalAction
    proposal_id: DbId


# The guide's table of contents in GuideCallback (section ids start at 1).
GUIDE_CONTENTS = 0


class GuideCallback(CallbackData, prefix="kv1"):
    """A section of the guide (GUIDE_CONTENTS: the table of contents)."""

    section_id: DbId


class PrivacyAction(StrEnum):
    """The buttons of /datenschutz."""

    SHOW = "show"  # show everything stored about me
    ASK = "ask"  # delete everything: ask first
    ERASE = "erase"  # yes, delete everything
    KEEP = "keep"  # no, keep it
    DOWNLOAD = "dl"  # send everything stored about me as a JSON and a text file
    WITHDRAW_ASK = "wask"  # withdraw consent: ask first
    WITHDRAW = "wd"  # yes, withdraw consent (keeps id, language and the consent history)
    ERASE_ALL = "erase_all"  # delete anyway, with the roles I hold (hosts, organisers)


class PrivacyCallback(CallbackData, prefix="pr1"):
    """/datenschutz: show my data, erase (ask), erase (confirmed), keep."""

    action: PrivacyAction


class BroadcastAction(StrEnum):
    """What a /rundschreiben button does; each has its own handler."""

    # Overview and draft.
    NEW = "new"  # open a new draft: ask for the message
    PAGE = "dim"  # show one kind of criterion (`dim`), page `value`
    ADD = "add"  # choose value `value` of kind `dim`
    REMOVE = "rm"  # unchoose it
    CLEAR = "clear"  # unchoose every value of kind `dim`
    EVERYONE = "all"  # no criteria at all
    HOME = "home"  # back to the audience panel
    KINDS = "cat"  # show the kinds of message
    KIND = "kind"  # choose the kind of message at position `value` of models.Category
    NOW = "now"  # ask to send now
    LATER = "later"  # ask for a date and time
    SEND = "go"  # confirmed: `value` 0 now, 1 at the draft's time
    DISCARD = "drop"
    # A broadcast (`value` is its id).
    STOP = "stop"  # ask whether to stop it
    STOP_CONFIRMED = "stopok"
    KEEP = "keep"  # don't stop it after all
    WHO = "who"  # who could not be reached
    REPORT = "report"


class AudienceKind(StrEnum):
    """A kind of criterion of a broadcast's audience, short for the 64 bytes of callback data."""

    DISTRICTS = "d"
    TOPICS = "t"
    GROUPS = "g"
    ACTIVITY_TYPES = "a"
    MEETINGS = "m"


class BroadcastCallback(CallbackData, prefix="bc1"):
    """/rundschreiben: building the audience, confirming, and following a broadcast.

    `action` names what the button does; `dim` is a kind of criterion where the action needs
    one; `value` an id of that kind, a page, a position, or a broadcast id (see BroadcastAction).
    """

    action: BroadcastAction
    dim: AudienceKind | None = None
    value: DbId = 0


class SettingsAction(StrEnum):
    """The buttons of /einstellungen; "off" and "on" say what they set, so a repeat is harmless."""

    OPEN = "open"  # open the panel (from under a broadcast)
    OFF = "off"  # switch `category` off
    ON = "on"  # switch `category` on again


class SettingsCallback(CallbackData, prefix="set1"):
    """/einstellungen: open the panel, or switch one message category off or on."""

    action: SettingsAction
    category: Category | None = None


class ReminderAction(StrEnum):
    """The meeting reminder buttons of /einstellungen; each sets what it names."""

    ON = "on"  # be reminded `minutes` before
    OFF = "off"  # not `minutes` before
    NONE = "none"  # no meeting reminders at all


class ReminderCallback(CallbackData, prefix="rem1"):
    """/einstellungen: when to be reminded of meetings (`minutes` before the start)."""

    action: ReminderAction
    minutes: DbId = 0


class RsvpAction(StrEnum):
    """An answer button under a meeting; each says what it sets, so a repeat is harmless."""

    YES = "y"
    MAYBE = "m"
    NO = "n"
    GUESTS = "g"  # bring `value` guests (0-5), keeping the yes
    SHOW = "s"  # show the meeting's card (from a list)


class RsvpCallback(CallbackData, prefix="rv1"):
    """An answer to meeting `meeting_id`, pressed in the private chat or under a group post."""

    action: RsvpAction
    meeting_id: DbId
    value: DbId = 0


class HostAction(StrEnum):
    """What a button of a host's panel (/meine_gruppen) does; handlers re-check the host."""

    GROUPS = "groups"  # the list of the host's groups
    GROUP = "group"  # one group: its next meetings (`group_id`)
    MEETING = "meeting"  # one meeting: who comes (`meeting_id`)
    POST = "post"  # post the meeting into the group's chat (`meeting_id`; `value` 1: pin it)
    # A new one-off meeting for `group_id`: pick a day, then a time (or type it).
    ADD = "add"  # the next 14 days as buttons
    ADD_DAY = "aday"  # day `value` (a date's ordinal): the common times
    ADD_TIME = "atime"  # `value`: ordinal * 1440 + minutes after midnight (local)
    ADD_TYPED = "atype"  # type the date and time; `value` an ordinal: type only the time
    # One meeting (`meeting_id`).
    CAPACITY = "cap"  # type how many may come
    NOTE = "note"  # type the note
    MOVE = "move"  # type the new time
    CANCEL = "cancel"  # ask before cancelling the date
    CANCEL_OK = "cancelok"
    MESSAGE = "msg"  # write to everyone who said yes or maybe
    MESSAGE_SEND = "msgok"  # send the message written
    # The series of `group_id`.
    PAUSE = "pause"  # type the period
    PAUSE_NO_LABEL = "pausenl"  # pause without a label
    END = "end"  # ask before ending the series
    END_OK = "endok"
    # How the host hears of answers: show, or set the HostNotice at position `value`.
    NOTICE = "notice"
    NOTICE_SET = "nset"
    # Hand `group_id` over: ask for the new host; `value` a member picked from the group.
    HANDOVER = "hand"
    HANDOVER_PICK = "hpick"
    # An organiser decides handover `value`.
    HANDOVER_YES = "hyes"
    HANDOVER_NO = "hno"


class HostCallback(CallbackData, prefix="ho1"):
    """A host's panel: `action` on `group_id` / `meeting_id`; `value` as the action needs."""

    action: HostAction
    group_id: DbId = 0
    meeting_id: DbId = 0
    value: TelegramId = 0


class CalendarAction(StrEnum):
    """A button of /kalender; handlers re-check consent and reload what `item_id` names (a
    shift only when the member holds it)."""

    FILE = "file"  # all my dates as one .ics file
    MEETING = "meet"  # one meeting (`item_id`) as an .ics file
    SHIFT = "shift"  # one of my shifts (`item_id` a shift) as an .ics file
    MEMORIAL = "gd"  # one Gedenktag's date (`item_id` a memorial date) as an .ics file
    LINK = "link"  # my subscription link (made now if I have none)
    # A new subscription link; the old one stops working. `item_id`: the link it replaces
    # (calendar.link_stamp), so a second press doesn't replace the new one too; 0 (a button
    # from before that): replace whatever link there is.
    RENEW = "new"


class CalendarCallback(CallbackData, prefix="cal1"):
    """/kalender's buttons: `action`, on `item_id` where it names a meeting, shift or memorial
    date (the packed data is positional, so buttons from before the rename still work)."""

    action: CalendarAction
    item_id: DbId = 0


class ActionAct(StrEnum):
    """A member's button of /aktionen (field actions); handlers reload and re-check everything.

    Ids: `date_id` an action's date, `shift_id` a shift, `swap_id` a swap offer. Each button says
    what it sets (sign up, cancel), so a second press is harmless.
    """

    LIST = "list"  # the upcoming actions, page `page` (here)
    DATE = "date"  # one date's card with its shifts (`date_id`)
    SIGN_UP = "in"  # sign up for `shift_id`; `call` 1: pressed under a call for help
    CANCEL = "out"  # ask before giving up `shift_id`
    CANCEL_OK = "outok"  # give up `shift_id` (confirmed)
    SWAP = "swap"  # offer `shift_id` to someone else
    SWAP_WITHDRAW = "swapno"  # take back offer `swap_id`
    SWAP_TAKE = "take"  # take over offer `swap_id`
    MINE = "mine"  # the member's own shifts


class ActionCallback(CallbackData, prefix="fa1"):
    """/aktionen for members: `act` on the ids it names."""

    act: ActionAct
    date_id: DbId = 0
    shift_id: DbId = 0
    swap_id: DbId = 0
    page: DbId = 0
    call: DbId = 0


class PlanAct(StrEnum):
    """A planner's button (organisers, and hosts they allow): creating actions, the staffing
    overview, one date's management, and allowing hosts; handlers re-check the role."""

    MENU = "menu"  # what a planner can do
    STAFFING = "staff"  # every upcoming date with filled/needed per shift, page `page`
    DATE = "date"  # one date to manage (`date_id`)
    SHIFT = "shift"  # who holds `shift_id`, how many were called, who came through a call
    NEEDED = "need"  # set how many `shift_id` needs (`value`)
    CANCEL_DATE = "cancel"  # ask before calling off `date_id`
    CANCEL_DATE_OK = "cancelok"
    NEW = "new"  # start a new action
    KIND = "kind"  # the new action's kind (`value`: index into ActionKind)
    DISTRICT = "dist"  # its Stadtteil (`value`: a district id, 0 none)
    CAMPAIGN = "camp"  # its campaign (`value`: a campaign id, 0 none)
    PRESET = "preset"  # a ready-made shift plan (`value`: its index)
    SKIP = "skip"  # skip the current optional step
    SAVE = "save"  # create the action as summarised
    PLANNERS = "planners"  # hosts who may plan actions (organisers only)
    PLANNER = "planner"  # allow (`value` 1) or stop (`value` 0) host `member_id`


class PlanCallback(CallbackData, prefix="fp1"):
    """A planner's button: `act` on the ids it names."""

    act: PlanAct
    date_id: DbId = 0
    shift_id: DbId = 0
    member_id: TelegramId = 0
    value: DbId = 0
    page: DbId = 0


class ResultAct(StrEnum):
    """A button of the result log after a shift (counts and topics only); handlers reload the
    shift and re-check who may log it on every press.

    The log's draft lives in the member's conversation data under a random `rev`; a button
    carries the rev it was drawn for, so a press on an older screen only refreshes it, except
    a button that says what it sets (SET, TOPIC_ON, TOPIC_OFF): that sets it in the draft.
    """

    OPEN = "open"  # open the log for `shift_id` (`field` 1: conversations preset to `value`)
    QUICK = "q"  # the prompt's quick choice: `value` conversations; asks to save
    QUICK_SAVE = "qs"  # store `value` conversations (nothing else) for `shift_id`
    FOCUS = "f"  # show the quick values and steppers of field `field`
    SET = "set"  # set field `field` (index) to `value` (quick values and steppers)
    # Buttons drawn before SET and TOPIC_ON/OFF said what they set; they act only on the screen
    # they were drawn for (its rev), where they mean the same.
    ADD = "add"  # add `value` (negative: subtract) to field `field`
    TOPIC = "topic"  # toggle topic `value`
    TOPIC_ON = "ton"  # tick topic `value`
    TOPIC_OFF = "toff"  # untick topic `value`
    PAGE = "page"  # the topics' page `page`
    SAVE = "save"  # store the result


class ResultCallback(CallbackData, prefix="ar1"):
    """The result log of shift `shift_id`."""

    act: ResultAct
    shift_id: DbId
    field: DbId = 0
    value: SignedInt = 0
    rev: DbId = 0
    page: DbId = 0


class MemorialAct(StrEnum):
    """A button under a memorial reminder (Gedenktag); answers say what they set."""

    YES = "y"
    MAYBE = "m"
    NO = "n"
    SHOW = "s"  # show the memorial date's card


class MemorialCallback(CallbackData, prefix="gd1"):
    """An answer to the KV's event on memorial date `date_id`."""

    act: MemorialAct
    date_id: DbId


# Re-engagement of quiet members (handlers/reengagement.py).
class CheckInAct(StrEnum):
    """The three buttons under a check-in."""

    SHOW = "s"  # "Zeig mir was": groups and dates near the member
    LATER = "l"  # "Später": no check-in for three months
    FEWER = "f"  # "Weniger Nachrichten": check-ins off


class CheckInCallback(CallbackData, prefix="ci1"):
    """A button under member `member_id`'s check-in of `quarter` ("2026Q4"); the handler
    refuses it from anyone else and looks the check-in up."""

    act: CheckInAct
    member_id: TelegramId
    quarter: str


class CallListCallback(CallbackData, prefix="cl1"):
    """A page of the organisers' call list (0 the first); recomputed and clamped on press."""

    page: DbId = 0


class PauseAct(StrEnum):
    """The pause buttons of /einstellungen."""

    TWO_WEEKS = "2w"
    ONE_MONTH = "1m"
    THREE_MONTHS = "3m"
    DATE = "d"  # type a date
    END = "e"  # end the pause now


class PauseCallback(CallbackData, prefix="pz1"):
    """A pause button; each sets the state it names."""

    act: PauseAct


class CallConsentAct(StrEnum):
    """The call-consent buttons of /einstellungen."""

    GIVE = "y"  # share the number (asks for the contact)
    REVOKE = "n"  # withdraw, deleting the number


class CallConsentCallback(CallbackData, prefix="cc1"):
    """A call-consent button."""

    act: CallConsentAct


class ReportChoice(StrEnum):
    """A period button of /bericht."""

    LAST_30_DAYS = "30d"
    HALF_YEAR = "hy"
    PREVIOUS_HALF_YEAR = "phy"
    CUSTOM = "c"


class ReportCallback(CallbackData, prefix="rep1"):
    """The period chosen for /bericht; handlers re-check the role and compute it anew."""

    choice: ReportChoice


class SurveyAction(StrEnum):
    """A member's survey buttons; each names the survey and, where it answers, the question."""

    JOIN = "j"  # "Take part" under the invitation
    PICK = "p"  # single choice: option `value`; scale: `value` 1-5
    TOGGLE = "t"  # multiple choice: tick or untick option `value`
    RANK = "r"  # ranking: option `value` is next in importance
    RESET = "z"  # ranking: start the order again
    NEXT = "n"  # multiple choice / ranking: this question is done
    SKIP = "s"  # free text: no answer
    SUBMIT = "ok"  # send the answers shown in the summary
    CHANGE = "c"  # change the answers (until the end)
    RESULTS = "res"  # the results with charts


class SurveyCallback(CallbackData, prefix="sv1"):
    """Answering a survey; handlers reload the survey and check every id against it."""

    action: SurveyAction
    survey: DbId
    question: DbId = 0
    value: DbId = 0


class SurveyPlanAction(StrEnum):
    """The organiser's /umfrage buttons while composing a survey or looking at one."""

    NEW = "new"  # start a new draft
    KIND = "k"  # the next question is of kind number `value`
    MORE = "more"  # add another question: show the kinds
    AUDIENCE = "aud"  # the audience panel
    PAGE = "pg"  # one kind of criterion (`dim`) to tick values in
    ADD = "a"  # choose value `value` of `dim`
    REMOVE = "rm"  # unchoose it
    EVERYONE = "all"  # no criteria
    END = "end"  # ask for the end date
    START = "go"  # start the survey shown in the preview
    DISCARD = "x"  # forget the draft
    SHOW = "show"  # survey `value`: its participants so far, or its results


class SurveyPlanCallback(CallbackData, prefix="so1"):
    """/umfrage: composing a survey (organisers only, guarded) and following one."""

    action: SurveyPlanAction
    dim: AudienceKind | None = None
    value: DbId = 0
