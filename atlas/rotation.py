"""Rotating the bot's own Atlas credential: issue a new one like the old, prove it works, retire the old.

The steps are separate so the caller can store the new credential between "issue" and "retire": at every
moment a working credential is stored. API keys are recreated with the same roles, description and access
list (organization roles at creation, project roles by `addGroupApiKey`); service accounts get a new secret
on the same account. A step that fails after the new credential exists deletes it again, so a failed issue
leaves Atlas as it was.

`AtlasCredentialAuthority` is the domain's CredentialAuthority port over `CredentialRotator`: it reads the
integration's credentials, converts what it issues to the domain's spec, and what fails leaves it as GatewayError.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from access.config import IntegrationSpec, IssuedCredential
from access.ports import CredentialAuthority
from atlas.client import AtlasClient
from atlas.clients import AtlasClients
from atlas.credentials import ApiKey, Credentials, ServiceAccount, as_spec
from atlas.errors import AtlasError, AtlasNotFound, AtlasServerError, AtlasTransportError, at_the_port

log = logging.getLogger(__name__)
ClientFactory = Callable[[Credentials], AtlasClient]


class RotationError(AtlasError):
    """A rotation step failed; the message says which, never a secret."""


@dataclass(frozen=True, kw_only=True)
class Issued:
    credentials: Credentials
    new_id: str  # the new API key's id, or the new secret's id
    old_id: str | None  # what to retire once the new one is stored (None: could not tell which)


class CredentialRotator:
    def __init__(self, *, client_for: ClientFactory, secret_hours: int = 24 * 90,
                 now: Callable[[], datetime] | None = None) -> None:
        self._client_for = client_for
        self._secret_hours = secret_hours
        self._now = now

    def issue(self, *, organization_id: str, current: Credentials) -> Issued:
        if isinstance(current, ApiKey):
            return self._issue_api_key(organization_id, current)
        return self._issue_secret(organization_id, current)

    def retire(self, *, organization_id: str, using: Credentials, old_id: str) -> None:
        """Delete the old key or secret with the new credential; already gone counts as done."""
        client = self._client_for(using)
        try:
            if isinstance(using, ApiKey):
                client.call("deleteOrgApiKey", path_params={"orgId": organization_id, "apiUserId": old_id})
            else:
                client.call("deleteOrgServiceAccountSecret", path_params={
                    "orgId": organization_id, "clientId": using.client_id, "secretId": old_id})
        except AtlasNotFound:
            return

    def discard(self, *, organization_id: str, current: Credentials, issued: Issued) -> None:
        """Undo an issue whose credential could not be stored (best effort, with the old credential)."""
        self.retire(organization_id=organization_id, using=current, old_id=issued.new_id)

    def _issue_api_key(self, organization_id: str, current: ApiKey) -> Issued:
        client = self._client_for(current)
        keys = list(client.paginate("listOrgApiKeys", path_params={"orgId": organization_id}))
        mine = next((key for key in keys if key.get("publicKey") == current.public_key), None)
        if mine is None:
            raise RotationError(f"API key {current.public_key} is not an API key of organization {organization_id}")
        access = list(client.paginate("listOrgApiKeyAccessListEntries",
                                      path_params={"orgId": organization_id, "apiUserId": mine["id"]}))
        org_roles, project_roles = _key_roles(mine.get("roles", []), organization_id)
        desc = _desc(mine.get("desc"))
        try:
            created = client.call("createOrgApiKey", path_params={"orgId": organization_id},
                                  json={"desc": desc, "roles": org_roles or ["ORG_MEMBER"]})
        except (AtlasTransportError, AtlasServerError):
            # The answer was lost (a POST is not sent twice): Atlas may have made the key all the same, and
            # nobody would hold its private key. Delete any key of ours that was not there before.
            self._sweep_unanswered(client, organization_id, desc, before={str(key["id"]) for key in keys})
            raise
        new = ApiKey(public_key=created["publicKey"], private_key=created["privateKey"])
        try:
            self._copy_access(client, organization_id, created["id"], access, project_roles)
            self._verify(new, organization_id)
        except Exception:
            self._undo(organization_id, current, created["id"])
            raise
        return Issued(credentials=new, new_id=created["id"], old_id=mine["id"])

    @staticmethod
    def _copy_access(client: AtlasClient, organization_id: str, key_id: str, access: list[dict[str, object]],
                     project_roles: dict[str, list[str]]) -> None:
        """Give the new key the old one's access list and project roles."""
        entries = [{"cidrBlock": e["cidrBlock"]} if e.get("cidrBlock") else {"ipAddress": e["ipAddress"]}
                   for e in access]
        if entries:
            client.call("createOrgApiKeyAccessListEntry",
                        path_params={"orgId": organization_id, "apiUserId": key_id}, json=entries)
        for group_id, roles in sorted(project_roles.items()):
            client.call("addGroupApiKey", path_params={"groupId": group_id, "apiUserId": key_id},
                        json=[{"roles": roles}])

    @staticmethod
    def _sweep_unanswered(client: AtlasClient, organization_id: str, desc: str, *, before: set[str]) -> None:
        try:
            made = [str(key["id"]) for key in client.paginate("listOrgApiKeys", path_params={"orgId": organization_id})
                    if str(key["id"]) not in before and key.get("desc") == desc]
            for key_id in made:
                client.call("deleteOrgApiKey", path_params={"orgId": organization_id, "apiUserId": key_id})
                log.warning("deleted API key %s, made by a creation whose answer was lost", key_id)
        except AtlasError as error:
            raise RotationError(f"creating the new API key got no answer, and looking for a key it may have made "
                                f"failed too ({error}): look in Atlas for an API key described {desc!r} that "
                                f"atlas-access does not use, and delete it") from error

    def _undo(self, organization_id: str, current: Credentials, new_id: str) -> None:
        """Delete a half-made credential; the error that caused this is what the caller hears about."""
        try:
            self.retire(organization_id=organization_id, using=current, old_id=new_id)
        except AtlasError as error:
            log.warning("could not delete the unfinished new credential %s: %s", new_id, error)

    def _issue_secret(self, organization_id: str, current: ServiceAccount) -> Issued:
        client = self._client_for(current)
        path = {"orgId": organization_id, "clientId": current.client_id}
        account = client.call("getOrgServiceAccount", path_params=path)
        before = account.get("secrets", [])
        created = client.call("createOrgServiceAccountSecret", path_params=path,
                              json={"secretExpiresAfterHours": self._secret_hours})
        new = ServiceAccount(client_id=current.client_id, client_secret=created["secret"])
        try:
            self._verify(new, organization_id)
        except Exception:
            self._undo(organization_id, current, created["id"])
            raise
        return Issued(credentials=new, new_id=created["id"], old_id=_which_secret(before, current))

    def _verify(self, credentials: Credentials, organization_id: str) -> None:
        try:
            self._client_for(credentials).call("getOrg", path_params={"orgId": organization_id})
        except AtlasError as error:
            raise RotationError(f"the new credential does not work yet: {error}") from None


class AtlasCredentialAuthority:
    """access.ports.CredentialAuthority over Atlas (see the module's doc); one set of clients a call, closed after."""

    def __init__(self, *, clients: AtlasClients, secret_hours: int = 24 * 90) -> None:
        self._clients = clients
        self._secret_hours = secret_hours

    def __repr__(self) -> str:
        return f"AtlasCredentialAuthority({self._clients!r})"

    @at_the_port
    def issue(self, *, integration: IntegrationSpec) -> IssuedCredential:
        current = self._current(integration)
        with self._rotator() as rotator:
            issued = rotator.issue(organization_id=integration.organization_id, current=current)
        return IssuedCredential(credentials=as_spec(issued.credentials), new_id=issued.new_id, old_id=issued.old_id)

    @at_the_port
    def retire(self, *, integration: IntegrationSpec, old_id: str) -> None:
        using = self._current(integration)
        with self._rotator() as rotator:
            rotator.retire(organization_id=integration.organization_id, using=using, old_id=old_id)

    @at_the_port
    def discard(self, *, integration: IntegrationSpec, issued: IssuedCredential) -> None:
        current = self._current(integration)
        with self._rotator() as rotator:
            rotator.discard(organization_id=integration.organization_id, current=current,
                            issued=Issued(credentials=current, new_id=issued.new_id, old_id=issued.old_id))

    def _current(self, integration: IntegrationSpec) -> Credentials:
        return self._clients.credentials(integration.credentials, integration=integration.name)

    @contextmanager
    def _rotator(self) -> Iterator[CredentialRotator]:
        made: list[AtlasClient] = []

        def client_for(credentials: Credentials) -> AtlasClient:
            made.append(self._clients.client(credentials))
            return made[-1]

        try:
            yield CredentialRotator(client_for=client_for, secret_hours=self._secret_hours)
        finally:
            for client in made:
                client.close()


def _key_roles(roles: list[dict[str, str]], organization_id: str) -> tuple[list[str], dict[str, list[str]]]:
    """An API key's roles split into this organization's roles and project roles by project id."""
    org_roles = [r["roleName"] for r in roles if r.get("orgId", organization_id) == organization_id
                 and str(r.get("roleName", "")).startswith("ORG_")]
    project_roles: dict[str, list[str]] = defaultdict(list)
    for role in roles:
        if role.get("groupId") and str(role.get("roleName", "")).startswith("GROUP_"):
            project_roles[role["groupId"]].append(role["roleName"])
    return org_roles, dict(project_roles)


def _desc(old: object) -> str:
    base = str(old or "atlas-access").split(" (rotated")[0]
    return f"{base} (rotated)"[:250]


def _which_secret(secrets: list[dict[str, object]], current: ServiceAccount) -> str | None:
    """The secret we call with: the only one, or the one whose masked value shows our secret's last characters."""
    if len(secrets) == 1:
        return str(secrets[0]["id"])
    value = current.client_secret.get_secret_value()
    for secret in secrets:
        masked = str(secret.get("maskedSecretValue") or "")
        tail = masked.rsplit("*", 1)[-1].rsplit(".", 1)[-1]
        if len(tail) >= 4 and value.endswith(tail):
            return str(secret["id"])
    return None


if TYPE_CHECKING:

    def _implements_the_port(authority: AtlasCredentialAuthority) -> CredentialAuthority:
        return authority  # mypy proves it satisfies access.ports.CredentialAuthority
