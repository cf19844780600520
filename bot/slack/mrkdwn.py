"""Data into Slack's mrkdwn as literal text: the one place where what people (and Atlas) wrote is made inert.

Slack reads `<...>` in a message as a mention, a channel or user-group ping, or a link with any label
(`<https://evil.example|https://cloud.mongodb.com>`), and `&` starts an entity. Slack's own rule is to escape
`&`, `<` and `>` in text you did not mean as markup (https://api.slack.com/reference/surfaces/formatting#escaping);
with those escaped nothing else in a text can ping, link or disguise. The invisible characters that
`access.text.clean` removes are removed here too, for text that came from elsewhere (Atlas names and errors,
rows stored before that cleaning). Mentions, pings and links appear only where the bot builds them itself
(`mention`, `user_group`, `date`): every other value goes through `text` or `quote`.
"""

from __future__ import annotations

from access.text import clean

SECTION_TEXT = 3000  # Slack's limit on a section's text (and a message's `text`)
_ENTITIES = (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"))
_ENTITY_LONGEST = len("&amp;")


def text(value: object) -> str:
    """`value` as literal mrkdwn text: visible characters only, `&`, `<` and `>` escaped."""
    escaped = clean(str(value))
    for raw, entity in _ENTITIES:
        escaped = escaped.replace(raw, entity)
    return escaped


def plain(value: object) -> str:
    """`value` for a plain_text object (an option's label, a title): Slack reads no markup there, but what is
    invisible is still removed, so a label cannot read otherwise than it is."""
    return " ".join(clean(str(value)).split())


def line(value: object) -> str:
    """`text(value)` on one line (for a list item or a field that a line break would break)."""
    return " ".join(text(value).split())


def quote(value: object) -> str:
    """`value` as a block quote: each line escaped and marked as quoted (a `>` it holds stays a character)."""
    return "\n".join(">" + part for part in text(value).split("\n"))


def code(value: object) -> str:
    """`value` in inline code: escaped, and without the backticks that would end the span early."""
    return "`" + line(value).replace("`", "'") + "`"


def code_block(value: object) -> str:
    """`value` as a preformatted block, line breaks kept: escaped, its own triple backticks broken up."""
    return "```\n" + text(value).replace("```", "` ` `") + "\n```"


def mention(user_id: str) -> str:
    """A user mention the bot means to make (`user_id` is a Slack id from Slack or our records, never typed)."""
    return f"<@{text(user_id)}>"


def user_group(group_id: str) -> str:
    """A user-group ping the bot means to make (`group_id` is a Slack user-group id from Slack)."""
    return f"<!subteam^{text(group_id)}>"


def clip(value: str, limit: int) -> str:
    """`value` cut to `limit` characters with an ellipsis, never inside an entity that `text` made."""
    if len(value) <= limit:
        return value
    cut = value[: limit - 1]
    amp = cut.rfind("&", max(0, len(cut) - _ENTITY_LONGEST + 1))
    if amp != -1 and ";" not in cut[amp:]:
        cut = cut[:amp]
    return cut + "…"
