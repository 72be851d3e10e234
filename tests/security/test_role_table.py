"""Every command and button of every router, tried by every role: only the allowed act, the
rest get a polite refusal and change nothing. A handler the table doesn't reach fails it.

Set SECURITY_TABLE_REPORT=<file> to have what each attempt did (handler, reply, changes)
written there.
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from bot.app import Application
from bot.telegram.commands import ALL_COMMANDS, WELCOME
from bot.telegram.guards import HasRoles
from tests.fakebotapi import FakeBotAPI, FakeUser
from tests.security import figures
from tests.security.harness import (
    Dump,
    Outcome,
    Recorder,
    changes,
    commands_in,
    dump,
    factories_in,
    filter_names,
    handler_name,
    handlers,
    restore,
)
from tests.security.table import TABLE, Allowed, Make, Trigger, required_keys
from tests.security.world import Who, World, build_world

APOLOGY = "Entschuldige, bei mir ist etwas schiefgegangen"  # views.basics.error_note, German

# Handlers that only ever refuse (besides the guards' refusals and the fallback).
REFUSING_HANDLERS = frozenset(
    {
        "handlers.intake.profile_without_consent",
        "handlers.founding.not_organiser",
        "handlers.greeting.welcome_refused",
        "handlers.calendar.refuse_press",
        "handlers.start.answered_before",
    }
)

# Handlers no single command or press from a fresh chat reaches, and why; the table reaches
# the checks in front of them (their router's filters, the step's "no longer valid").
NOT_A_TRIGGER = {
    "handlers.greeting.members_added": "a service message in a group, not a command or button",
    "handlers.chat_members.joins_announced": "the same service message, counted for reports",
    # The intake's answers need the intake at their step (tests/handlers/test_intake_buttons.py);
    # the table presses each action, which the router's consent filter and left_step receive.
    "handlers.intake.chosen": "needs the intake at its step",
    "handlers.intake.unchosen": "needs the intake at its step",
    "handlers.intake.choice_made": "needs the intake at its step",
    "handlers.intake.went_on": "needs the intake at its step",
    "handlers.intake.went_back": "needs the intake at its step",
    "handlers.intake.edit_chosen": "needs the intake at its summary",
    "handlers.intake.done": "needs the intake at its summary",
    "handlers.intake.left_step": "needs the intake in progress, at another step",
}

# Filters that need a conversation in progress: a handler behind one is a step of a
# conversation, not reachable by one command or press from a fresh chat (its entry point is).
CONVERSATION_FILTERS = frozenset(
    {"State", "StateFilter", "OpenDraft", "OnCurrentStep", "OpenSurveyDraft", "OpenBallot"}
)


# Refusals a handler gives itself (German, the test users' language). ROLE_REFUSALS say the
# person may not; STATE_REFUSALS that the button's moment has passed (also for the allowed).
ROLE_REFUSALS = (
    "Du kannst noch keine Infostände",  # a host no organiser allowed to plan
    "Du bist noch bei keiner Gruppe Gastgeber:in",
    "Nur die Gastgeber:in der Gruppe selbst",
    "url:",  # a press in a group chat sends the unconsented to the bot
)
STATE_REFUSALS = (
    "Dieser Knopf gilt nicht mehr.",
    "Dieser Schritt ist vorbei.",
    "Diese Nachricht wurde schon verschickt oder verworfen.",
    "Das Ergebnis kannst du eintragen, sobald die Schicht vorbei ist.",
)
CONSENT_FIRST = (
    "Um dich für Schichten einzutragen, stimme zuerst in /start zu",
    "Um deine Termine zu sehen, stimme zuerst in /start zu",
    "Um auf Treffen zu antworten, stimme zuerst in /start zu",
    "Erinnerungen an Termine gibt es, sobald du in /start zugestimmt hast",
    "Deinen Einladungslink gibt es, sobald du in /start zugestimmt hast",
    "Einen Anruf aus dem KV gibt es, sobald du in /start zugestimmt hast",
)


def refused_by_role(outcome: Outcome) -> bool:
    """Whether the bot declined because of who asked: a role guard, the fallback, a refusing
    handler, or a refusal text of a handler."""
    handler = outcome.handler
    return (
        handler.startswith(("handlers.fallback.", "bot.telegram.guards."))
        or handler in REFUSING_HANDLERS
        or any(reply.startswith((*ROLE_REFUSALS, *CONSENT_FIRST)) for reply in outcome.replies)
    )


def refused(outcome: Outcome) -> bool:
    """Whether the bot declined, for whatever reason (a service's refusal explained by
    bot.telegram.guards.explain, a stale button or step included)."""
    return (
        refused_by_role(outcome)
        or outcome.explained
        or any(reply.startswith(STATE_REFUSALS) for reply in outcome.replies)
    )


@pytest.fixture
async def world(app: Application, fake_api: FakeBotAPI, admin_user: FakeUser) -> World:
    return await build_world(app, fake_api, admin_user)


def test_every_command_and_button_has_a_row(app: Application) -> None:
    root = app.dispatcher.sub_routers[0]
    names = {alias: spec.names["de"] for spec in (*ALL_COMMANDS, WELCOME) for alias in spec.aliases}
    missing: set[str] = set()
    for _observer, handler in handlers(root):
        for name in commands_in(handler):
            key = names.get(name, name)
            if f"/{key}" not in TABLE and f"group /{key}" not in TABLE:
                missing.add(f"/{key} ({handler_name(handler)})")
        for factory in factories_in(handler):
            for key in required_keys(factory):
                if not any(row.removeprefix("group ").startswith(key) for row in TABLE):
                    missing.add(f"{key} ({handler_name(handler)})")
    assert not missing, "commands and buttons without a row in tests/security/table.py:\n" + (
        "\n".join(sorted(missing))
    )


def write_report(path: Path, lines: list[str]) -> None:
    """What each attempt did, one line each, for reading the table's verdicts."""
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def judge(
    label: str, outcome: Outcome, *, allowed: bool, allowed_replies: list[str] | None
) -> list[str]:
    """What is wrong with one attempt: for the allowed, a refusal by role; for everyone, an
    error or an unanswered press; for the refused, anything done, changed or shown that the
    allowed get (an escalation)."""
    problems = []
    if outcome.errors:
        problems.append(f"{label}: errors {outcome.errors}")
    if outcome.callback_open:
        problems.append(f"{label}: the press was not answered")
    if any(reply.startswith(APOLOGY) for reply in outcome.replies):
        problems.append(f"{label}: got the error apology")
    if allowed:
        if refused_by_role(outcome):
            problems.append(f"{label}: refused ({outcome.handler}: {outcome.replies!r:.200})")
        return problems
    escalations = []
    if outcome.changed:
        escalations.append(f"{label}: changed {outcome.changed}")
    if not refused(outcome):
        escalations.append(f"{label}: acted ({outcome.handler}: {outcome.replies!r:.200})")
    elif allowed_replies and outcome.replies == allowed_replies:
        escalations.append(f"{label}: saw what the allowed see")
    for escalation in escalations:
        figures.escalation(escalation)
    problems.extend(f"ESCALATION {escalation}" for escalation in escalations)
    return problems


@dataclass
class Walk:
    """Tries rows of the table as every role and keeps what went wrong."""

    app: Application
    server: FakeBotAPI
    world: World
    recorder: Recorder
    baseline: Dump
    problems: list[str] = field(default_factory=list)
    report: list[str] = field(default_factory=list)
    reached: set[str] = field(default_factory=set)
    strangers: set[int] = field(default_factory=set)
    attempts: int = 0
    refusals: int = 0

    async def attempt(self, who: Who, trigger: Trigger) -> Outcome:
        """`who` sends or presses `trigger`; the database is put back afterwards."""
        user = self.world.person(who, self.server)
        chat = self.world.chat if trigger.in_group else None
        if trigger.data is not None:
            outcome = await self.recorder.press(user, trigger.data, chat=chat)
        else:
            assert trigger.text is not None
            outcome = await self.recorder.send(user, trigger.text, chat=chat)
        if who is Who.STRANGER:
            self.strangers.add(user.id)
        outcome.changed = changes(self.baseline, await dump(self.app), new_members=self.strangers)
        if outcome.changed:
            await restore(self.app, self.baseline)
        return outcome

    async def row(self, key: str, minimal: Allowed, make: Make) -> None:
        """Every role tries one row, the strongest first: what the allowed see is compared with
        what the refused get."""
        trigger = make(self.world)
        allowed = (
            frozenset(who for who in Who if who >= minimal) if isinstance(minimal, Who) else minimal
        )
        allowed_replies: list[str] | None = None
        for who in sorted(Who, reverse=True):
            outcome = await self.attempt(who, trigger)
            self.attempts += 1
            self.reached.add(outcome.handler)
            label = f"{key} as {who.name.lower()}"
            self.report.append(
                f"{label:40} {'REFUSED' if refused(outcome) else 'acted':8}"
                f" {outcome.handler} {outcome.replies[:2]!r:.120} {sorted(outcome.changed)}"
            )
            self.problems += judge(
                label, outcome, allowed=who in allowed, allowed_replies=allowed_replies
            )
            if who in allowed and allowed_replies is None and not refused(outcome):
                allowed_replies = outcome.replies
            self.refusals += who not in allowed
            if who not in allowed and not outcome.replies and not trigger.in_group:
                self.problems.append(f"{label}: refused without a word")


async def start_walk(
    app: Application, server: FakeBotAPI, world: World, caplog: pytest.LogCaptureFixture
) -> Walk:
    """A walk over the world as it is now."""
    caplog.set_level(logging.INFO)
    recorder = Recorder(app, server, caplog.handler.records)
    return Walk(app, server, world, recorder, await dump(app))


async def test_only_the_allowed_roles_act(
    app: Application,
    fake_api: FakeBotAPI,
    world: World,
    caplog: pytest.LogCaptureFixture,
    database_url: str,
) -> None:
    walk = await start_walk(app, fake_api, world, caplog)
    started = time.perf_counter()
    for key, (minimal, make) in TABLE.items():
        await walk.row(key, minimal, make)
    elapsed = time.perf_counter() - started
    report_path = os.environ.get("SECURITY_TABLE_REPORT")
    if report_path:
        write_report(Path(report_path), walk.report)
    unreached = sorted(
        name
        for _observer, handler in handlers(app.dispatcher.sub_routers[0])
        if (name := handler_name(handler)) not in walk.reached
        and name not in NOT_A_TRIGGER
        and not filter_names(handler) & CONVERSATION_FILTERS
    )
    backend = "postgresql" if database_url.startswith("postgresql") else "sqlite"
    figures.record(
        f"role table ({backend})",
        attempts=walk.attempts,
        refusals_checked=walk.refusals,
        seconds=round(elapsed, 1),
    )
    assert not walk.problems, "\n".join(walk.problems)
    assert not unreached, "handlers no row of the table reaches (add a row):\n" + "\n".join(
        unreached
    )


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_the_walk_catches_a_missing_guard(
    app: Application,
    fake_api: FakeBotAPI,
    world: World,
    caplog: pytest.LogCaptureFixture,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The table's checks themselves: with every role filter letting everyone through (a
    feature whose guard was forgotten), members drafting a broadcast or granting roles are
    reported as escalations."""
    walk = await start_walk(app, fake_api, world, caplog)
    found_before = len(figures.ESCALATIONS)
    monkeypatch.setattr(HasRoles, "__call__", _everyone)
    for key in ("/rundschreiben", "role1:grant"):
        minimal, make = TABLE[key]
        await walk.row(key, minimal, make)
    for planted in ("/rundschreiben as member:", "role1:grant as member:"):
        assert any(line.startswith(f"ESCALATION {planted}") for line in walk.problems), planted
    del figures.ESCALATIONS[found_before:]  # planted, not found


async def _everyone(self: HasRoles, event: object, **_data: object) -> bool:
    return True
