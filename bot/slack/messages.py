"""Words for people: the one place that turns domain errors, states and events into Slack text.

Listeners, views and the notifier never word an error themselves; they ask here, so the same refusal
reads the same everywhere.
"""

from __future__ import annotations

from datetime import datetime

from access.config import IntegrationSpec
from access.entities import AccessRequest, Grant
from access.errors import AccessError, AlreadyDecided, FieldErrors, NotAllowed, NotFound, RequestRefused
from access.model import GrantStatus, RequestStatus, ResourceKind
from access.steps import current_step, rule_words
from bot.slack import mrkdwn

NO_EMAIL = (
    "I can't see an email address on your Slack profile, and atlas-access needs one: your Atlas username is "
    "your email. Please ask a Slack admin to make profile emails visible, then try again."
)
FOREIGN_TEAM = "Sorry, only members of this workspace can use atlas-access here."
TRY_AGAIN = "Something went wrong on our side. Please try again in a minute."
NO_RESOURCE = "Pick an organization or project first."


def error_text(error: BaseException) -> str:
    """What to tell the person whose action raised `error`."""
    if isinstance(error, AlreadyDecided):
        return _already_decided(error)
    if isinstance(error, NotAllowed | RequestRefused):
        return mrkdwn.text(error.reason)
    if isinstance(error, NotFound):
        return "I can't find that request any more."
    if isinstance(error, FieldErrors):
        return mrkdwn.text(" ".join(error.errors.values()))
    if isinstance(error, AccessError):
        return mrkdwn.text(str(error))
    return TRY_AGAIN


def _already_decided(error: AlreadyDecided) -> str:
    if error.status.startswith("approved by you"):
        return "You have already approved this request; it is waiting for another approver."
    by = error.by
    if by == "auto":
        return f"This request was already {error.status} automatically."
    if by == "break_glass":
        return f"This request was already {error.status} through break-glass."
    if by in (None, "system"):
        return f"This request was already {error.status}."
    return f"This request was already {error.status} by {mention(by)}."


# --- small formatters --------------------------------------------------------------------------------------


def mention(user_id: str) -> str:
    return mrkdwn.mention(user_id)


def asker_words(request: AccessRequest) -> str:
    """`<@ann>`, or `<@dan> on behalf of <@ann>` for a request a delegate made: approvers see both names."""
    if request.requested_by:
        return f"{mention(request.requested_by)} on behalf of {mention(request.requester_id)}"
    return mention(request.requester_id)


def when(moment: datetime | None) -> str:
    """A time every reader sees in their own timezone, with a UTC fallback for clients that cannot."""
    if moment is None:
        return "(not yet)"
    fallback = moment.strftime("%Y-%m-%d %H:%M UTC")
    return f"<!date^{int(moment.timestamp())}^{{date_short_pretty}} at {{time}}|{fallback}>"


def duration_words(seconds: int) -> str:
    """`2 hours`, `1 day 4 hours`, `1 hour 30 minutes`: reads better than `1h30m` in a sentence."""
    minutes = seconds // 60
    days, rest = divmod(minutes, 1440)
    hours, mins = divmod(rest, 60)
    parts = [(days, "day"), (hours, "hour"), (mins, "minute")]
    words = [f"{n} {unit}{'s' if n != 1 else ''}" for n, unit in parts if n]
    return " ".join(words) or "less than a minute"


def roles_words(roles: tuple[str, ...] | list[str]) -> str:
    return ", ".join(mrkdwn.code(role) for role in roles) or "no roles"


def resource_words(request: AccessRequest | Grant) -> str:
    return f"{request.resource_kind.value} *{mrkdwn.line(request.resource_name)}*"


def sign_in_words(grant: Grant) -> str:
    """How a database grant is used, for the App Home: its sign-in and the network path it opened ("" for others)."""
    if grant.resource_kind is not ResourceKind.CLUSTER:
        return ""
    how = "X.509 certificate" if grant.database_auth == "x509" else "password"
    where = f" · from {mrkdwn.code(grant.network_entry)}" if grant.network_entry else ""
    return f" · {how}{where}"


# --- states ------------------------------------------------------------------------------------------------


def decision_words(request: AccessRequest) -> str | None:
    """Who decided, when and why, once the request is no longer pending."""
    at = when(request.decided_at)
    if request.status is RequestStatus.APPROVED:
        if request.decided_by == "auto" and request.on_call is not None and request.on_call.approved:
            return f":pager: Approved at once at {at}: the requester was on call."
        if request.decided_by == "auto":
            return f":white_check_mark: Approved automatically at {at}."
        if request.decided_by == "break_glass":
            return f":rotating_light: Granted at once through break-glass, without approval, at {at}."
        approvers = ", ".join(mention(a.user_id) for a in request.approvals) or mention(request.decided_by or "?")
        note = f" {request.outcome_note}" if request.outcome_note else ""  # less time than asked, and why
        return f":white_check_mark: Approved by {approvers} at {at}.{note}{approval_reasons(request)}"
    if request.status is RequestStatus.DENIED:
        reason = f" Reason: “{mrkdwn.line(request.deny_reason)}”" if request.deny_reason else ""
        return f":no_entry: Denied by {mention(request.decided_by or '?')} at {at}.{reason}"
    if request.status is RequestStatus.CANCELLED:
        return f":wastebasket: Cancelled by {mention(request.decided_by or request.requester_id)} at {at}."
    if request.status is RequestStatus.EXPIRED:
        return f":hourglass: Expired without a decision at {at}."
    return None


def steps_words(request: AccessRequest) -> str | None:
    """The steps of a multi-step approval, each with who decided it (or that it waits), for the approval message."""
    if not request.approval_steps:
        return None
    waiting = current_step(request)
    lines = ["*Approval steps*"]
    for index, rule in enumerate(request.approval_steps):
        given = [a for a in request.approvals if a.step == index]
        who = ", ".join(mention(a.user_id) for a in given)
        if len(given) >= rule.required:
            state = f":white_check_mark: approved by {who}"
        elif request.status is RequestStatus.DENIED and index == waiting:
            state = f":no_entry: denied by {mention(request.decided_by or '?')}"
        elif index == waiting and request.status is RequestStatus.PENDING:
            state = f":hourglass_flowing_sand: waiting ({len(given)} of {rule.required}{': ' + who if who else ''})"
        elif request.status is RequestStatus.PENDING:
            state = "after the step before"
        else:
            state = "not reached"
        lines.append(f"{index + 1}. {mrkdwn.line(rule_words(rule))} ({rule.required} needed): {state}")
    return "\n".join(lines)


def grant_words(grant: Grant) -> str:
    """The grant's standing in Atlas, in a phrase."""
    status = grant.status
    if status is GrantStatus.GRANTING:
        if not grant.last_error and grant.attempts == 0 and grant.next_attempt_at is not None \
                and grant.next_attempt_at > grant.created_at:  # scheduled access, waiting for its start
            return f":calendar: scheduled: granted at {when(grant.next_attempt_at)}"
        if grant.last_error:
            return f":warning: granting failed (attempt {max(1, grant.attempts)}): retrying"
        return ":gear: granting in Atlas…"
    if status is GrantStatus.INVITED:
        return (f":email: invited — waiting for {mention(grant.requester_id)} to accept the Atlas invitation; "
                "the clock starts on acceptance")
    if status is GrantStatus.ACTIVE:
        return f":large_green_circle: active until {when(grant.expires_at)}"
    if status is GrantStatus.REVOKING:
        if grant.ended_as is not None:
            return f":octagonal_sign: revoking now: {revoked_by_words(grant)}"
        if grant.starts_at is None and grant.last_error:
            return ":x: failed: Atlas kept refusing the grant; removing anything partly granted"
        return ":gear: revoking…"
    if status is GrantStatus.FAILED:
        return f":warning: revocation failed (attempt {grant.attempts}): retrying"
    if grant.granted_at is None:  # never reached Atlas: a grant given up, whatever it partly did taken back
        return f":x: granting failed: Atlas kept refusing; nothing of it is left in Atlas ({when(grant.revoked_at)})"
    if grant.ended_as is not None:
        return f":octagonal_sign: revoked at {when(grant.revoked_at)}: {revoked_by_words(grant)}"
    if grant.starts_at is None:
        return f":black_circle: invitation withdrawn at {when(grant.revoked_at)}"
    return f":black_circle: revoked at {when(grant.revoked_at)}"


def revoked_by_words(grant: Grant) -> str:
    """`revoked by @dan (an admin). Reason: “…”`: who ended someone's grant through Revoke now, and why."""
    who = "an admin" if grant.ended_as == "admin" else "an owner of the resource"
    reason = f" Reason: “{mrkdwn.line(grant.end_reason)}”" if grant.end_reason else ""
    return f"revoked by {mention(grant.ended_by or '?')} ({who}).{reason}"


def status_words(request: AccessRequest, grant: Grant | None) -> str:
    """One phrase for a request and its grant, as `list` shows them."""
    if grant is not None:
        return grant_words(grant)
    if request.status is RequestStatus.PENDING:
        return f"pending ({len(request.approvals)} of {request.approvals_required} approvals)"
    return request.status.value


# --- what the requester is told ----------------------------------------------------------------------------


def requester_text(*, request: AccessRequest, grant: Grant | None, event: str, integration: IntegrationSpec,
                   kept_by_other_grants: tuple[str, ...] = ()) -> str:
    """The DM for one event of the requester's request (`kept_by_other_grants`: on "revoked", the grant's
    roles that stayed because another live grant of the person's still gives them)."""
    what = f"{roles_words(request.roles)} on {resource_words(request)}"
    ref = f"request #{request.id}"
    words = _EVENTS.get(event)
    if event == "revoked":
        text = _revoked(request, grant, what, ref, kept_by_other_grants)
    else:
        text = words(request, grant, what, ref) if words else f"Your {ref} ({what}): {event.replace('_', ' ')}."
    if event in ("granted", "activated") and integration.custom_access_details:
        text += "\n" + mrkdwn.text(integration.custom_access_details)
    if event == "requested" and request.requested_by:
        text = f"{mention(request.requested_by)} asked for this access on your behalf. {text}"
    if request.group_id is not None and event != "requested":
        text = f"One item of your request of several resources: {text}"
    return text


def group_requested_text(items: list[tuple[AccessRequest, Grant | None]]) -> str:
    """The one DM a request of several resources gets when it is sent: every item, where it went, and the end."""
    first = items[0][0]
    lines = []
    for request, grant in items:
        who = f"@{mrkdwn.line(request.approver_group)}" if request.approver_group else "its approvers"
        state = status_words(request, grant) if request.status is not RequestStatus.PENDING else f"sent to {who}"
        lines.append(f"• #{request.id} {roles_words(request.roles)} on {resource_words(request)} — {state}")
    end = f" All of it ends together, {when(first.ends_at)}." if first.ends_at is not None else ""
    on_behalf = f"{mention(first.requested_by)} asked for this access on your behalf. " if first.requested_by else ""
    return (f"{on_behalf}I've sent your request for {len(items)} resources, each to its own approvers; each is "
            f"granted as soon as it is approved, and I'll tell you how each goes.{end}\n" + "\n".join(lines))


def group_decided_text(items: list[tuple[AccessRequest, Grant | None]]) -> str:
    """The DM once every item of a request of several resources is decided: each item's outcome."""
    lines = []
    for request, grant in items:
        why = f": “{mrkdwn.line(request.deny_reason)}”" if request.status is RequestStatus.DENIED and \
            request.deny_reason else ""
        lines.append(f"• #{request.id} {roles_words(request.roles)} on {resource_words(request)} — "
                     f"{status_words(request, grant)}{why}")
    granted = sum(1 for r, _ in items if r.status is RequestStatus.APPROVED)
    return (f"Every item of your request of several resources is decided: {granted} of {len(items)} approved.\n"
            + "\n".join(lines))


DELEGATE_EVENTS = ("requested", "approved", "denied", "granted", "invited", "grant_failed", "expired")


def delegate_text(request: AccessRequest, text: str) -> str:
    """What the person who asked on someone's behalf reads of an event: the requester's DM, introduced."""
    return f"About the access you asked for on behalf of {mention(request.requester_id)}: {text}"


def _requested(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    if request.break_glass:
        return (f":rotating_light: Break-glass: your {ref} for {what} is granted at once, without approval. "
                "It has been announced in the approvals channel, and its owners will review it afterwards. "
                "Granting it in Atlas now…")
    if request.on_call is not None and request.on_call.approved:
        return _on_call_approved(request, what, ref)
    if request.status is RequestStatus.APPROVED:
        return f"Your {ref} for {what} was approved automatically. Granting it in Atlas now…"
    who = "its approvers"
    if request.approver_group:
        who = f"@{mrkdwn.line(request.approver_group)}"
    if request.extends_grant_id is not None:
        return (f"I've sent your {ref} for {duration_words(request.duration_seconds)} more of {what} to {who}. "
                "Your access stays as it is until it is decided.")
    start = f", starting {when(request.starts_at)}" if request.starts_at is not None else ""
    return (f"I've sent your {ref} for {what} ({duration_words(request.duration_seconds)}{start}) to {who} for "
            "approval. I'll tell you here when it is decided.")


def _on_call_approved(request: AccessRequest, what: str, ref: str) -> str:
    note = request.on_call
    where = mrkdwn.line((note.schedule_name or note.schedule_id or "") if note else "")
    extra = f" {mrkdwn.line(request.outcome_note)}" if request.outcome_note else ""
    return (f":pager: You are on call in *{where}*: your {ref} for {what} is approved at once for "
            f"{duration_words(request.duration_seconds)}.{extra} Its owners have been told. Granting it in Atlas "
            "now…")


def _approved(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    by = "automatically" if request.decided_by == "auto" else f"by {mention(request.decided_by or '?')}"
    why = approval_reasons(request)
    if request.extends_grant_id is not None and request.outcome_note:  # less than asked, or nothing: it says why
        return (f"Your {ref} for {duration_words(request.duration_seconds)} more of {what} was approved {by}. "
                f"{request.outcome_note}{why}")
    if request.extends_grant_id is not None:
        return (f"Your {ref} for {duration_words(request.duration_seconds)} more of {what} was approved {by}: "
                f"your access lasts that much longer.{why}")
    then = "Granting it in Atlas now…"
    if request.starts_at is not None and request.decided_at is not None and request.starts_at > request.decided_at:
        then = f"It is granted at {when(request.starts_at)}, for {duration_words(request.duration_seconds)}."
    if request.outcome_note:  # "Approve for…": less time than asked
        return (f"Your {ref} for {what} was approved {by} for {duration_words(request.duration_seconds)}. "
                f"{request.outcome_note}{why} {then}")
    return f"Your {ref} for {what} was approved {by}.{why} {then}"


def approval_reasons(request: AccessRequest) -> str:
    """` Reason from @bob: “…”` for each approval that gave one (typed text, escaped)."""
    return "".join(f" Reason from {mention(a.user_id)}: “{mrkdwn.line(a.reason)}”"
                   for a in request.approvals if a.reason)


def _expiring(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    until = when(grant.expires_at) if grant else "soon"
    return (f":hourglass_flowing_sand: Your {what} ({ref}) ends at {until}. Need longer? Extend it; "
            "done already? End it now from the Home tab.")


def _pending_reminded(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    return f"Your {ref} for {what} is still waiting for a decision: I've reminded its approvers."


def _pending_escalated(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    return (f"Your {ref} for {what} is still undecided: I've asked the integration owners to look at it. "
            "If nobody decides it, it will expire and you can ask again.")


def pending_words(request: AccessRequest) -> str | None:
    """What was done about an undecided request, for its approval message."""
    if request.status is not RequestStatus.PENDING:
        return None
    if request.escalated_at is not None:
        return f":alarm_clock: Undecided for long: escalated to the integration owners at {when(request.escalated_at)}."
    if request.reminded_at is not None:
        return f":alarm_clock: Still waiting: approvers reminded at {when(request.reminded_at)}."
    return None


def _denied(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    reason = f" Reason: “{mrkdwn.line(request.deny_reason)}”" if request.deny_reason else ""
    return f"Your {ref} for {what} was denied by {mention(request.decided_by or '?')}.{reason}"


def _granted(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    until = when(grant.expires_at) if grant else "the end of the period"
    return f":white_check_mark: You now have {what} until {until}{_approved_by(request)}."


def _approved_by(request: AccessRequest) -> str:
    """Who approved it and on what terms, for the message that follows an approval at once (no separate "approved"
    DM then): "Approve for…" less time than asked says so, with each approver's reason."""
    if not request.decided_by or request.decided_by in ("auto", "break_glass", "system"):
        return ""  # approved by no person (on call, break-glass): its own messages say how
    note = request.outcome_note.rstrip(".") if request.outcome_note and request.extends_grant_id is None else ""
    terms = f"; {note[:1].lower()}{note[1:]}" if note else ""  # "; approved for 1 hour instead of the 4 hours asked"
    return f" (approved by {mention(request.decided_by)}{terms}){approval_reasons(request)}"


def _invited(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    return (f":email: You're invited to the Atlas organization for {what}{_approved_by(request)}. "
            "Accept the invitation email from "
            f"MongoDB Atlas; your time ({duration_words(request.duration_seconds)}) starts when you accept.")


def _activated(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    until = when(grant.expires_at) if grant else "the end of the period"
    return f":white_check_mark: You accepted the Atlas invitation: you have {what} until {until}."


def _revoked(request: AccessRequest, grant: Grant | None, what: str, ref: str,
             kept_by_other_grants: tuple[str, ...] = ()) -> str:
    if request.resource_kind is ResourceKind.CLUSTER:
        user = f" {mrkdwn.code(grant.database_user)}" if grant is not None and grant.database_user else ""
        gone = f"Your temporary database user{user} on {resource_words(request)} is gone: {ref} has ended."
        return gone + (f" It was {revoked_by_words(grant)}" if grant is not None and grant.ended_as else "")
    if grant is not None and grant.starts_at is None and grant.ended_as is not None:
        return f":octagonal_sign: The Atlas invitation for {what} ({ref}) was withdrawn: {revoked_by_words(grant)}"
    if grant is not None and grant.starts_at is None:
        return f"The Atlas invitation for {what} was withdrawn: it was not accepted in time ({ref})."
    if grant is None:
        return f"Your access from {ref} ({what}) has ended."
    kept = [role for role in grant.roles if role in grant.baseline_roles]
    others = [role for role in grant.roles if role in kept_by_other_grants and role not in kept]
    removed = [role for role in grant.roles if role not in kept and role not in others]
    text = f"Your access from {ref} on {resource_words(request)} has ended."
    if grant.ended_as is not None:
        text = f":octagonal_sign: Your access from {ref} on {resource_words(request)} was {revoked_by_words(grant)}"
    if removed:
        text += f" Removed: {roles_words(removed)}."
    if kept:
        text += f" Kept: {roles_words(kept)}, because you had {'it' if len(kept) == 1 else 'them'} before."
    if others:
        text += (f" Kept: {roles_words(others)}, because another of your requests still gives "
                 f"{'it' if len(others) == 1 else 'them'}.")
    return text + " Access you hold through Atlas teams or other requests is not affected."


def _grant_failed(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    error = f" (last error: {mrkdwn.line(grant.last_error[:300])})" if grant and grant.last_error else ""
    return (f":x: I could not grant {what} in Atlas{error}. Anything partly granted is being removed. "
            "Please try again later or ask the integration owners.")


def _reviewed(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    return f"Your break-glass access from {ref} ({what}) was reviewed by {mention(request.reviewed_by or '?')}."


def _cancelled(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    return f"Your {ref} for {what} was cancelled."


def _expired(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    return f"Your {ref} for {what} expired without a decision."


def _credentials_unrevealed(request: AccessRequest, grant: Grant | None, what: str, ref: str) -> str:
    user = mrkdwn.code(grant.database_user or "") if grant is not None else "the temporary database user"
    return (f":lock: Your {ref} ({what}): its credentials were not shown within 10 minutes, so {user} is being "
            "deleted. Ask again when you need access.")


_EVENTS = {
    "requested": _requested, "approved": _approved, "denied": _denied, "granted": _granted, "invited": _invited,
    "activated": _activated, "revoked": _revoked, "grant_failed": _grant_failed, "cancelled": _cancelled,
    "expired": _expired, "break_glass_reviewed": _reviewed, "expiring": _expiring,
    "pending_reminded": _pending_reminded, "pending_escalated": _pending_escalated,
    "credentials_unrevealed": _credentials_unrevealed,
}  # fmt: skip


def credentials_offer_text(*, request: AccessRequest, grant: Grant, until: datetime) -> str:
    """The DM that replaced the password: the user is ready, its sign-in is shown once by the button (no secret).
    For an X.509 user it says a certificate is waiting (and that it outlives the user, who is still deleted)."""
    if grant.database_auth == "x509":
        return (
            f":key: You now have {roles_words(grant.roles)} on {resource_words(grant)} (request #{request.id}) "
            f"through a temporary X.509 database user, {mrkdwn.code(grant.database_user or '')}, until "
            f"{when(grant.expires_at)}.\nA certificate is waiting for you: press *Show credentials* to see it "
            f"(with its private key) and the connection string. It is shown once only, and only until {when(until)}. "
            "Not shown by then, the user is deleted. The certificate may stay valid for longer, but the user it "
            "signs in as is deleted at the end of the period, by Atlas itself even if atlas-access is down."
        )
    return (
        f":key: You now have {roles_words(grant.roles)} on {resource_words(grant)} (request #{request.id}) "
        f"through a temporary database user, {mrkdwn.code(grant.database_user or '')}, until "
        f"{when(grant.expires_at)}.\nPress *Show credentials* to see its password and connection string: they "
        f"are shown once only, and only until {when(until)}. Not shown by then, the user is deleted. Atlas deletes "
        "the user at the end of the period by itself, even if atlas-access is down."
    )
