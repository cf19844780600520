"""Test support shared across the suite: the Atlas spec-conformance plugin and its checker."""
