"""Hypothesis strategies for hostile Slack input: odd text, oversized text, JSON of the wrong shape, odd ids."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# Text people (or attackers) type: control characters, right-to-left marks, mrkdwn and HTML, surrogates
# are left out only because JSON and form encoding cannot carry them.
NASTY = ["", " ", "\x00", "\u202e", "<!channel>", "<!subteam^S1>", "<@U2>", "*bold*", "`x`", "<script>", "' OR 1=1 --",
         "%s%s%n", "${jndi:ldap://x}", "../../etc/passwd", "\r\n", "🙂", "ｆｕｌｌ", "١٢", "-1", "0", "9" * 40,
         "1e309", "NaN", "null", "true", "[]", "{}", "prod|", "|x", "prod|5f1a2b3c4d5e6f7a8b9c0d1e"]
text = st.one_of(
    st.sampled_from(NASTY),
    st.text(st.characters(exclude_categories=("Cs",)), max_size=40),
    st.builds(lambda s, n: s * n, st.sampled_from(["A", "é", "🙂", "<@U1>"]), st.integers(1_000, 20_000)),
)
ids = st.one_of(st.sampled_from(["U1", "U5", "U9", "UNOBODY", "W1", "", "T1", "B1", "S1"]), text)
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | text,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(text, inner, max_size=4),
    max_leaves=12,
)


def maybe(value: Any) -> st.SearchStrategy[Any]:
    """The value as is, or replaced by anything at all."""
    return st.one_of(st.just(value), json_values)


@st.composite
def mangled(draw: st.DrawFn, payload: dict[str, Any]) -> dict[str, Any]:
    """A payload with some of its keys replaced by junk, dropped, or joined by junk keys."""
    result: dict[str, Any] = {}
    for key, value in payload.items():
        choice = draw(st.sampled_from(["keep", "keep", "keep", "junk", "drop"]))
        if choice == "keep":
            result[key] = value
        elif choice == "junk":
            result[key] = draw(json_values)
    result.update(draw(st.dictionaries(text, json_values, max_size=2)))
    return result
