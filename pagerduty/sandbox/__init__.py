"""A strict simulator of the PagerDuty REST API v2 operations atlas-access uses, for tests and the demo.

    pd = PagerDutySandbox(clock=clock)
    key = pd.add_api_key()
    pd.add_user("PU1", name="Ann", email="ann@example.com")
    pd.add_schedule("PSCHED1", name="Primary", shifts=[("PU1", start, end)])
    httpx.Client(transport=PagerDutyTransport(pd), base_url="https://api.pagerduty.com")

Served in-process through an httpx transport, as PagerDuty's spec (`openapiv3.json`) describes: token auth
(`Authorization: Token token=…`, 401 without a known key, 403 for a key without access), the versioned Accept
header, the documented query parameters only (400 otherwise), offset paging, PagerDuty's error objects, and 429s
with `ratelimit-*` headers on demand. Every request is recorded, and appended as a JSON line to the file named by
PAGERDUTY_SANDBOX_RECORD, so the test suite can check each one against the spec.
"""

from pagerduty.sandbox.sandbox import PagerDutySandbox, PagerDutyTransport, RecordedCall

__all__ = ["PagerDutySandbox", "PagerDutyTransport", "RecordedCall"]
