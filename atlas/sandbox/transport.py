"""The sandbox as an httpx transport: `httpx.Client(transport=SandboxTransport(sb), base_url=...)`, any host."""

from __future__ import annotations

from urllib.parse import parse_qsl

import httpx

from atlas.sandbox.sandbox import Sandbox


class SandboxTransport(httpx.BaseTransport):
    """Hands each request to `Sandbox.handle`; only the path and query matter, so any base_url host works."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        raw = request.url.raw_path.decode("ascii")
        path, _, query = raw.partition("?")
        status, headers, body = self.sandbox.handle(
            request.method, path, dict(parse_qsl(query, keep_blank_values=True)), dict(request.headers),
            request.read(), scheme=request.url.scheme)
        return httpx.Response(status, headers=headers, content=body, request=request)
