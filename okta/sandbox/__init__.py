"""A strict simulator of the Okta management API operations atlas-access uses, for tests and the demo.

    okta = OktaSandbox(clock=clock)
    token = okta.add_api_token()
    group = okta.add_group("DBA Team"); user = okta.add_user("bob@example.com"); okta.add_member(group, user)
    httpx.Client(transport=OktaTransport(okta), base_url="https://acme.okta.com")

Served in-process through an httpx transport, as Okta's spec (`management-openapi.yaml`) describes: `SSWS` API
tokens and OAuth 2.0 service apps (`private_key_jwt` client assertions checked against the app's public key,
scopes granted per app), `search=profile.name eq "…"`, `after`/`limit` cursors with `Link` headers, Okta's error
objects (E0000011 401, E0000006 403, E0000007 404, E0000047 429) and `X-Rate-Limit-*` headers on every answer.
Every request is recorded, and appended as a JSON line to the file named by OKTA_SANDBOX_RECORD, so the test suite
can check each one against the spec.
"""

from okta.sandbox.sandbox import OktaSandbox, OktaTransport, RecordedCall

__all__ = ["OktaSandbox", "OktaTransport", "RecordedCall"]
