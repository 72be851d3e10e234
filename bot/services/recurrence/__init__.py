"""Recurring dates: read the KV's rules in German or English and compute the next dates.

Groups meet by rules like "jeden 2. Donnerstag 19 Uhr" and Gedenktage recur like "27.01." or
"2. Sonntag im September". Organisers write these rules in the YAML setup, so the parser is
forgiving about word order, case, spacing and language, and strict about meaning: anything it
can't place is a RuleError naming the offending part, never a silent guess.

"every 2nd Thursday" / "jeden 2. Donnerstag" means the 2nd Thursday of each month, because that
is how German KVs use "jeden 2. Donnerstag" (and "jeden zweiten Donnerstag"). A meeting every
other week must say so: "every other Thursday", "alle zwei Wochen donnerstags", "every 2 weeks",
and it needs a start date to know which Thursdays.

Rules hold local wall-clock times; occurrences are computed in the KV's zone and returned as aware
UTC datetimes, so 19:00 stays 19:00 in Berlin across the DST switches.

A Rule is stored and expanded as RFC 5545 text (to_rrule): an RRULE in floating local time, with
a DTSTART only for biweekly rules; python-dateutil expands it (expand), cancelled dates are
EXDATEs (expand's exdates), and check_rrule refuses text expansion can't use.

The package: rule (the Rule value, its checks, canonical text), tokens (the tokenizer and its
vocabulary), parser (text -> Rule), rrule (Rule -> RFC 5545 text -> dates), occurrences (the
next dates of a Rule) and moments (one date and time, a day or a period as hosts type them:
"Do 19:00", "morgen 19 Uhr", "1.7.-31.8."). Import from here; the modules are an implementation
detail.
"""

from bot.services.recurrence.moments import (
    MAX_MOMENT_LENGTH,
    MAX_YEARS_AHEAD,
    MomentError,
    MomentReason,
    format_day_example,
    format_moment_example,
    format_period_example,
    parse_day,
    parse_moment,
    parse_period,
)
from bot.services.recurrence.occurrences import (
    EVENING_STARTS,
    Slot,
    local_slot,
    next_occurrence,
    occurrences,
)
from bot.services.recurrence.parser import parse_rule
from bot.services.recurrence.rrule import (
    MAX_RRULE_LENGTH,
    check_rrule,
    expand,
    occurrences_between,
    to_rrule,
)
from bot.services.recurrence.rule import (
    BIWEEKLY_NEEDS_START,
    LAST,
    MAX_RULE_LENGTH,
    Rule,
    RuleError,
    RuleKind,
    format_rule,
)

__all__ = [
    "BIWEEKLY_NEEDS_START",
    "EVENING_STARTS",
    "LAST",
    "MAX_MOMENT_LENGTH",
    "MAX_RRULE_LENGTH",
    "MAX_RULE_LENGTH",
    "MAX_YEARS_AHEAD",
    "MomentError",
    "MomentReason",
    "Rule",
    "RuleError",
    "RuleKind",
    "Slot",
    "check_rrule",
    "expand",
    "format_day_example",
    "format_moment_example",
    "format_period_example",
    "format_rule",
    "local_slot",
    "next_occurrence",
    "occurrences",
    "occurrences_between",
    "parse_day",
    "parse_moment",
    "parse_period",
    "parse_rule",
    "to_rrule",
]
