"""The Atlas side of each integration: one client and gateway per integration, built on first use from its
stored credentials and rebuilt when they change (after a rotation, or an edit in the admin modal)."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from access.errors import NotFound
from access.ports import AtlasGateway, Store
from atlas.client import OnCall
from atlas.clients import AtlasClients, ClientOptions
from atlas.credentials import Credentials
from atlas.gateway import AtlasGateway as HttpAtlasGateway


@dataclass(kw_only=True)
class GatewayFactory:
    """`gateways(integration)` for the use cases: the integration's gateway, its client shared by every call."""

    store: Store
    clients: AtlasClients
    max_concurrency: int
    on_call: OnCall | None = None
    _cache: dict[str, tuple[Credentials, HttpAtlasGateway]] = field(default_factory=dict)
    # One build at a time: the first burst of grants on 16 threads built 16 clients (an SSL context each), a
    # tenth of a replica's CPU in the first seconds of bench/revocation.py.
    _building: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, integration: str) -> AtlasGateway:
        spec = self.store.integration(integration)
        if spec is None:
            raise NotFound(f"no integration named {integration}")
        credentials = self.clients.credentials(spec.credentials, integration=integration)
        cached = self._cache.get(integration)
        if cached and cached[0] == credentials:
            return cached[1]
        with self._building:
            cached = self._cache.get(integration)
            if cached and cached[0] == credentials:
                return cached[1]  # another thread built it meanwhile
            return self._build(integration, credentials)

    def _build(self, integration: str, credentials: Credentials) -> AtlasGateway:
        options: ClientOptions = {"max_concurrency": self.max_concurrency}
        if self.on_call is not None:
            options["on_call"] = self.on_call
        client = self.clients.client(credentials, **options)
        gateway = HttpAtlasGateway(client)
        self._cache[integration] = (credentials, gateway)
        return gateway
