"""`atlas-access audit export`: the audit trail as CSV or JSON on standard output or into a file."""

from __future__ import annotations

import argparse
import sys

from access.audit_export import AuditQuery, describe, export_audit, parse_format, parse_since
from access.errors import FieldErrors
from bot.app import build_store
from bot.clock import SystemClock
from bot.settings import Settings
from storage.migrations import upgrade


def export_audit_trail(args: argparse.Namespace, settings: Settings) -> int:
    """Write the export where asked; one line about it on stderr, so stdout stays the file alone."""
    clock = SystemClock()
    query = AuditQuery(since=parse_since(args.since, now=clock.now()), integration=args.integration,
                       format=parse_format(args.format))
    upgrade(settings.database_url)
    store = build_store(settings, clock)
    try:
        export = export_audit(store=store, clock=clock, query=query, actor="cli")
    finally:
        store.engine.dispose()
    if args.output is None:
        sys.stdout.write(export.content)
        sys.stdout.flush()
        print(f"exported {describe(export)}", file=sys.stderr)
        return 0
    try:
        args.output.write_text(export.content, encoding="utf-8")
    except OSError as error:
        raise FieldErrors({"--output": f"cannot write {args.output} ({error.strerror})"}) from None
    print(f"wrote {describe(export)} to {args.output}", file=sys.stderr)
    return 0
