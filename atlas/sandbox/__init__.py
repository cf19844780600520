"""A strict simulator of the MongoDB Atlas Admin API v2 for tests, the demo and the benchmarks (not a mock of our code).

    sb = Sandbox(clock=clock)
    org = sb.add_org(name="Acme"); public, private = sb.add_api_key(org_id=org, roles=["ORG_OWNER"])
    httpx.Client(transport=SandboxTransport(sb), base_url="https://cloud.mongodb.com")   # in-process
    SandboxServer(sb, port=0).start().url                                                 # or on loopback

It checks Digest and bearer auth, Accept versions, paginates, treats org additions as invitations, keeps at
least one role per user, answers with Atlas error bodies, and injects latency, 429s and 5xx on demand.
"""

from __future__ import annotations

from atlas.sandbox.faults import Faults
from atlas.sandbox.recording import RecordedRequest
from atlas.sandbox.sandbox import Sandbox
from atlas.sandbox.server import SandboxServer
from atlas.sandbox.transport import SandboxTransport

__all__ = ["Faults", "RecordedRequest", "Sandbox", "SandboxServer", "SandboxTransport"]
