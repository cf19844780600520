"""Words for admins: refusals, and Atlas or configuration trouble as one plain sentence (never a stack trace).

Error texts come from our own exception types, whose messages are built to carry no secret (the Atlas client
scrubs its credentials out of Atlas' details); anything unexpected is named by its type only.
"""

from __future__ import annotations

from datetime import datetime

from access.errors import (
    AccessError,
    GatewayError,
    GatewayRateLimited,
    GatewayUnauthorized,
    GatewayUnreachable,
    NotFound,
    RequestRefused,
    SecretKeyError,
)
from access.rotation import RotationOutcome
from bot.errors import ConfigurationError
from bot.slack import messages, mrkdwn

NOT_ADMIN = ("Sorry, only atlas-access admins can do that. The operator names them in ATLAS_ACCESS_ADMINS "
             "(Slack users or user groups).")
NO_ADMINS = ("Nobody can administer atlas-access from Slack yet: ATLAS_ACCESS_ADMINS is empty. Ask the operator "
             "to set it (Slack user ids, user group ids or @handles).")
LOADING = "Loading…"
SAVE_FAILED = "Saving failed on our side; nothing was changed. Please try again."
_DETAIL = 200


def atlas_problem(error: BaseException, *, integration: str) -> str:
    """What went wrong talking to Atlas (or reading the integration's settings), in one sentence of mrkdwn
    (Atlas' details and our names are data: escaped)."""
    return mrkdwn.text(_problem(error, integration=integration))


def _problem(error: BaseException, *, integration: str) -> str:
    if isinstance(error, GatewayError):
        return _gateway_problem(error, integration)
    if isinstance(error, RequestRefused):
        return error.reason
    if isinstance(error, NotFound):
        return f"There is no integration named {integration} any more."
    if isinstance(error, ConfigurationError | SecretKeyError | AccessError):
        return _clip(str(error))
    return (f"Working on {integration} failed unexpectedly ({type(error).__name__}); the server log has the "
            "details.")


def _gateway_problem(error: GatewayError, integration: str) -> str:
    code = f" {error.code}" if error.code else ""
    detail = f" ({_clip(error.detail)})" if error.detail else ""
    if isinstance(error, GatewayUnauthorized):
        return (f"Atlas refused the credentials of {integration} (HTTP {error.status}{code}){detail}. Check the "
                "API key or service account, its organization role, and its IP access list.")
    if isinstance(error, GatewayRateLimited):
        return (f"Atlas kept rate limiting {integration} (HTTP 429{code}) after several retries. Try again in a "
                "few minutes.")
    if isinstance(error, GatewayUnreachable) and error.status is None:
        return (f"Atlas did not answer for {integration} (no connection or a timeout); it may be down or "
                "unreachable from here. Try again later.")
    if isinstance(error, GatewayUnreachable):
        return (f"Atlas answered with an error for {integration} (HTTP {error.status}{code}); it may be down. Try "
                "again later.")
    if error.status == 404:
        return (f"Atlas does not know something {integration} points at (HTTP 404{code}){detail}: check the "
                "organization ID.")
    if error.status is not None:
        return f"Atlas answered {integration} with HTTP {error.status}{code}{detail}."
    return f"{integration}: {_clip(str(error))}"


def _clip(text: str | None) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= _DETAIL else text[: _DETAIL - 1] + "…"


def rotation_words(outcome: RotationOutcome) -> str:
    if outcome.rotated and outcome.retired_old:
        return f":white_check_mark: {outcome.integration}: the credential was rotated and the old one deleted."
    if outcome.rotated:
        return f":warning: {outcome.integration}: the new credential is stored and works; {outcome.message}."
    if outcome.retired_old:
        return f":white_check_mark: {outcome.integration}: {outcome.message}."
    return f":x: {outcome.integration}: rotation failed: {outcome.message}. The current credential stays in use."


def when(moment: object) -> str:
    return messages.when(moment) if isinstance(moment, datetime) else "never"
