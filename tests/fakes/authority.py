"""FakeAuthority: the `CredentialAuthority` port over a set of live API keys, with Atlas's one rule that matters
to rotation: a call made with a key that is not live is refused (GatewayUnauthorized).

So `retire` works only with the new key stored (it calls with the integration's credentials), `discard` only
with the current one, and a deleted key stops working at once. `faults` fails a step before or after it acted.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

from pydantic import SecretStr

from access.config import ApiKeyCredentials, IntegrationSpec, IssuedCredential
from access.ports import CredentialAuthority
from tests.fakes.faults import Faults, unauthorized


@dataclass(frozen=True, kw_only=True)
class Key:
    id: str
    public_key: str
    private_key: str


class FakeAuthority:
    def __init__(self, *, identify_old: bool = True) -> None:
        self.keys: dict[str, Key] = {}  # id -> live key
        self.faults = Faults()
        self.identify_old = identify_old  # False: Atlas cannot tell which key is the current one (old_id None)
        self._ids = itertools.count(1)

    def add_key(self, public_key: str, private_key: str) -> Key:
        key = Key(id=f"{next(self._ids):024x}", public_key=public_key, private_key=private_key)
        self.keys[key.id] = key
        return key

    def live(self, public_key: str) -> bool:
        return any(k.public_key == public_key for k in self.keys.values())

    # --- the port ----------------------------------------------------------------------------------------

    def issue(self, *, integration: IntegrationSpec) -> IssuedCredential:
        current = self._caller(integration, "issue")
        fault = self.faults.take("issue")
        if fault is not None and not fault.landed:
            raise fault.make("issue")
        n = next(self._ids)
        new = self.add_key(f"pub{n:05d}", f"priv-{n:05d}-secret")
        if fault is not None:  # made, then its answer lost: a key nobody holds, as Atlas may leave one
            raise fault.make("issue")
        return IssuedCredential(
            credentials=ApiKeyCredentials(type="api_key", public_key=new.public_key,
                                          private_key=SecretStr(new.private_key)),
            new_id=new.id, old_id=current.id if self.identify_old else None)

    def retire(self, *, integration: IntegrationSpec, old_id: str) -> None:
        self._delete(integration, old_id, "retire")

    def discard(self, *, integration: IntegrationSpec, issued: IssuedCredential) -> None:
        self._delete(integration, issued.new_id, "discard")

    # --- helpers -----------------------------------------------------------------------------------------

    def _delete(self, integration: IntegrationSpec, key_id: str, step: str) -> None:
        self._caller(integration, step)
        fault = self.faults.take(step)
        if fault is not None and not fault.landed:
            raise fault.make(step)
        self.keys.pop(key_id, None)  # already gone counts as done
        if fault is not None:
            raise fault.make(step)

    def _caller(self, integration: IntegrationSpec, step: str) -> Key:
        credentials = integration.credentials
        public = credentials.public_key if isinstance(credentials, ApiKeyCredentials) else None
        key = next((k for k in self.keys.values() if k.public_key == public), None)
        if key is None:
            raise unauthorized(step)
        return key


def _implements_the_port(authority: FakeAuthority) -> CredentialAuthority:
    return authority
