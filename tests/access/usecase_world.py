"""A world for driving the use cases directly on a real store: AccessService and SelfService over SQLite or
PostgreSQL, an integration with one flow and one project, and ann's grant on it. The ports that reach outside
are fakes that behave like them: a directory of users and groups, and a notifier that records what it was told.
Atlas is never called here (extensions and "I'm done" without running the worker change no roles)."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from access import lifecycle
from access.config import AccessFlowSpec, IntegrationSpec
from access.entities import AccessRequest, Grant
from access.model import GrantStatus, RequestStatus
from access.policy import Requester
from access.ports import AtlasGateway
from access.selfservice import SelfService
from access.service import AccessService
from access.worker import GrantWorker, WorkerOptions
from storage.store import SqlStore
from tests.access.fakes import Directory
from tests.fakes.vault import MemoryVault
from tests.storage import builders as b

ANN = Requester(user_id="U0REQUESTER", email="ada@example.com")
OWNER = "U0OWNER"  # one of the integration owners, who approve (the project has no owner tag)
ROLES = ("GROUP_READ_ONLY", "GROUP_DATA_ACCESS_READ_ONLY")  # what the flow offers


@dataclass
class RecordingNotifier:
    """The Notifier port, recording each event told to a requester: (request id, event, outcome note)."""

    told: list[tuple[int | None, str, str | None]] = field(default_factory=list)
    _ts: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    def post_request(self, *, request: AccessRequest, integration: IntegrationSpec) -> tuple[str, str] | None:
        return integration.approval_channel, f"{next(self._ts)}.000100"

    def update_request(self, *, request: AccessRequest, grant: Grant | None, integration: IntegrationSpec) -> None:
        return None

    def tell_requester(self, *, request: AccessRequest, grant: Grant | None, event: str, integration: IntegrationSpec,
                       kept_by_other_grants: tuple[str, ...] = ()) -> None:
        self.told.append((request.id, event, request.outcome_note))

    def alert_owners(self, *, integration: IntegrationSpec, text: str) -> None:
        return None

    def remind_approvers(self, *, request: AccessRequest, integration: IntegrationSpec, escalated: bool) -> None:
        return None

    def offer_database_credentials(self, *, request: AccessRequest, grant: Grant, integration: IntegrationSpec,
                                   until: datetime) -> bool:
        return True


def no_atlas(integration: str) -> AtlasGateway:
    raise AssertionError("these stories never reach Atlas")


class UseCaseWorld:
    def __init__(self, store: SqlStore, clock: b.Clock, *, max_pending: int = 10, seed: bool = True) -> None:
        """With `seed`, stores the integration, its flow and the project first (another replica of a seeded
        world: `seed=False`)."""
        self.store, self.clock = store, clock
        self.notifier = RecordingNotifier()
        worker = GrantWorker(store=store, gateways=no_atlas, notifier=self.notifier, clock=clock,
                             options=WorkerOptions(owner="test"), vault=MemoryVault())
        self.service = AccessService(store=store, gateways=no_atlas, directory=Directory(), notifier=self.notifier,
                                     clock=clock, worker=worker, max_pending=max_pending)
        self.selfservice = SelfService(store=store, clock=clock, worker=worker, max_pending=max_pending)
        self.project = b.project(1, name="payments", env="prod")
        if not seed:
            return
        with store.unit_of_work() as uow:
            uow.integrations.upsert(b.integration())
            uow.flows.upsert(b.flow(roles=list(ROLES)))
            uow.inventory.apply(integration="prod", inventory=b.inventory((self.project,)), now=clock.now())

    def active_grant(self, duration: timedelta = timedelta(hours=1)) -> Grant:
        """Ann's approved request on payments and its grant, live from now for `duration`."""
        now = self.clock.now()
        with self.store.unit_of_work() as uow:
            asked = uow.requests.add(b.request(resource_id=self.project.id, approvers=(OWNER,), created_at=now,
                                               updated_at=now, duration_seconds=int(duration.total_seconds())))
            approved = uow.requests.save(lifecycle.approve(asked, user_id=OWNER, now=now))
            return uow.grants.add(b.grant(request_id=approved.id or 0, resource_id=self.project.id,
                                          status=GrantStatus.ACTIVE, granted_at=now, starts_at=now,
                                          expires_at=now + duration, duration_seconds=approved.duration_seconds))

    def grant(self, grant_id: int) -> Grant:
        with self.store.unit_of_work() as uow:
            found = uow.grants.get(grant_id)
        assert found is not None
        return found

    def flow(self) -> AccessFlowSpec:
        with self.store.unit_of_work() as uow:
            found = uow.flows.get("prod-projects")
        assert found is not None
        return found

    def set_max_duration(self, max_duration: timedelta) -> None:
        flow = self.flow()
        with self.store.unit_of_work() as uow:
            uow.flows.upsert(flow.model_copy(update={"max_duration": max_duration}))

    def pending(self) -> list[AccessRequest]:
        with self.store.unit_of_work() as uow:
            return [r for r in uow.requests.pending() if r.status is RequestStatus.PENDING]
