"""Errors of the process itself, as opposed to the domain's (access.errors) or a service's behind a port."""

from __future__ import annotations


class ConfigurationError(Exception):
    """The process cannot start or act as configured (a message for the operator, no secrets in it)."""
