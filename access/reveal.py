"""Show a temporary database user's sign-in once: the "Show credentials" button of the DM that replaced the password.

The sign-in was held in the CredentialVault when the user was made (access.database_access); here the grant's
requester takes it, which deletes it, so a second click (or a click on another replica) finds nothing and is
refused. Only the requester may; only while the grant is active and within its 10 minutes. The showing is audited
(`credentials_revealed`, with the database user's name only). A sign-in never shown is the sweep's
(`DatabaseUserSteps.sweep_unrevealed`): the grant is ended and the user deleted.
"""

from __future__ import annotations

import logging

from access.entities import AuditEvent
from access.errors import NotAllowed
from access.model import GrantStatus, HeldCredentials
from access.ports import Clock, CredentialVault, Store

log = logging.getLogger(__name__)
GONE = ("These credentials cannot be shown: they are shown once only, for 10 minutes after the user is made. "
        "If you did not see them, ask for access again once this grant has ended.")
NOT_YOURS = "These credentials are not yours to see."


class CredentialReveals:
    def __init__(self, *, store: Store, vault: CredentialVault, clock: Clock) -> None:
        self._store = store
        self._vault = vault
        self._clock = clock

    def reveal(self, *, grant_id: int, user_id: str) -> HeldCredentials:
        """The sign-in, taken out of the vault for good; NotAllowed (saying why) when it cannot be shown."""
        with self._store.unit_of_work() as uow:
            grant = uow.grants.get(grant_id)
        if grant is None or grant.requester_id != user_id:
            raise NotAllowed(NOT_YOURS)
        if grant.status is not GrantStatus.ACTIVE:
            self._vault.drop(grant_id)
            raise NotAllowed(GONE)
        held = self._vault.take(grant_id=grant_id, requester_id=user_id, now=self._clock.now())
        if held is None:
            raise NotAllowed(GONE)
        try:  # taken is taken: the person sees it even if the audit row cannot be written now
            with self._store.unit_of_work() as uow:
                uow.audit.add(AuditEvent(
                    at=self._clock.now(), actor=user_id, action="credentials_revealed", integration=grant.integration,
                    request_id=grant.request_id, grant_id=grant.id,
                    detail={"resource": grant.resource_name, "database_user": grant.database_user}))
        except Exception as error:
            log.warning("grant %s: auditing the showing of its credentials failed: %s", grant_id,
                        type(error).__name__)
        return held

    def put_back(self, held: HeldCredentials) -> None:
        """Slack would not show what was taken: hold it again (until its own time), so a later click may."""
        if held.expires_at > self._clock.now():
            self._vault.hold(held)
