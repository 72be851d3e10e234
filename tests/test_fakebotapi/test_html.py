"""Telegram's HTML dialect: what is accepted, what is refused, what the user sees."""

from __future__ import annotations

import pytest

from tests.fakebotapi import check_html, parse_html, utf16_len, visible_text


@pytest.mark.parametrize(
    "text",
    [
        "<b>x</b>",
        "a &amp; b",
        "<strong>s</strong> <em>e</em> <ins>i</ins> <del>d</del> <strike>s</strike> <u>u</u>",
        "<b>bold <i>both</i></b>",
        '<a href="https://example.org/?a=1&amp;b=2">link</a>',
        "<code>x &lt; y</code>",
        '<pre><code class="language-python">print("hi")</code></pre>',
        "<blockquote>quote</blockquote><blockquote expandable>more</blockquote>",
        '<span class="tg-spoiler">secret</span> <tg-spoiler>also</tg-spoiler>',
        '<tg-emoji emoji-id="5368324170671202286">👍</tg-emoji>',
        "&lt;&gt;&quot;&#228;&#xE4;",
        "plain text with ümlauts and emoji 🎉",
    ],
)
def test_accepted_html(text: str) -> None:
    assert check_html(text) == []


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a & b", 'bare "&" at byte offset 2'),
        ("a < b", 'Unsupported start tag "" at byte offset 2'),
        ("x > y", 'bare ">" at byte offset 2'),
        ("<div>x</div>", 'Unsupported start tag "div" at byte offset 0'),
        ("<b><i></b></i>", 'Unmatched end tag at byte offset 6, expected "</i>", found "</b>"'),
        ('<a href="x">', 'Can\'t find end tag corresponding to start tag "a"'),
        ("&nbsp;", 'unsupported HTML entity "&nbsp;"'),
        ("</b>", "Unexpected end tag at byte offset 0"),
        ("<span>x</span>", 'Tag "span" must have class "tg-spoiler"'),
        ("<b", "Unclosed start tag at byte offset 0"),
        ('<b class="x">y</b>', 'attribute "class" of the tag "b"'),
        ("ä<div>", 'Unsupported start tag "div" at byte offset 2'),
    ],
)
def test_refused_html(text: str, expected: str) -> None:
    problems = check_html(text)
    assert len(problems) == 1
    assert problems[0].startswith(expected)


def test_structural_errors_are_fatal_but_bare_ampersand_is_not() -> None:
    # Telegram refuses the first, but shows the second with a literal "&".
    assert parse_html("<b>x").fatal is not None
    lenient = parse_html("Tom & Jerry")
    assert lenient.fatal is None
    assert lenient.text == "Tom & Jerry"


def test_visible_text_strips_tags_and_unescapes() -> None:
    assert visible_text("<b>Hallo</b> &amp; <i>tschüss</i> &lt;3 &#33;") == "Hallo & tschüss <3 !"
    assert visible_text('<a href="https://x.org">Link</a>') == "Link"


def test_length_is_measured_in_utf16_code_units() -> None:
    assert utf16_len("abc") == 3
    assert utf16_len("ä") == 1
    assert utf16_len("👍") == 2
    assert utf16_len(visible_text("<b>👍</b>x")) == 3


def test_entities_use_utf16_offsets() -> None:
    parsed = parse_html('👍 <b>fett</b> <a href="https://x.org">l</a>')
    assert parsed.entities == [
        {"type": "bold", "offset": 3, "length": 4},
        {"type": "text_link", "offset": 8, "length": 1, "url": "https://x.org"},
    ]


def test_pre_with_language_and_expandable_blockquote() -> None:
    parsed = parse_html(
        '<pre><code class="language-py">x</code></pre><blockquote expandable>q</blockquote>'
    )
    assert parsed.entities == [
        {"type": "pre", "offset": 0, "length": 1, "language": "py"},
        {"type": "expandable_blockquote", "offset": 1, "length": 1},
    ]
