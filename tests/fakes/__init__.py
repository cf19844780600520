"""In-memory fakes of the domain's ports, with the semantics of the real adapters (see tests/contracts)."""

from tests.fakes.atlas_state import FakeAtlas
from tests.fakes.authority import FakeAuthority
from tests.fakes.clock import ManualClock
from tests.fakes.directory import FakeDirectory
from tests.fakes.faults import Faults
from tests.fakes.gateway import FakeGateway
from tests.fakes.notifier import RecordingNotifier
from tests.fakes.okta import FakeOkta
from tests.fakes.on_call import FakeOnCall
from tests.fakes.store import MemoryStore, NestedUnitOfWork

__all__ = ["FakeAtlas", "FakeAuthority", "FakeDirectory", "FakeGateway", "FakeOkta", "FakeOnCall", "Faults",
           "ManualClock", "MemoryStore", "NestedUnitOfWork", "RecordingNotifier"]
