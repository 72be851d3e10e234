"""Hypothesis strategies for updates a careless or hostile world sends the bot: odd text and
commands, buttons shaped like the bot's own with wrong ids, strangers, unknown chats."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from enum import Enum
from typing import Any

from aiogram.filters.callback_data import CallbackData
from hypothesis import strategies as st

from bot.telegram import callbacks
from bot.telegram.commands import ALL_COMMANDS, WELCOME

HUGE = 2**63  # ids at or past this overflow a BIGINT: the known defect fixed on branch links

FACTORIES: tuple[type[CallbackData], ...] = tuple(
    factory
    for _name, factory in inspect.getmembers(callbacks, inspect.isclass)
    if issubclass(factory, CallbackData) and factory is not CallbackData
)
COMMANDS = sorted({alias for spec in (*ALL_COMMANDS, WELCOME) for alias in spec.aliases})


@dataclass(frozen=True)
class Step:
    """One thing that happens: `kind` with what it needs; `who` picks a person, `where` a chat
    (private, served: the KV's group, unknown: a group the KV never registered, channel)."""

    kind: str  # text, press, edited, member, block, join
    who: int
    where: str = "private"
    text: str = ""
    data: str = ""
    twice: bool = False  # a press repeated at once (a double tap)
    status: str = "member"


def texts() -> st.SearchStrategy[str]:
    """Anything a person can type: unicode (no lone surrogates), up to Telegram's 4,096."""
    any_text = st.text(st.characters(codec="utf-8"), max_size=200)
    long_text = st.builds(
        lambda chars, size: (chars * size)[:size],
        st.text(st.characters(codec="utf-8"), min_size=1, max_size=5),
        st.integers(3000, 4096),
    )
    return st.one_of(any_text, any_text.filter(bool), long_text)


def numbers(*, known_defects: bool) -> st.SearchStrategy[str]:
    """Ids as text: small, real-looking, zero, negative, past 2^63 (with `known_defects`)."""
    choices = [
        st.integers(0, 50),
        st.integers(-(2**31), -1),
        st.integers(1, 2**62),
        st.sampled_from(["", "x", "1.5", "0x10", "+1", " 1", "1e3", "٣"]),
    ]
    if known_defects:
        # "²" passes str.isdigit() but not int(): /rolle ² is one of the known tracebacks.
        choices.append(st.sampled_from(["²", "¹²"]))
        choices.append(st.integers(HUGE, 10**30))
        choices.append(st.integers(-(10**30), -HUGE - 1))
    return st.one_of(*choices).map(str)


def commands(*, known_defects: bool) -> st.SearchStrategy[str]:
    """A command of the bot's, an unknown one or a deep link, with odd arguments."""
    # Mostly the bot's own commands (their arguments are what is parsed), some unknown ones.
    own = st.sampled_from(COMMANDS)
    name = st.one_of(own, own, own, st.text(st.characters(codec="ascii"), max_size=40))
    argument = st.one_of(
        st.just(""),
        numbers(known_defects=known_defects),
        numbers(known_defects=known_defects),
        texts(),
        st.builds(lambda n: f"@{n}", st.text(max_size=40)),
        st.builds(
            lambda prefix, n: f"{prefix}{n}",
            st.sampled_from(["i", "m", "g", "a", "d", "x", "gd", ""]),
            numbers(known_defects=known_defects),
        ),
    )
    suffix = st.sampled_from(["", "@mitmachbot_test_bot", "@other_bot"])
    return st.builds(
        lambda n, s, a: f"/{n}{s} {a}"[:4096] if a else f"/{n}{s}", name, suffix, argument
    )


def _field_values(annotation: Any, *, known_defects: bool) -> st.SearchStrategy[str]:
    """Valid and invalid packed values for one callback data field."""
    options: list[st.SearchStrategy[str]] = [numbers(known_defects=known_defects)]
    enum = next(
        (a for a in getattr(annotation, "__args__", (annotation,)) if isinstance(a, type)),
        None,
    )
    if enum is not None and issubclass(enum, Enum):
        options.append(st.sampled_from([str(member.value) for member in enum]))
    if annotation is bool:
        options.append(st.sampled_from(["0", "1", "true", "False"]))
    options.append(st.text(st.characters(codec="utf-8", exclude_characters=":"), max_size=12))
    return st.one_of(*options)


def callback_data(*, known_defects: bool) -> st.SearchStrategy[str]:
    """Data shaped like the bot's own buttons: every prefix, valid and wrong field values,
    extra and missing fields; at most Telegram's 64 bytes; sometimes plain garbage."""

    def shaped(factory: type[CallbackData]) -> st.SearchStrategy[str]:
        fields = [
            _field_values(info.annotation, known_defects=known_defects)
            for info in factory.model_fields.values()
        ]
        return st.builds(
            lambda parts, cut, extra: ":".join(
                [factory.__prefix__, *parts[: len(parts) - cut], *extra]
            ),
            st.tuples(*fields) if fields else st.just(()),
            st.integers(0, 1) if fields else st.just(0),
            st.lists(numbers(known_defects=known_defects), max_size=1),
        )

    garbage = st.text(st.characters(codec="utf-8"), max_size=64)
    data = st.one_of(st.sampled_from(FACTORIES).flatmap(shaped), garbage)
    return data.map(lambda d: d.encode()[:64].decode(errors="ignore") or "x")


def steps(people: int, *, known_defects: bool) -> st.SearchStrategy[Step]:
    """One step by one of `people` people (the last ones are strangers)."""
    who = st.integers(0, people - 1)
    where = st.sampled_from(["private", "private", "private", "served", "unknown", "channel"])
    press = st.builds(
        Step,
        kind=st.just("press"),
        who=who,
        where=st.sampled_from(["private", "private", "served", "unknown"]),
        data=callback_data(known_defects=known_defects),
        twice=st.booleans() if known_defects else st.just(False),
    )
    # Presses and commands reach the most code: they come three and two times as often.
    return st.one_of(
        press,
        press,
        st.builds(
            Step,
            kind=st.just("text"),
            who=who,
            where=where,
            text=commands(known_defects=known_defects),
        ),
        st.builds(Step, kind=st.just("text"), who=who, where=where, text=texts()),
        st.builds(
            Step,
            kind=st.just("text"),
            who=who,
            where=where,
            text=commands(known_defects=known_defects),
        ),
        press,
        st.builds(Step, kind=st.just("edited"), who=who, text=texts()),
        st.builds(
            Step,
            kind=st.just("member"),
            who=who,
            where=st.sampled_from(["served", "unknown"]),
            status=st.sampled_from(["member", "left", "kicked", "administrator", "restricted"]),
        ),
        st.builds(
            Step, kind=st.just("block"), who=who, status=st.sampled_from(["kicked", "member"])
        ),
        st.builds(
            Step, kind=st.just("join"), who=who, where=st.sampled_from(["served", "unknown"])
        ),
    )
