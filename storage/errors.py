"""Storage's side of the domain's error words: a database that does not answer becomes `StoreUnavailable`.

Every way into the database that a use case or the bot takes (a unit of work, the outbox, the grant ledger)
runs inside `translated()`, so a caller catches `access.errors.StoreUnavailable` and never needs SQLAlchemy.
What counts: the driver's OperationalError (connection refused or lost, a server shutting down, SQLite's lock
held past busy_timeout) and InterfaceError, and any driver error after which SQLAlchemy dropped the
connection. Other errors (an IntegrityError, a bug in a statement) are not the database being away, and pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError

from access.errors import StoreUnavailable


class DatabaseUnavailable(StoreUnavailable, OperationalError):
    """StoreUnavailable, raised from the driver's error (its `orig`, `statement`, `connection_invalidated` kept).

    It is an SQLAlchemy OperationalError too, so the callers written before the port (they catch SQLAlchemy's
    errors, and read `orig` to say what failed) keep working; new callers catch StoreUnavailable. Its text is
    SQLAlchemy's (the statement, parameters hidden); `cause` is the driver's error class alone.
    """

    def __init__(self, statement: str | None, params: Any, orig: BaseException, hide_parameters: bool = False,
                 connection_invalidated: bool = False, code: str | None = None, ismulti: bool | None = None) -> None:
        # The same arguments as DBAPIError's, in its order: SQLAlchemy's __reduce__ rebuilds it (pickle, threads).
        OperationalError.__init__(self, statement, params, orig, hide_parameters, connection_invalidated, code,
                                  ismulti)
        self.cause = type(orig).__name__

    @classmethod
    def of(cls, error: DBAPIError) -> DatabaseUnavailable:
        return cls(error.statement, error.params, error.orig or error, error.hide_parameters,
                   error.connection_invalidated, None, error.ismulti)


def unavailable(error: BaseException) -> bool:
    """Whether `error` says the database is away (see the module's doc), rather than that a statement failed."""
    if isinstance(error, OperationalError | InterfaceError):
        return True
    return isinstance(error, DBAPIError) and error.connection_invalidated


@contextmanager
def translated() -> Iterator[None]:
    """Run the block; a database that is away leaves it as DatabaseUnavailable (StoreUnavailable)."""
    try:
        yield
    except DatabaseUnavailable:
        raise
    except DBAPIError as error:
        if not unavailable(error):
            raise
        raise DatabaseUnavailable.of(error) from error
