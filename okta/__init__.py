"""Okta's management API as a source of approver groups: a small typed client (SSWS token or OAuth 2.0 service-app
auth, `Link` header paging, typed errors) and the `GroupSource` adapter over it.

Knows neither storage nor the bot (import-linter keeps it so); failures leave as the domain's GatewayError family.
The simulator in `okta.sandbox` is for tests and the demo only.
"""
