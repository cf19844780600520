"""Suite-wide pytest set-up: every Atlas request any test makes is checked against the official spec."""

pytest_plugins = ["tests.support.atlas_conformance", "pytester"]
