"""Text people typed (and names Atlas gave) reaches Slack as text: for any such text, every surface the bot renders
holds no mention, ping or link that the bot did not put there itself, and no invisible control or bidi character.

The check compares the `<...>` tokens Slack would act on in a rendering of hostile text with those in a rendering
of plain text: only the bot's own (the requester's mention, a date, the owners' group) may appear.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from access.config import IntegrationSpec
from access.entities import AccessRequest, Approval, Grant, InventoryResource
from access.homes import HomeData
from access.model import GrantStatus, RequestStatus, ResourceKind
from access.policy import Approvers
from access.service import MyAccess, RequestForm
from access.text import clean
from bot.slack import messages, mrkdwn
from bot.slack.break_glass_view import break_glass_message
from bot.slack.home_view import home_view
from bot.slack.views import approval_message, approvers_preview, list_message, request_modal

NOW = datetime(2026, 12, 5, 9, 0, tzinfo=UTC)
HOSTILE = ("Investigating <!channel> <@U0CAROL> <!subteam^S0123|@security> <#C0GENERAL> "
           "<https://evil.example/login|https://cloud.mongodb.com/sso> &amp; \u202egnp.exe\u202c \x00 \u2066x\u2069")
TOKEN = re.compile(r"<[^<>]*>")
INVISIBLE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u200b\u200e\u200f\u202a-\u202e\u2066-\u2069\ufeff]")

pieces = st.sampled_from(["<!channel>", "<!here>", "<!everyone>", "<@U0CAROL>", "<!subteam^S1>", "<#C1>",
                          "<https://evil.example|https://cloud.mongodb.com>", "<mailto:a@b.c|x>", "&lt;", "&",
                          "<", ">", "\u202e", "\u2066", "\x00", "\n", "`", "*", "@channel", "|", "^"])
typed = st.lists(st.one_of(pieces, st.text(max_size=12)), max_size=12).map("".join)


def integration(details: str = "Sign in with SSO.") -> IntegrationSpec:
    return IntegrationSpec.model_validate({
        "name": "prod", "organization_id": "5f1a2b3c4d5e6f7a8b9c0d1e", "approval_channel": "C0APPROVALS",
        "credentials": {"type": "api_key", "public_key_env": "P", "private_key_env": "K"},
        "integration_owners": ["@atlas-admins"], "custom_access_details": details,
    })  # fmt: skip


def request(text: str, **changes: Any) -> AccessRequest:
    base = AccessRequest(
        id=7, requester_id="U1", requester_email="ann@example.com", integration="prod", flow="prod-projects",
        resource_kind=ResourceKind.PROJECT, organization_id="o1", resource_id="g1", resource_name=text or "payments",
        roles=("GROUP_READ_ONLY",), duration_seconds=3600, justification=text, approvers=("U2", "U3"),
        approver_group=None, created_at=NOW, updated_at=NOW, channel="C0APPROVALS", message_ts="1.1",
    )
    return replace(base, **changes)


def grant(text: str, **changes: Any) -> Grant:
    base = Grant(
        id=3, request_id=7, integration="prod", resource_kind=ResourceKind.PROJECT, organization_id="o1",
        resource_id="g1", resource_name=text or "payments", username="ann@example.com", requester_id="U1",
        roles=("GROUP_READ_ONLY",), duration_seconds=3600, status=GrantStatus.ACTIVE, granted_at=NOW,
        starts_at=NOW, expires_at=NOW + timedelta(hours=1), last_error=text or None, database_user=text or None,
        created_at=NOW, updated_at=NOW,
    )
    return replace(base, **changes)


def surfaces(text: str, *, plain: bool = False) -> list[str]:
    """Every text the bot renders with `text` in each typed or Atlas-given field: the mrkdwn ones, and with
    `plain` the plain_text ones too."""
    asked, held = request(text), grant(text)
    denied = request(text, status=RequestStatus.DENIED, decided_by="U2", decided_at=NOW, deny_reason=text)
    approved = request(text, status=RequestStatus.APPROVED, decided_by="U2", decided_at=NOW,
                       approvals=(Approval(user_id="U2", at=NOW),))
    glass = request(text, break_glass=True, status=RequestStatus.APPROVED, decided_by="break_glass",
                    decided_at=NOW)
    failing = grant(text, status=GrantStatus.GRANTING, attempts=2)
    rendered: list[Any] = [
        approval_message(asked, None), approval_message(denied, None), approval_message(approved, held),
        approval_message(request(text, approver_group=text or "payments-oncall"), None),
        approval_message(asked, failing), break_glass_message(glass, held, group_mention=None),
        break_glass_message(replace(glass, approver_group=text or "x"), held, group_mention=mrkdwn.user_group("S9")),
        home_view(HomeData(user_id="U2", now=NOW, grants=(held,), pending=(asked,), to_decide=(asked,),
                           health=(("prod", {"last_sync_error": text, "last_sync_at": NOW}),))),
        list_message(MyAccess(requests=[asked, denied], grants=[held])),
    ]
    for group, glass in ((text or "payments-oncall", timedelta(days=1)), (None, None)):
        form = RequestForm(resource=InventoryResource(
            integration="prod", kind=ResourceKind.PROJECT, atlas_id="g1", organization_id="o1",
            organization_name=text or "Acme", name=text or "payments"), roles=("GROUP_READ_ONLY",),
            max_duration=timedelta(hours=8), justification_required=True, auto_approved=False,
            approvers=Approvers(user_ids=("U2",), group=group,
                                source="resource_owner" if group else "integration_owners"),
            emergency_max_duration=glass, ordinary_max_duration=timedelta(hours=8))
        rendered.append(request_modal(form=form, approvers=approvers_preview(form, group_mention=None),
                                      emergency=glass is not None))
    for event in ("requested", "approved", "denied", "granted", "activated", "revoked", "grant_failed", "expiring",
                  "break_glass_reviewed", "invited", "cancelled", "expired", "pending_reminded"):
        subject = denied if event == "denied" else asked
        rendered.append(messages.requester_text(request=subject, grant=held, event=event,
                                                integration=integration(text or "x")))
    rendered.append(messages.requester_text(request=asked, grant=grant(text, resource_kind=ResourceKind.CLUSTER),
                                            event="revoked", integration=integration()))
    rendered.append(messages.decision_words(denied))
    rendered.append(messages.grant_words(failing))
    return [t for r in rendered for t in _texts(r, plain=plain)]


def _texts(value: Any, *, plain: bool = True) -> list[str]:
    """Every string in a rendered message, view or text; with `plain=False`, not those of plain_text objects
    (Slack shows those as they are: no mention, ping or link is read in them)."""
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        if value.get("type") == "plain_text" and not plain:
            return []
        return [t for v in value.values() for t in _texts(v, plain=plain)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in _texts(v, plain=plain)]
    return []


def tokens(texts: list[str]) -> set[str]:
    return {token for text in texts for token in TOKEN.findall(text)}


BOT_OWN = tokens(surfaces("payments"))


def assert_inert(text: str) -> None:
    rendered = surfaces(text)
    assert tokens(rendered) <= BOT_OWN, tokens(rendered) - BOT_OWN
    for piece in surfaces(text, plain=True):  # nothing hidden, in plain text either
        assert not INVISIBLE.search(piece), repr(piece)


def test_the_reported_justification_is_shown_as_text() -> None:
    # given the justification from the security review: a channel ping, a user mention, a group ping, a
    # disguised link, a bidi override and a NUL
    rendered = "\n".join(surfaces(HOSTILE))

    # then each is there to read, and none acts
    assert "&lt;!channel&gt;" in rendered and "&lt;@U0CAROL&gt;" in rendered
    assert "&lt;https://evil.example/login|https://cloud.mongodb.com/sso&gt;" in rendered
    assert "<!channel>" not in rendered and "<https://evil" not in rendered
    assert_inert(HOSTILE)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=typed)
def test_no_typed_text_can_ping_link_or_hide(text: str) -> None:
    assert_inert(text)


@pytest.mark.parametrize(("raw", "kept"), [
    ("a\x00b", "ab"), ("x\u202ey", "xy"), ("p\u2066q\u2069", "pq"), ("zero\u200bwidth", "zerowidth"),
    ("line\r\nbreak", "line\nbreak"), ("tab\there", "tab here"), ("lone \ud800 surrogate", "lone  surrogate"),
    ("family \U0001f468\u200d\U0001f469\u200d\U0001f467", "family \U0001f468\u200d\U0001f469\u200d\U0001f467"),
    ("plain", "plain"),
])
def test_clean_keeps_only_what_a_reader_sees(raw: str, kept: str) -> None:
    assert clean(raw) == kept


@given(text=st.text())
def test_clean_leaves_no_control_or_invisible_format_character(text: str) -> None:
    for char in clean(text):
        category = unicodedata.category(char)
        assert char == "\n" or category not in ("Cc", "Cs"), repr(char)
        assert category != "Cf" or char == "\u200d" or 0xE0000 <= ord(char) < 0xE0080, repr(char)


@pytest.mark.parametrize(("text", "limit"), [("a &amp; b", 5), ("&lt;&lt;&lt;", 6), ("abc&gt;", 6), ("x" * 10, 5)])
def test_clip_never_cuts_an_entity(text: str, limit: int) -> None:
    clipped = mrkdwn.clip(text, limit)
    assert len(clipped) <= limit and clipped.endswith("…")
    assert not re.search(r"&[a-z]*…$", clipped)
