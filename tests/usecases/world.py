"""A world for the use cases on the fakes: every use case of `access` wired to a MemoryStore, a FakeGateway over a
FakeAtlas, a RecordingNotifier, a FakeDirectory, a FakeAuthority and a ManualClock. Nothing of ours is mocked:
the services, the worker and the rules are the real ones; only the adapters are fakes, and those pass the same
contract suites as the real adapters (tests/contracts).

Acme's Atlas organization has two projects: payments (owner tag `payments-oncall`, a cluster `payments-main`) and
search (no owner tag). In Slack, bob and cyd are @payments-oncall; dan is @atlas-admins, the integration owners.
The integration `prod` is synced before each test, so the inventory is what a sync made of that Atlas.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from typing import Any

from access.approver_groups import ApproverGroups
from access.config import AccessFlowSpec, IntegrationSpec
from access.entities import AccessRequest, AuditEvent, Grant
from access.homes import HomeQueries
from access.model import RequestStatus
from access.policy import Requester
from access.ports import AtlasGateway
from access.reconcile import ReconcileOptions, ReconcileService
from access.reveal import CredentialReveals
from access.revocation import GrantControl
from access.rotation import RotationService
from access.selfservice import SelfService
from access.service import AccessService
from access.sync import SyncService
from access.timeouts import ExpiryReminders, PendingTimeouts
from access.worker import GrantWorker, WorkerOptions
from tests.fakes import (
    FakeAtlas,
    FakeAuthority,
    FakeDirectory,
    FakeGateway,
    FakeOkta,
    FakeOnCall,
    ManualClock,
    MemoryStore,
    RecordingNotifier,
)
from tests.fakes.vault import MemoryVault

ORG_ID = "5f1a2b3c4d5e6f7a8b9c0d1e"
PAYMENTS = "6a0000000000000000000001"
SEARCH = "6a0000000000000000000002"
CLUSTER = f"{PAYMENTS}/payments-main"
ANN = Requester(user_id="U0ANN", email="ann@example.com")
BOB, CYD, DAN, EVE = "U0BOB", "U0CYD", "U0DAN", "U0EVE"  # payments owners, the integration owner, nobody
EMAILS = {ANN.user_id: ANN.email, BOB: "bob@example.com", CYD: "cyd@example.com", DAN: "dan@example.com",
          EVE: "eve@example.com"}
READ, DATA_READ, DATA_WRITE = "GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY", "GROUP_DATA_ACCESS_READ_WRITE"
WHY = "INC-4242: the payments queue is stuck"
BOT = "atlas-bot@example.com"
PAGERDUTY_KEY = "u+pagerduty-key-00001"
OKTA_TOKEN = "00okta-token-00001"
OKTA = {"org_url": "https://acme.okta.com", "credentials": {"type": "api_token", "token": OKTA_TOKEN}}
OPTIONS = WorkerOptions(owner="test-worker", lease_seconds=60, invitation_poll_seconds=60, max_grant_attempts=5,
                        alert_after_attempts=3, backoff_base_seconds=2, backoff_cap_seconds=300)


def person(user_id: str) -> Requester:
    return Requester(user_id=user_id, email=EMAILS[user_id])


def integration(**changes: Any) -> IntegrationSpec:
    values: dict[str, Any] = {
        "name": "prod", "organization_id": ORG_ID, "approval_channel": "C0APPROVALS",
        "credentials": {"type": "api_key", "public_key": "pub00001", "private_key": "priv-00001-secret"},
        "integration_owners": ["@atlas-admins"], "resource_owner": {"tag_key": "owner"},
        "custom_access_details": "Sign in with the company SSO.",
    }
    return IntegrationSpec.model_validate({**values, **changes})


def flow(name: str = "prod-projects", **changes: Any) -> AccessFlowSpec:
    values: dict[str, Any] = {
        "name": name, "integration": "prod", "requesters": ["everyone"],
        "resources": {"types": ["project"], "names": ["*"]}, "roles": [READ, DATA_READ], "max_duration": "8h",
    }
    return AccessFlowSpec.model_validate({**values, **changes})


ORG_FLOW = {"name": "prod-org", "resources": {"types": ["organization"]}, "roles": ["ORG_READ_ONLY", "ORG_MEMBER"]}
CLUSTER_FLOW = {"name": "prod-clusters", "resources": {"types": ["cluster"]}, "roles": ["read@orders",
                                                                                        "readAnyDatabase"],
                "max_duration": "1d"}
GLASS_FLOW = {"name": "prod-glass", "roles": [READ, DATA_READ, DATA_WRITE], "max_duration": "2h", "break_glass": True}


class World:
    def __init__(self, *, flows: list[AccessFlowSpec] | None = None, spec: IntegrationSpec | None = None,
                 max_pending: int = 10, options: WorkerOptions = OPTIONS,
                 reconcile: ReconcileOptions | None = None) -> None:
        self.clock = ManualClock()
        self.store = MemoryStore(clock=self.clock)
        self.atlas = FakeAtlas(clock=self.clock)
        self.atlas.add_org("Acme", org_id=ORG_ID)
        self.atlas.add_project(ORG_ID, "payments", tags={"owner": "payments-oncall", "env": "prod"},
                               clusters=("payments-main",), group_id=PAYMENTS)
        self.atlas.add_project(ORG_ID, "search", group_id=SEARCH)
        self.atlas.add_user(ORG_ID, "dan@example.com", org_roles=["ORG_OWNER"])
        self.atlas.add_user(ORG_ID, ANN.email)  # a member of the organization, in no project
        self.gateway = FakeGateway(self.atlas, own_identity=BOT)
        self.notifier = RecordingNotifier()
        self.directory = FakeDirectory()
        for user_id, email in EMAILS.items():
            self.directory.add_user(user_id, email)
        self.directory.add_group("S0PAY", "payments-oncall", [BOB, CYD])
        self.directory.add_group("S0ADMINS", "atlas-admins", [DAN])
        self.on_call = FakeOnCall(clock=self.clock, keys={PAGERDUTY_KEY})
        self.okta = FakeOkta(tokens={OKTA_TOKEN})
        self.groups = ApproverGroups(people=self.directory, okta=self.okta)
        self.authority = FakeAuthority()
        self.vault = MemoryVault()
        self.authority.add_key("pub00001", "priv-00001-secret")
        self.worker = GrantWorker(store=self.store, gateways=self.gateways, notifier=self.notifier, clock=self.clock,
                                  options=options, vault=self.vault)
        self.reveals = CredentialReveals(store=self.store, vault=self.vault, clock=self.clock)
        self.admins: set[str] = set()  # ATLAS_ACCESS_ADMINS, as the use cases ask at each click
        self.service = AccessService(store=self.store, gateways=self.gateways, directory=self.directory,
                                     notifier=self.notifier, clock=self.clock, worker=self.worker,
                                     max_pending=max_pending, on_call_providers={"pagerduty": self.on_call},
                                     groups=self.groups, is_admin=lambda user_id: user_id in self.admins)
        self.selfservice = SelfService(store=self.store, clock=self.clock, worker=self.worker, max_pending=max_pending)
        self.control = GrantControl(store=self.store, clock=self.clock, worker=self.worker, directory=self.directory,
                                    groups=self.groups, is_admin=lambda user_id: user_id in self.admins)
        self.homes = HomeQueries(store=self.store, clock=self.clock, directory=self.directory, groups=self.groups)
        self.sync = SyncService(store=self.store, gateways=self.gateways, clock=self.clock)
        self.reconciler = ReconcileService(store=self.store, ledger=self.store.ledger(), gateways=self.gateways,
                                           notifier=self.notifier, clock=self.clock, options=reconcile)
        self.rotation = RotationService(store=self.store, authority=lambda: self.authority, notifier=self.notifier,
                                        clock=self.clock)
        self.timeouts = PendingTimeouts(store=self.store, notifier=self.notifier, clock=self.clock)
        self.reminders = ExpiryReminders(store=self.store, notifier=self.notifier, clock=self.clock)
        with self.store.unit_of_work() as uow:
            uow.integrations.upsert(spec or integration())
            for each in flows if flows is not None else [flow()]:
                uow.flows.upsert(each)
        self.sync.run("prod")
        self.notifier.clear()
        self.gateway.calls.clear()

    def gateways(self, name: str) -> AtlasGateway:
        return self.gateway

    # --- asking and deciding -------------------------------------------------------------------------------

    def submit(self, who: Requester = ANN, resource: str = PAYMENTS, roles: tuple[str, ...] = (READ,),
               duration: timedelta = timedelta(hours=1), justification: str = WHY, **options: Any) -> AccessRequest:
        return self.service.submit(requester=who, integration="prod", resource_id=resource, roles=roles,
                                   duration=duration, justification=justification, **options)

    def approved(self, who: Requester = ANN, resource: str = PAYMENTS, roles: tuple[str, ...] = (READ,),
                 duration: timedelta = timedelta(hours=1), by: str = BOB) -> Grant:
        """A request approved by `by` and worked by the worker: its grant as it ended up."""
        request = self.submit(who, resource, roles, duration)
        if request.status is RequestStatus.PENDING:  # an auto flow approved it already
            self.service.approve(request_id=request.id or 0, user_id=by)
        return self.grant_of(request.id or 0)

    def people_granted(self, count: int) -> list[Grant]:
        """`count` people (U0P000…, members of the organization), each with an approved grant of READ on payments."""
        grants = []
        for n in range(count):
            each = Requester(user_id=f"U0P{n:03d}", email=f"p{n}@example.com")
            self.directory.add_user(each.user_id, each.email)
            self.atlas.add_user(ORG_ID, each.email)
            grants.append(self.approved(who=each))
        return grants

    # --- reading the world -----------------------------------------------------------------------------------

    def request(self, request_id: int) -> AccessRequest:
        with self.store.unit_of_work() as uow:
            found = uow.requests.get(request_id)
        assert found is not None
        return found

    def grant_of(self, request_id: int) -> Grant:
        with self.store.unit_of_work() as uow:
            found = uow.grants.for_request(request_id)
        assert found is not None, f"request {request_id} has no grant"
        return found

    def grant(self, grant_id: int) -> Grant:
        with self.store.unit_of_work() as uow:
            found = uow.grants.get(grant_id)
        assert found is not None
        return found

    def grants(self) -> list[Grant]:
        return list(self.store.committed().grants.values())

    def requests(self) -> list[AccessRequest]:
        return list(self.store.committed().requests.values())

    def audit(self, action: str | None = None, *, request_id: int | None = None) -> list[AuditEvent]:
        with self.store.unit_of_work() as uow:
            events = list(uow.audit.query())
        return [e for e in events if action in (None, e.action) and request_id in (None, e.request_id)]

    def actions(self, request_id: int | None = None) -> list[str]:
        return [e.action for e in self.audit(request_id=request_id) if e.action not in ("synced",)]

    def roles(self, username: str = ANN.email, resource: str = PAYMENTS) -> set[str]:
        if resource == ORG_ID:
            return self.atlas.org_roles(ORG_ID, username)
        return self.atlas.project_roles(resource, username)

    def has_user(self, username: str = ANN.email) -> bool:
        return self.atlas.member(ORG_ID, username) is not None

    # --- changing the world ----------------------------------------------------------------------------------

    def set_flow(self, name: str = "prod-projects", **changes: Any) -> None:
        with self.store.unit_of_work() as uow:
            current = uow.flows.get(name)
            spec = flow(name, **changes) if current is None else AccessFlowSpec.model_validate(
                {**current.model_dump(), **changes})
            uow.flows.upsert(spec)

    def integration_spec(self, name: str = "prod") -> IntegrationSpec:
        with self.store.unit_of_work() as uow:
            found = uow.integrations.get(name)
        assert found is not None
        return found

    def set_integration(self, **changes: Any) -> None:
        with self.store.unit_of_work() as uow:
            current = uow.integrations.get("prod")
            assert current is not None
            uow.integrations.upsert(IntegrationSpec.model_validate({**current.model_dump(), **changes}))

    def expire(self, after: timedelta) -> int:
        """Move the clock on and let the worker do what is due."""
        self.clock.advance(after)
        return self.worker.run_due()

    def save_grant(self, grant: Grant, **changes: Any) -> Grant:
        with self.store.unit_of_work() as uow:
            return uow.grants.save(replace(grant, **changes))


