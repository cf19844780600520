"""Text a person typed, made fit to keep: invisible control characters removed, and the limits every form shows.

What survives is only what a reader can see: C0/C1 control characters (NUL among them, which PostgreSQL refuses),
lone surrogates (which no database can encode), and invisible format characters (the bidirectional overrides
and isolates that make a text read differently from what it says, zero-width spaces) are dropped. The zero-width
joiner and the tag characters stay, because emoji are built from them. Escaping for a display (Slack's mrkdwn)
is the display's job; this is about what is stored.

The limits are the ones the Slack forms declare (`max_length`); the server checks them again, because a crafted
request need not come from the form.
"""

from __future__ import annotations

import unicodedata

MAX_JUSTIFICATION = 2000  # the request and Extend modals' justification field
MAX_REASON = 1000  # the deny modal's reason field
MAX_DURATION_TEXT = 20  # the custom duration field ("1h30m")

_KEPT_FORMAT = frozenset({"\u200d"})  # zero-width joiner: emoji sequences
_TAGS = range(0xE0000, 0xE0080)  # tag characters: subdivision flags
_LINE_BREAKS = {"\u2028": "\n", "\u2029": "\n", "\r\n": "\n", "\r": "\n", "\t": " "}


def _visible(char: str) -> bool:
    if char == "\n":
        return True
    category = unicodedata.category(char)
    if category in ("Cc", "Cs"):
        return False
    if category == "Cf":
        return char in _KEPT_FORMAT or ord(char) in _TAGS
    return True


def clean(text: str) -> str:
    """`text` with only what a reader sees: line breaks normalised to `\\n`, tabs to spaces, and the control,
    surrogate and invisible format characters removed."""
    for old, new in _LINE_BREAKS.items():
        text = text.replace(old, new)
    return "".join(char for char in text if _visible(char))


def one_line(text: str) -> str:
    """`clean(text)` with every run of white space, line breaks included, made one space; stripped."""
    return " ".join(clean(text).split())
