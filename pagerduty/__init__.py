"""PagerDuty's REST API v2 as the domain's on-call provider: a small typed client (token auth, the version Accept
header, classic offset paging, typed errors) and the `OnCall` / `OnCallCheck` adapter over it.

Knows neither storage nor the bot (import-linter keeps it so); failures leave as the domain's GatewayError family.
The simulator in `pagerduty.sandbox` is for tests and the demo only.
"""
