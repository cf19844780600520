"""The contract suites' worlds, one module per port family."""

from tests.contracts.world_atlas import AtlasWorld, FakeAtlasWorld, SandboxAtlasWorld
from tests.contracts.world_slack import (
    DirectoryWorld,
    FakeDirectoryWorld,
    FakeNotifierWorld,
    NotifierWorld,
    SlackDirectoryWorld,
    SlackNotifierWorld,
)
from tests.contracts.world_store import SqlStoreWorld, StoreWorld

__all__ = ["AtlasWorld", "DirectoryWorld", "FakeAtlasWorld", "FakeDirectoryWorld", "FakeNotifierWorld",
           "NotifierWorld", "SandboxAtlasWorld", "SlackDirectoryWorld", "SlackNotifierWorld", "SqlStoreWorld",
           "StoreWorld"]
