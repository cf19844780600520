"""The MongoDB Atlas Admin API v2: the typed client, the adapters that implement the domain's ports (the gateway,
the credential check, the credential authority), the sandbox.

The public names are importable from here (`from atlas import AtlasClient, ApiKey`) and are loaded lazily, so
importing one submodule (say `atlas.operations` from the sandbox) builds nothing else.
"""

from __future__ import annotations

import importlib
from typing import Any

_EXPORTS = {
    "AtlasClient": "atlas.client",
    "Priority": "atlas.limits",
    "ApiKey": "atlas.credentials",
    "ServiceAccount": "atlas.credentials",
    "AtlasGateway": "atlas.gateway",
    "AtlasClients": "atlas.clients",
    "AtlasCredentialCheck": "atlas.connection",
    "AtlasCredentialAuthority": "atlas.rotation",
    "AtlasError": "atlas.errors",
    "AtlasHTTPError": "atlas.errors",
    "AtlasTransportError": "atlas.errors",
    "AtlasBadRequest": "atlas.errors",
    "AtlasAuthError": "atlas.errors",
    "AtlasNotFound": "atlas.errors",
    "AtlasConflict": "atlas.errors",
    "AtlasRateLimited": "atlas.errors",
    "AtlasServerError": "atlas.errors",
    "OwnIdentityRefused": "atlas.errors",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name not in _EXPORTS:
        raise AttributeError(f"module 'atlas' has no attribute {name!r}")
    return getattr(importlib.import_module(_EXPORTS[name]), name)
