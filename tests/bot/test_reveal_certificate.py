"""The one-time modal of an X.509 user's sign-in: the PEM file over as many code blocks as Slack's 3000 characters
a section need, whole lines each, which joined in order are the file again; the DM names no secret."""

from __future__ import annotations

import base64
import secrets
from datetime import UTC, datetime

import pytest
from slack_sdk.models.views import View

from access.model import HeldCredentials
from bot.slack.reveal import credentials_modal, pem_pieces

WHEN = datetime(2026, 3, 2, 9, tzinfo=UTC)


def pem_block(label: str, size: int) -> str:
    data = base64.b64encode(secrets.token_bytes(size)).decode()
    lines = [data[i:i + 64] for i in range(0, len(data), 64)]
    return "\n".join([f"-----BEGIN {label}-----", *lines, f"-----END {label}-----"]) + "\n"


@pytest.mark.parametrize(("cert", "key"), [(400, 120), (1300, 1700), (3000, 3300)],
                         ids=["ec", "rsa-2048", "rsa-4096-and-chain"])
def test_the_pem_is_split_into_code_blocks_that_fit_and_join_back(cert: int, key: int) -> None:
    pem = pem_block("CERTIFICATE", cert) + pem_block("PRIVATE KEY", key)
    held = HeldCredentials(grant_id=1, requester_id="U1", username="ann-g1-abc", certificate=pem,
                           connection_string="mongodb+srv://orders-db.ab1cd.mongodb.net/?authMechanism=MONGODB-X509"
                           "&authSource=%24external", expires_at=WHEN)
    modal = credentials_modal(held)
    View(**modal).validate_json()  # slack_sdk's own checks of the view's limits
    sections = [b["text"]["text"] for b in modal["blocks"] if b["type"] == "section"]
    assert all(len(text) <= 3000 for text in sections)
    code = [t.removeprefix("```\n").removesuffix("\n```") for t in sections if t.startswith("```")]
    assert "\n".join(code) + "\n" == pem
    assert all(not piece.startswith("-----END") for piece in code)  # each piece starts at a line of its own block
    assert len(modal["blocks"]) <= 100
    text = "\n".join(sections)
    assert "authMechanism=MONGODB-X509&amp;authSource=%24external" in text and "$external" in text
    assert "--tlsCertificateKeyFile ann-g1-abc.pem" in text


def test_pieces_start_at_each_pem_block() -> None:
    pem = pem_block("CERTIFICATE", 300) + pem_block("PRIVATE KEY", 100)
    first, second = pem_pieces(pem)
    assert first.startswith("-----BEGIN CERTIFICATE") and second.startswith("-----BEGIN PRIVATE KEY")


def test_a_password_modal_is_as_before() -> None:
    held = HeldCredentials(grant_id=1, requester_id="U1", username="ann-g1-abc", password="p" * 32, expires_at=WHEN)
    text = str(credentials_modal(held))
    assert "Password:" in text and "```" not in text and "certificate" not in text.lower()
