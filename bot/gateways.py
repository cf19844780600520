"""The Atlas side of each integration: one client and gateway per integration, built from its stored credentials
when the process starts (`prepare`) or else on first use, and rebuilt when they change (after a rotation, or an edit
in the admin modal)."""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field
from typing import NamedTuple

from access.config import CredentialSpec
from access.errors import NotFound
from access.ports import AtlasGateway, Store
from atlas.client import OnCall
from atlas.clients import AtlasClients, ClientOptions
from atlas.credentials import Credentials
from atlas.gateway import AtlasGateway as HttpAtlasGateway

log = logging.getLogger(__name__)


@dataclass(kw_only=True)
class GatewayFactory:
    """`gateways(integration)` for the use cases: the integration's gateway, its client shared by every call."""

    store: Store
    clients: AtlasClients
    max_concurrency: int
    on_call: OnCall | None = None
    _cache: dict[str, _Built] = field(default_factory=dict)
    # One build at a time: the first burst of grants on 16 threads built 16 clients (an SSL context each), a
    # tenth of a replica's CPU in the first seconds of bench/revocation.py.
    _building: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, integration: str) -> AtlasGateway:
        spec = self.store.integration(integration)
        if spec is None:
            raise NotFound(f"no integration named {integration}")
        stored, variables = spec.credentials, self.clients.variables(spec.credentials)
        cached = self._cache.get(integration)
        if cached is not None and cached.stored is stored and cached.variables == variables:
            # The very spec of the last call (the store's cache hands the same one while fresh, a couple of seconds),
            # its environment variables unchanged: its credentials again. Worked out at each call (keys wrapped and
            # compared), they were a twentieth of a revocation's CPU in bench/revocation.py.
            return cached.gateway
        credentials = self.clients.credentials(stored, integration=integration)
        if cached is not None and cached.credentials == credentials:
            self._cache[integration] = _Built(stored, variables, credentials, cached.gateway)
            return cached.gateway
        with self._building:
            cached = self._cache.get(integration)
            if cached is not None and cached.credentials == credentials:
                return cached.gateway  # another thread built it meanwhile
            gateway = self._build(credentials)
            self._cache[integration] = _Built(stored, variables, credentials, gateway)
            return gateway

    def prepare(self) -> int:
        """Build the client of every enabled integration now, rather than in the first grant's Atlas call; how many
        were built. A client's first build loads the CA certificates and imports httpx's transport: 0.14 s of CPU,
        which the first grant or revocation after a start paid, on a thread a burst of expiries needed (in
        bench/revocation.py, inside the measured burst). An integration whose client cannot be built now (its
        credentials unreadable, say) is left to its first use, which reports it as it always has."""
        built = 0
        try:
            with self.store.unit_of_work() as uow:
                names = uow.integrations.names(enabled_only=True)
        except Exception as error:  # the database away at start: each client is built at its first use
            log.info("the Atlas clients are left to their first use (%s)", type(error).__name__)
            return 0
        for name in names:
            try:
                self(name)
            except Exception as error:  # the type only: the message could quote a credential
                log.info("the Atlas client of %s is left to its first use (%s)", name, type(error).__name__)
            else:
                built += 1
        return built

    def _build(self, credentials: Credentials) -> HttpAtlasGateway:
        options: ClientOptions = {"max_concurrency": self.max_concurrency}
        if self.on_call is not None:
            options["on_call"] = self.on_call
        return HttpAtlasGateway(self.clients.client(credentials, **options))


class _Built(NamedTuple):
    """An integration's gateway, with the stored credentials it was built from (a frozen spec), the environment
    variables they named as they were then, and what they stood for."""

    stored: CredentialSpec
    variables: tuple[str | None, ...]
    credentials: Credentials
    gateway: HttpAtlasGateway
