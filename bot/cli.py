"""The `atlas-access` command: serve, config apply/show, sync, audit export, db upgrade, demo, sandbox, keygen.

Every failure the operator can fix ends with one plain sentence on stderr and a non-zero exit code,
never a stack trace or a secret.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from cryptography.fernet import Fernet
from pydantic import ValidationError
from sqlalchemy.exc import SQLAlchemyError

from access.admin import ConfigService, parse_document, redacted
from access.errors import AccessError, FieldErrors
from bot.app import build_runtime, build_store
from bot.audit_cli import export_audit_trail
from bot.clock import SystemClock
from bot.config_file import dump_config, read_config
from bot.demo import run_demo
from bot.errors import ConfigurationError
from bot.observability import configure_logging
from bot.sandbox_cli import run_sandbox
from bot.serve import run_server
from bot.settings import Settings, settings_errors
from bot.sync_report import describe_changes
from storage.crypto import SecretKeyError
from storage.engine import database_problem
from storage.migrations import upgrade

EXIT_USAGE = 2
EXIT_FAILED = 1
MAX_ERRORS = 20
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="atlas-access", description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the Slack app over HTTP (POST /slack/events, GET /healthz)")
    serve.add_argument("--host", default="0.0.0.0")
    serve.add_argument("--port", type=_whole(0, 65535), default=3000)
    serve.add_argument("--socket-mode", action="store_true", help="connect to Slack over Socket Mode instead")
    config = commands.add_parser("config", help="integrations and access flows as YAML")
    config_commands = config.add_subparsers(dest="config_command", required=True)
    apply = config_commands.add_parser("apply", help="validate FILE and upsert it by name, all or nothing")
    apply.add_argument("file", type=Path)
    config_commands.add_parser("show", help="print the effective configuration, secrets redacted")
    sync = commands.add_parser("sync", help="refresh the inventory from Atlas and print what changed")
    sync.add_argument("--integration", help="only this integration (default: all enabled)")
    audit = commands.add_parser("audit", help="the audit trail")
    export = audit.add_subparsers(dest="audit_command", required=True).add_parser(
        "export", help="print the audit trail as CSV or JSON (columns: see README)")
    export.add_argument("--since", default="30d",
                        help="7d, 12h, 2026-11-01, 2026-11-01T09:00Z or all (default: 30d)")
    export.add_argument("--integration", help="only events of this integration (default: all)")
    export.add_argument("--format", choices=("csv", "json"), default="csv")
    export.add_argument("--output", type=Path, help="write to this file instead of standard output")
    db = commands.add_parser("db", help="database maintenance")
    db.add_subparsers(dest="db_command", required=True).add_parser("upgrade", help="apply migrations")
    demo = commands.add_parser("demo", help="the whole story on this machine: local Slack, Atlas sandbox, SQLite")
    demo.add_argument("--duration-minutes", type=_whole(1, 1440), default=30)
    sandbox = commands.add_parser("sandbox", help="serve the Atlas sandbox simulator on loopback, seeded")
    sandbox.add_argument("--port", type=_whole(0, 65535), default=8089)
    sandbox.add_argument("--host", default="127.0.0.1")
    commands.add_parser("keygen", help="print a new ATLAS_ACCESS_SECRET_KEY")
    parser.add_argument("--log-level", default=None, type=str.upper, choices=LOG_LEVELS,
                        help="default: INFO for serve, WARNING otherwise")
    return parser


def _whole(low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number from `low` to `high` (argparse prints the message and exits 2)."""

    def parse(text: str) -> int:
        if not text.strip().isdecimal() or len(text.strip()) > 9 or not low <= int(text) <= high:
            raise argparse.ArgumentTypeError(f"must be a whole number from {low} to {high}")
        return int(text)

    return parse


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    level = args.log_level or ("INFO" if args.command == "serve" else "WARNING")
    configure_logging(level=level, json_format=_log_json())
    logging.getLogger("httpx").setLevel(max(logging.WARNING, logging.getLogger().level))
    try:
        return int(_dispatch(args) or 0)
    except FieldErrors as errors:
        _print_errors([f"{field}: {message}" for field, message in errors.errors.items()])
        return EXIT_USAGE
    except ValidationError as error:
        if error.title != Settings.__name__:
            raise
        _print_errors(settings_errors(error))  # any command: the environment is read before it does anything
        return EXIT_USAGE
    except (AccessError, ConfigurationError, SecretKeyError) as error:
        print(f"error: {error}", file=sys.stderr)
        return EXIT_FAILED
    except SQLAlchemyError as error:  # one sentence: the driver's message quotes SQL, parameters or the URL
        print(f"error: {database_problem(error, doing=f'in {args.command}')}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        return 130


def _print_errors(lines: list[str]) -> None:
    """One line each, the first MAX_ERRORS of them (a file with a thousand bad flows says so in a screenful)."""
    for line in lines[:MAX_ERRORS]:
        print(f"error: {line}", file=sys.stderr)
    if len(lines) > MAX_ERRORS:
        print(f"error: ...and {len(lines) - MAX_ERRORS} more", file=sys.stderr)


def _log_json() -> bool:
    """LOG_JSON from the settings; a settings error is reported later, by the command that reads them."""
    try:
        return Settings().log_json
    except Exception:
        return False


def _dispatch(args: argparse.Namespace) -> int | None:
    if args.command == "keygen":

        print(Fernet.generate_key().decode())
        return 0
    if args.command == "demo":

        return run_demo(duration_minutes=args.duration_minutes)
    if args.command == "sandbox":

        return run_sandbox(host=args.host, port=args.port)
    settings = Settings()
    if args.command == "db":

        upgrade(settings.database_url)
        print("database is at the latest schema")
        return 0
    if args.command == "config":
        return _config(args, settings)
    if args.command == "sync":
        return _sync(args, settings)
    if args.command == "audit":

        return export_audit_trail(args, settings)
    if args.command == "serve":

        return run_server(settings, host=args.host, port=args.port, socket_mode=args.socket_mode)
    return EXIT_USAGE


def _config(args: argparse.Namespace, settings: Settings) -> int:

    if args.config_command == "apply":
        document = parse_document(read_config(args.file))  # before the database is touched
        upgrade(settings.database_url)
        result = ConfigService(store=build_store(settings), clock=SystemClock()).apply(document)
        for name in result.created:
            print(f"created {name}")
        for name in result.updated:
            print(f"updated {name}")
        return 0
    upgrade(settings.database_url)
    document = ConfigService(store=build_store(settings), clock=SystemClock()).current()
    print(dump_config(redacted(document)), end="")
    return 0


def _sync(args: argparse.Namespace, settings: Settings) -> int:

    upgrade(settings.database_url)
    runtime = build_runtime(settings)
    names = [args.integration] if args.integration else runtime.sync.integrations()
    if not names:
        print("no integrations configured: run `atlas-access config apply FILE` first", file=sys.stderr)
        return EXIT_FAILED
    failed = 0
    for name in names:
        try:
            report = runtime.sync.run(name, actor="cli")
        except AccessError:
            raise
        except Exception as error:  # Atlas down, bad credentials: one sentence, carry on with the others
            print(f"{name}: sync failed: {error}", file=sys.stderr)
            failed += 1
            continue

        print(describe_changes(name, report.changes))
    return EXIT_FAILED if failed else 0


if __name__ == "__main__":
    sys.exit(main())
