"""Moving entities in and out of rows: one line each way, and the compare-and-set every `save` uses."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Sequence
from typing import Any, TypeVar, cast

from sqlalchemy import Connection, CursorResult, Row, Table, Update, bindparam, insert, update
from sqlmodel import SQLModel

from access.ports import StaleWrite

E = TypeVar("E")


def table_of(model: type[SQLModel]) -> Table:
    return cast(Table, model.__table__)  # type: ignore[attr-defined]


def values(entity: object) -> dict[str, Any]:
    """The entity's fields by name, shallow (column names are the field names)."""
    return {name: getattr(entity, name) for name in _field_names(type(entity))}


_FIELD_NAMES: dict[type, tuple[str, ...]] = {}


def _field_names(cls: type) -> tuple[str, ...]:
    """A dataclass's field names, once per class (`dataclasses.fields` builds them anew at each call, and a save
    reads two grants' forty-odd fields). Two threads filling it at once write the same value."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = tuple(f.name for f in dataclasses.fields(cls))
    return names


def entity(cls: type[E], row: Row[Any]) -> E:
    return cls(**row._mapping)


def insert_row(session: Connection, table: Table, data: dict[str, Any]) -> int:
    """INSERT one row; its new primary key."""
    result = cast(CursorResult[Any], session.execute(insert(table).values(**data)))
    return int(result.inserted_primary_key[0])  # type: ignore[index]


@functools.cache
def _versioned_update(table: Table, names: tuple[str, ...]) -> Update:
    """The compare-and-set UPDATE of `names`, built once per table: its parameters are `v_<column>`,
    `v_id` and `v_seen` (the version read). Built per save, the statement and its cache key cost more
    than the round trip on a busy worker."""
    columns = {name: bindparam(f"v_{name}", type_=table.c[name].type) for name in names}
    return (update(table)
            .where(table.c.id == bindparam("v_id", type_=table.c.id.type),
                   table.c.version == bindparam("v_seen", type_=table.c.version.type))
            .values(columns))


def _versioned_parameters(item: object, since: object | None, *, what: str) -> tuple[tuple[str, ...], dict[str, Any]]:
    """The columns a compare-and-set writes (those that differ from `since`, all without it; the version always)
    and its parameters (`v_<column>`, `v_id`, `v_seen`)."""
    data = values(item)
    item_id, version = data.pop("id"), data["version"]
    if item_id is None:
        raise StaleWrite(f"{what} was never added")
    if since is not None:
        before = values(since)
        data = {name: value for name, value in data.items() if name != "version" and value != before[name]}
    data["version"] = version + 1
    return tuple(data), {f"v_{name}": value for name, value in data.items()} | {"v_id": item_id, "v_seen": version}


def save_versioned_many(session: Connection, table: Table, changes: Sequence[tuple[E, E | None]], *,
                        what: str) -> list[E]:
    """`save_versioned(item, since=stored)` of each pair, as one executemany per set of changed columns (the claim of
    due grants moves each to REVOKING: one round trip, not one a grant); StaleWrite unless every row matched (the
    rows that did are written: leave the transaction then)."""
    groups: dict[tuple[str, ...], list[dict[str, Any]]] = {}
    seen: list[int] = []
    for item, stored in changes:
        names, parameters = _versioned_parameters(item, stored, what=what)
        groups.setdefault(names, []).append(parameters)
        seen.append(parameters["v_seen"])
    for names, rows in groups.items():
        result = cast(CursorResult[Any], session.execute(_versioned_update(table, names), rows))
        if result.rowcount != len(rows):
            raise StaleWrite(f"a {what} among {[row['v_id'] for row in rows]} changed since it was read")
    return [dataclasses.replace(item, version=version + 1)  # type: ignore[type-var]
            for (item, _), version in zip(changes, seen, strict=True)]


def save_versioned(session: Connection, table: Table, item: E, *, what: str, since: E | None = None) -> E:
    """UPDATE ... SET ..., version = version + 1 WHERE id = :id AND version = :version; StaleWrite if no row.

    `since`: the item as stored at that version; only the columns that differ from it are written (the rest are
    as stored, which the compare-and-set guarantees). Every column's value goes through its type's processing,
    a JSON column's serialisation included: a grant's step changes three or seven of its forty-odd columns."""
    names, parameters = _versioned_parameters(item, since, what=what)
    result = cast(CursorResult[Any], session.execute(_versioned_update(table, names), parameters))
    if result.rowcount != 1:
        raise StaleWrite(f"{what} {parameters['v_id']} changed since version {parameters['v_seen']} was read")
    return dataclasses.replace(item, version=parameters["v_seen"] + 1)  # type: ignore[type-var]
