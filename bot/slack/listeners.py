"""The Bolt listeners of the request flow: ack first, parse, one use-case call, reply.

`/atlas-access` opens the request modal at once; options loads answer from the inventory; the modal's
submission is validated before the ack (so field errors can go back in it) and announced after, once: a replay
of it (the same view id) gets a plain ack and makes nothing new; its "This is an emergency" box is passed on as
it was submitted. Approve and Deny are authorised by the service at click time, against the resource's owners
resolved again then; the Deny modal opens only for someone who may decide the request then. What comes after an
ack runs on the `AfterAck` pool (see `bot.slack.pacing`), except `views.open`, which must use its trigger
within 3 s.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from slack_bolt import Ack, App, BoltContext, Respond
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from access import once_only
from access.errors import AccessError, FieldErrors, Replayed, RequestRefused
from access.policy import Requester
from access.service import AccessService, RequestForm
from access.several import ItemAsked
from access.text import one_line
from bot.slack import messages as words
from bot.slack import mrkdwn
from bot.slack import payloads as p
from bot.slack import views as v
from bot.slack.directory import SlackDirectory
from bot.slack.pacing import AfterAck
from bot.slack.replies import ephemeral, retrying, team_of

log = logging.getLogger(__name__)
COMMAND = "/atlas-access"


def register(app: App, *, service: AccessService, directory: SlackDirectory, after_ack: AfterAck) -> None:
    """Wire the request flow's listeners into `app`; their work after each ack goes to `after_ack`."""
    listeners = RequestListeners(service=service, directory=directory, after_ack=after_ack)
    app.command(COMMAND)(listeners.command)
    app.options(v.RESOURCE)(listeners.load_resources)
    app.action(v.RESOURCE)(listeners.resource_picked)
    app.options(v.MORE)(listeners.load_resources)
    app.action(v.MORE)(listeners.resource_picked)
    app.action(v.BUNDLE)(listeners.resource_picked)
    app.view(v.REQUEST_CALLBACK)(listeners.submit_request)
    app.action(v.APPROVE)(listeners.approve)
    app.action(v.APPROVE_ALL)(listeners.approve_all)
    app.action(v.APPROVE_FOR)(listeners.approve_for)
    app.view(v.APPROVE_FOR_CALLBACK)(listeners.submit_approve_for)
    app.action(v.DENY)(listeners.deny)
    app.view(v.DENY_CALLBACK)(listeners.submit_denial)


class RequestListeners:
    def __init__(self, *, service: AccessService, directory: SlackDirectory, after_ack: AfterAck) -> None:
        self._service = service
        self._directory = directory
        self._later = after_ack

    # --- the slash command ------------------------------------------------------------------------------

    def command(self, ack: Ack, body: dict[str, Any], respond: Respond, client: WebClient,
                context: BoltContext) -> None:
        ack()
        word, _, rest = str(body.get("text") or "").strip().partition(" ")
        word, user_id, our_team = word.lower(), p.user_of(body), team_of(context)
        if p.is_foreign(body, our_team):
            self._later(lambda: respond(text=words.FOREIGN_TEAM, response_type="ephemeral"))
        elif word in ("", "request", "emergency"):
            emergency = word == "emergency"
            self._later.urgent(lambda: self._open_request_modal(body, user_id, our_team, respond, client, emergency))
        elif word == "help":
            self._later(lambda: respond(**v.help_message(), response_type="ephemeral"))
        elif word == "list":
            self._later(lambda: self._list(user_id, respond))
        elif word == "cancel":
            self._later(lambda: respond(text=self._cancel(rest.strip().lstrip("#"), user_id),
                                        response_type="ephemeral"))
        else:
            self._later(lambda: respond(**v.help_message(prefix=f"I don't know {mrkdwn.code(word[:30])}.\n"),
                                        response_type="ephemeral"))

    def _open_request_modal(self, body: dict[str, Any], user_id: str, our_team: str | None, respond: Respond,
                            client: WebClient, emergency: bool) -> None:
        # The trigger_id is good for 3 s: the modal opens before anything is looked up. Someone who cannot
        # ask (no email, another workspace) then sees why instead of the form.
        opened = client.views_open(trigger_id=body["trigger_id"], view=v.request_modal(emergency=emergency))
        requester = self._requester(user_id, our_team)
        if isinstance(requester, str):
            client.views_update(view_id=str(opened["view"]["id"]), view=v.notice_modal(requester))
            respond(text=requester, response_type="ephemeral")
            return
        bundles = self._bundles(requester)
        if bundles:  # the flows' bundles this person may pick, offered once they are known
            try:
                client.views_update(view_id=str(opened["view"]["id"]), hash=opened["view"].get("hash"),
                                    view=v.request_modal(emergency=emergency, bundles=bundles))
            except SlackApiError as error:  # hash_conflict: a pick already updated the modal
                log.info("views.update with the bundles failed: %s", error.response.get("error"))

    def _bundles(self, requester: Requester) -> list[tuple[str, str]]:
        try:
            return self._service.bundles(requester=requester)
        except Exception:  # the database away, say: the modal works without them
            log.exception("listing the bundles failed")
            return []

    def _list(self, user_id: str, respond: Respond) -> None:
        try:
            message = v.list_message(self._service.mine(user_id=user_id))
        except Exception:  # the database away, say: the person hears so instead of nothing
            log.exception("listing %s's requests failed", user_id)
            message = {"text": words.TRY_AGAIN}
        respond(**message, response_type="ephemeral")

    def _cancel(self, text: str, user_id: str) -> str:
        request_id = p.parse_id(text)
        if request_id is None:
            return "Which request? Use `/atlas-access cancel <id>` (see `/atlas-access list`)."
        try:
            request = retrying(lambda: self._service.cancel(request_id=request_id, user_id=user_id))
        except AccessError as error:
            return words.error_text(error)
        except Exception:
            log.exception("cancelling request %s failed", text)
            return words.TRY_AGAIN
        return f"Request #{request.id} is cancelled."

    # --- the request modal ------------------------------------------------------------------------------

    def load_resources(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        requester = self._requester(p.user_of(body), team_of(context))
        if isinstance(requester, str) or p.is_foreign(body, team_of(context)):
            ack(options=[])
            return
        try:
            query = body.get("value")
            found = self._service.requestable(requester=requester, limit=100,
                                              query=one_line(query)[:100] if isinstance(query, str) else "")
        except Exception:
            log.exception("options load failed")
            ack(options=v.unavailable_options())
            return
        ack(options=v.resource_options(found))

    def resource_picked(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        self._later(lambda: self._show_form(body, client, team_of(context)))

    def _show_form(self, body: dict[str, Any], client: WebClient, our_team: str | None) -> None:
        view = body.get("view") or {}
        if not view.get("id"):
            return  # a pick from outside the request modal: there is no modal to update
        action = (body.get("actions") or [{}])[0]
        requester = self._requester(p.user_of(body), our_team)
        emergency = p.emergency_asked(view)
        if isinstance(requester, str):
            modal = v.request_modal(notice=requester, emergency=emergency)
        elif action.get("action_id") == v.BUNDLE:
            modal = self._bundle_modal(requester, str((action.get("selected_option") or {}).get("value") or ""),
                                       emergency=emergency)
        elif action.get("action_id") == v.MORE:
            modal = self._more_modal(requester, view, action, emergency=emergency)
        else:
            value = str((action.get("selected_option") or {}).get("value") or "")
            picked = v.parse_resource_value(value)
            if picked is None:
                fallback = words.TRY_AGAIN if value == v.UNAVAILABLE else words.NO_RESOURCE
                modal = v.request_modal(notice=fallback, emergency=emergency, bundles=self._bundles(requester))
            else:
                modal = self._form_modal(requester, *picked, emergency=emergency)
        try:
            client.views_update(view_id=view.get("id"), hash=view.get("hash"), view=modal)
        except SlackApiError as error:  # hash_conflict: a later pick already updated the modal
            log.info("views.update of the request modal failed: %s", error.response.get("error"))

    def _bundle_modal(self, requester: Requester, value: str, *, emergency: bool) -> dict[str, Any]:
        """A bundle picked: its first resource as the one asked for, the others under "More resources", each with
        the bundle's roles picked."""
        flow, _, bundle = value.partition("|")
        bundles = self._bundles(requester)
        try:
            items = self._service.bundle_items(requester=requester, flow=flow, bundle=bundle)
        except AccessError as error:
            return v.request_modal(notice=words.error_text(error), emergency=emergency, bundles=bundles)
        except Exception:
            log.exception("reading bundle %s failed", value[:100])
            return v.request_modal(notice=words.TRY_AGAIN, emergency=emergency, bundles=bundles)
        first, *rest = items
        return self._form_modal(requester, first.integration, first.resource_id, emergency=emergency,
                                preset=first.roles, more=rest)

    def _more_modal(self, requester: Requester, view: dict[str, Any], action: dict[str, Any], *,
                    emergency: bool) -> dict[str, Any]:
        """"More resources" changed: the form again, with the roles of each resource picked there (those already
        chosen kept)."""
        primary = p.meta_resource(view)
        if primary is None:
            return v.request_modal(notice=words.NO_RESOURCE, emergency=emergency, bundles=self._bundles(requester))
        values = p.view_values(view)
        kept = {item: p.picked_many(values, v.item_roles(index))
                for index, item in enumerate(p.meta_items(view), start=1)}
        chosen = [c for o in (action.get("selected_options") or [])[:20] if isinstance(o, dict)
                  and (c := v.parse_resource_value(str(o.get("value") or ""))) is not None]
        more = [ItemAsked(integration=i, resource_id=r, roles=kept.get((i, r), ())) for i, r in chosen]
        return self._form_modal(requester, *primary, emergency=emergency, preset=p.picked_many(values, v.ROLES),
                                more=more)

    def _form_modal(self, requester: Requester, integration: str, resource_id: str, *,
                    emergency: bool, preset: tuple[str, ...] = (), more: list[ItemAsked] | None = None
                    ) -> dict[str, Any]:
        bundles = self._bundles(requester)
        try:
            form = self._service.form(requester=requester, integration=integration, resource_id=resource_id)
            extras: list[tuple[RequestForm, tuple[str, ...]]] = [
                (self._service.form(requester=requester, integration=item.integration,
                                    resource_id=item.resource_id), item.roles) for item in more or []]
        except AccessError as error:
            return v.request_modal(notice=words.error_text(error), emergency=emergency, bundles=bundles)
        except Exception:  # the database away, say: the modal says so instead of staying as it was
            log.exception("building the request form failed")
            return v.request_modal(notice=words.TRY_AGAIN, emergency=emergency, bundles=bundles)
        group = self._directory.group_id(form.approvers.group) if form.approvers.group else None
        preview = v.approvers_preview(form, group_mention=mrkdwn.user_group(group) if group else None)
        notice = None
        if emergency and form.emergency_max_duration is None:
            notice = (f"No emergency (break-glass) access is set up for {form.resource.kind.value} "
                      f"{mrkdwn.line(form.resource.name)}: this request goes to its approvers as usual.")
        return v.request_modal(form=form, approvers=preview, notice=notice, emergency=emergency, bundles=bundles,
                               extras=extras, preset=preset)

    def submit_request(self, ack: Ack, body: dict[str, Any], context: BoltContext) -> None:
        # Validation and the commit happen before the ack so errors can still go back in it; the approval
        # message, the DM and any Atlas work come after it.
        try:
            request_id = self._submit(body, team_of(context))
        except p.InputErrors as errors:
            ack(response_action="errors", errors=errors.errors)
            return
        except Replayed:
            ack()  # stored and announced by the first delivery: the modal closes, nothing more
            return
        ack()
        self._later(lambda: self._service.announce(request_id=request_id))

    def _submit(self, body: dict[str, Any], our_team: str | None) -> int:
        if p.is_foreign(body, our_team):
            raise p.InputErrors({v.RESOURCE: words.FOREIGN_TEAM})
        view = body.get("view") or {}
        form = p.request_submission(view)
        requester = self._requester(p.user_of(body), our_team)
        if isinstance(requester, str):
            raise p.InputErrors({v.RESOURCE: requester})
        on_behalf: Requester | None = None
        if form.on_behalf is not None and form.on_behalf != requester.user_id:  # oneself there: an ordinary ask
            person = self._requester(form.on_behalf, our_team)
            if isinstance(person, str):
                raise p.InputErrors({v.ON_BEHALF: "I can't ask for that person: " + (
                    "they are not a member of this workspace." if person == words.FOREIGN_TEAM else
                    "their Slack profile shows no email address, and their Atlas username would be it.")})
            on_behalf = person
        try:
            if form.more:  # several resources in one request
                items = [ItemAsked(integration=form.integration, resource_id=form.resource_id, roles=form.roles),
                         *(ItemAsked(integration=i, resource_id=r, roles=roles) for i, r, roles in form.more)]
                request = self._service.submit_many(
                    requester=requester, items=items, duration=form.duration, justification=form.justification,
                    announce=False, emergency=form.emergency, network=form.network,
                    submission_key=once_only.submission_key(view.get("id")), on_behalf=on_behalf, start=form.start,
                )[0]  # fmt: skip
            else:
                request = self._service.submit(
                    requester=requester, integration=form.integration, resource_id=form.resource_id,
                    roles=form.roles, duration=form.duration, justification=form.justification, announce=False,
                    emergency=form.emergency, network=form.network,
                    submission_key=once_only.submission_key(view.get("id")), on_behalf=on_behalf, start=form.start,
                )  # fmt: skip
        except Replayed:
            raise
        except FieldErrors as errors:
            raise p.InputErrors(p.field_errors_to_blocks(errors.errors, form)) from None
        except RequestRefused as refused:
            raise p.InputErrors({v.RESOURCE: refused.reason}) from None
        except Exception:
            log.exception("submitting a request failed")
            raise p.InputErrors({v.RESOURCE: words.TRY_AGAIN}) from None
        assert request.id is not None  # stored
        return request.id

    # --- approve and deny -------------------------------------------------------------------------------

    def approve(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        self._later.granting(lambda: self._approve(body, client, team_of(context)))

    def _approve(self, body: dict[str, Any], client: WebClient, our_team: str | None) -> None:
        user_id, request_id = p.user_of(body), p.request_id_of(body)
        if p.is_foreign(body, our_team) or request_id is None:
            self._tell_clicker(client, body, words.FOREIGN_TEAM if request_id else words.TRY_AGAIN)
            return
        try:
            retrying(lambda: self._service.approve(request_id=request_id, user_id=user_id))
        except AccessError as error:
            self._tell_clicker(client, body, words.error_text(error))
        except Exception:  # the database away, say: nothing was decided, and the clicker hears so
            log.exception("approving request %s failed", request_id)
            self._tell_clicker(client, body, words.TRY_AGAIN)

    def approve_all(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        self._later(lambda: self._approve_all(body, client, team_of(context)))

    def _approve_all(self, body: dict[str, Any], client: WebClient, our_team: str | None) -> None:
        """Every waiting item of the message, each approved on its own; the clicker hears which were refused."""
        user_id, request_id = p.user_of(body), p.request_id_of(body)
        if p.is_foreign(body, our_team) or request_id is None:
            self._tell_clicker(client, body, words.FOREIGN_TEAM if request_id else words.TRY_AGAIN)
            return
        try:
            outcomes = self._service.approve_all(request_id=request_id, user_id=user_id)
        except AccessError as error:
            self._tell_clicker(client, body, words.error_text(error))
            return
        except Exception:
            log.exception("approving the items of request %s failed", request_id)
            self._tell_clicker(client, body, words.TRY_AGAIN)
            return
        refused = [f"#{item.id} {mrkdwn.line(item.resource_name)}: {words.error_text(error)}"
                   for item, error in outcomes if error is not None]
        if refused:
            self._tell_clicker(client, body, "Not approved:\n" + "\n".join(refused))

    def approve_for(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        """"Approve for…": a modal (for someone who may decide the request now) with a duration and a reason."""
        ack()
        self._open_decision_modal(body, client, context, self._open_approve_for)

    def _open_decision_modal(self, body: dict[str, Any], client: WebClient, context: BoltContext,
                             open_modal: Callable[[dict[str, Any], int, WebClient], None]) -> None:
        """A decision's modal (Approve for…, Deny) opened at once for a click from our workspace on a request."""
        request_id = p.request_id_of(body)
        if p.is_foreign(body, team_of(context)) or request_id is None:
            text = words.FOREIGN_TEAM if request_id else words.TRY_AGAIN
            self._later(lambda: self._tell_clicker(client, body, text))
            return
        self._later.urgent(lambda: open_modal(body, request_id, client))

    def _open_approve_for(self, body: dict[str, Any], request_id: int, client: WebClient) -> None:
        try:
            request = self._service.may_decide(request_id=request_id, user_id=p.user_of(body))
            required = self._service.reason_required(request)
        except AccessError as error:
            self._tell_clicker(client, body, words.error_text(error))
            return
        except Exception:
            log.exception("checking who may approve request %s failed", request_id)
            self._tell_clicker(client, body, words.TRY_AGAIN)
            return
        client.views_open(trigger_id=body["trigger_id"], view=v.approve_for_modal(request, reason_required=required))

    def submit_approve_for(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        # The terms (at most what was asked, a reason where the flow needs one) are checked before the ack so they
        # go back into the modal; the decision itself, authorised at that moment, comes after it.
        view = body.get("view") or {}
        try:
            if p.is_foreign(body, team_of(context)):
                raise p.InputErrors({v.REASON: words.FOREIGN_TEAM})
            request_id = p.parse_id(view.get("private_metadata"))
            if request_id is None:
                raise p.InputErrors({v.DURATION: "This form has lost track of its request; click Approve for… again."})
            state = p.view_values(view)
            duration = p.duration_answer(p.picked(state, v.DURATION), block=v.DURATION)
            reason = p.typed(state, v.REASON)
            try:
                self._service.check_approval(request_id=request_id, duration=duration, reason=reason)
            except FieldErrors as errors:
                raise p.InputErrors({v.DURATION if key == "duration" else v.REASON: message
                                     for key, message in errors.errors.items()}) from None
            except AccessError as error:
                raise p.InputErrors({v.DURATION: words.error_text(error)}) from None
        except p.InputErrors as errors:
            ack(response_action="errors", errors=errors.errors)
            return
        ack()
        user_id = p.user_of(body)
        self._later.granting(lambda: self._approve_for(request_id, user_id, duration, reason, client))

    def _approve_for(self, request_id: int, user_id: str, duration: timedelta, reason: str,
                     client: WebClient) -> None:
        try:
            retrying(lambda: self._service.approve(request_id=request_id, user_id=user_id, duration=duration,
                                                   reason=reason))
        except AccessError as error:
            self._tell_about_request(client, request_id, user_id, words.error_text(error))
        except Exception:
            log.exception("approving request %s failed", request_id)
            ephemeral(client, channel=None, user_id=user_id, text=words.TRY_AGAIN)

    def deny(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        ack()
        self._open_decision_modal(body, client, context, self._open_deny)

    def _open_deny(self, body: dict[str, Any], request_id: int, client: WebClient) -> None:
        """The Deny modal, for someone who may decide the request now; anyone else hears why instead."""
        try:
            self._service.may_decide(request_id=request_id, user_id=p.user_of(body))
        except AccessError as error:
            self._tell_clicker(client, body, words.error_text(error))
            return
        except Exception:  # the database away, say: no modal whose submission could not be taken
            log.exception("checking who may deny request %s failed", request_id)
            self._tell_clicker(client, body, words.TRY_AGAIN)
            return
        client.views_open(trigger_id=body["trigger_id"], view=v.deny_modal(request_id))

    def submit_denial(self, ack: Ack, body: dict[str, Any], client: WebClient, context: BoltContext) -> None:
        try:
            if p.is_foreign(body, team_of(context)):
                raise p.InputErrors({v.REASON: words.FOREIGN_TEAM})
            request_id, reason = p.deny_reason(body.get("view") or {})
        except p.InputErrors as errors:
            ack(response_action="errors", errors=errors.errors)
            return
        ack()
        self._later(lambda: self._deny(request_id, p.user_of(body), reason, client))

    def _deny(self, request_id: int, user_id: str, reason: str, client: WebClient) -> None:
        try:
            retrying(lambda: self._service.deny(request_id=request_id, user_id=user_id, reason=reason))
        except AccessError as error:
            self._tell_about_request(client, request_id, user_id, words.error_text(error))
        except Exception:
            log.exception("denying request %s failed", request_id)
            ephemeral(client, channel=None, user_id=user_id, text=words.TRY_AGAIN)

    # --- helpers ----------------------------------------------------------------------------------------

    def _requester(self, user_id: str, our_team: str | None) -> Requester | str:
        """The person asking, from their Slack profile; or why they cannot ask (the words to tell them).

        Slash commands carry no home workspace of the person, so it comes from users.info as the email does.
        """
        user = self._directory.user(user_id)
        if user is not None and (not our_team or (user.team_id and user.team_id != our_team)):
            return words.FOREIGN_TEAM
        if user is None or not user.email:
            return words.NO_EMAIL
        return Requester(user_id=user_id, email=user.email)

    def _tell_clicker(self, client: WebClient, body: dict[str, Any], text: str) -> None:
        ephemeral(client, channel=p.clicked_in(body), user_id=p.user_of(body), text=text)

    def _tell_about_request(self, client: WebClient, request_id: int, user_id: str, text: str) -> None:
        try:
            channel = self._service.get(request_id)[0].channel
        except AccessError:
            channel = None
        ephemeral(client, channel=channel, user_id=user_id, text=text)

