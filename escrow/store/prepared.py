"""SQL statements compiled once per database dialect and run straight on the driver.

An act runs a dozen small statements. Built and executed through SQLAlchemy Core each time, a
statement costs more in building, cache-key generation, parameter processing and result set-up
(about 40 µs) than in SQLite (about 5 µs); compiled once and run on the connection's own DB-API
cursor, inside the same transaction, it costs what the database does. Only for statements whose
parameters the driver takes as they are (text, integers, booleans): no type processing happens
on the way in or out. Driver errors come out as SQLAlchemy's exceptions, as from Core.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, NamedTuple

import sqlalchemy as sa
import sqlalchemy.exc as sa_exc
from sqlalchemy.engine import Connection
from sqlalchemy.sql import ClauseElement


class Prepared:
    """A Core statement with named bind parameters, compiled once per dialect."""

    __slots__ = ("_compiled", "statement")

    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._compiled: dict[str, _Compiled] = {}

    def _for(self, conn: Connection) -> _Compiled:
        dialect = conn.dialect
        found = self._compiled.get(dialect.name)
        if found is None:
            compiled = self.statement.compile(dialect=dialect)
            order = getattr(compiled, "positiontup", None) or ()  # SQLCompiler's bind order
            names = tuple(order) if dialect.positional else None
            # Literals in the statement (``id == 1``) are bind parameters with their values.
            fixed = {k: v for k, v in compiled.params.items() if v is not None}
            written = tuple(getattr(compiled, "binds", {}))  # bind parameters, as written
            found = self._compiled[dialect.name] = _Compiled(compiled.string, names, fixed, written)
        return found

    def __call__(self, conn: Connection, params: Mapping[str, Any] | None = None) -> Rows:
        """Run the statement with ``params`` (by bind-parameter name); its rows, as the driver
        gives them (no column types applied)."""
        compiled = self._for(conn)
        return _run(conn, compiled.sql, compiled.arguments(params or {}), many=False)

    def many(self, conn: Connection, rows: Sequence[Mapping[str, Any]]) -> None:
        """Run the statement once per row (one ``executemany``)."""
        if not rows:
            return
        compiled = self._for(conn)
        _run(conn, compiled.sql, [compiled.arguments(r) for r in rows], many=True)

    def many_in_order(self, conn: Connection, rows: Sequence[Sequence[Any]]) -> None:
        """:meth:`many` with each row's values in the order of the statement's parameters as
        written (an ``INSERT`` of every column: the column order), not by name."""
        if not rows:
            return
        compiled = self._for(conn)
        if compiled.names is None:  # a named paramstyle: the names in the order written
            order = tuple(compiled.written)
            arguments: Any = [dict(zip(order, row, strict=True)) for row in rows]
        else:
            arguments = rows
        _run(conn, compiled.sql, arguments, many=True)


def insert_into(table: sa.Table) -> Prepared:
    """``INSERT`` of every column of ``table``, each a bind parameter named after its column
    (rows go to :meth:`Prepared.many_in_order` in the table's column order)."""
    return Prepared(table.insert().values({c.name: sa.bindparam(c.name) for c in table.columns}))


def run_plain(conn: Connection, sql: str) -> None:
    """Run a statement without parameters (``BEGIN IMMEDIATE``) on the driver's cursor."""
    _run(conn, sql, (), many=False)


def _run(conn: Connection, sql: str, arguments: Any, *, many: bool) -> Rows:
    """Run ``sql`` on the connection's own DB-API connection (inside its transaction).

    ``sqlite3`` runs it on a cursor its connection makes in C (a Python cursor made and closed
    per statement costs more than a small statement); another driver on a cursor made here.
    Listeners get a cursor either way, as from Core."""
    dbapi: Any = conn.connection.dbapi_connection
    in_c = isinstance(dbapi, sqlite3.Connection)
    cursor = None if in_c and not conn.dispatch.before_cursor_execute else dbapi.cursor()
    try:
        if cursor is not None:
            _announce(conn, cursor, sql, arguments, many=many)
        runner: Any = dbapi if in_c else cursor
        if many:
            runner.executemany(sql, arguments)
            return Rows([])
        result = runner.execute(sql, arguments)  # the cursor that ran it
        return Rows(result.fetchall() if result.description is not None else [])
    except conn.dialect.loaded_dbapi.Error as exc:
        raise _wrapped(conn, sql, arguments, exc) from exc
    finally:
        if cursor is not None:
            cursor.close()


def _announce(conn: Connection, cursor: Any, sql: str, arguments: Any, *, many: bool) -> None:
    """SQLAlchemy's ``before_cursor_execute`` listeners (statement logging, tests) see the
    statement as if Core ran it; with none registered this costs one truth test."""
    if conn.dispatch.before_cursor_execute:
        conn.dispatch.before_cursor_execute(conn, cursor, sql, arguments, None, many)


def _wrapped(conn: Connection, sql: str, arguments: Any, exc: Exception) -> Exception:
    """The driver's error as SQLAlchemy's (IntegrityError, OperationalError…)."""
    dbapi = conn.dialect.loaded_dbapi
    return sa_exc.DBAPIError.instance(sql, arguments, exc, dbapi.Error, dialect=conn.dialect)


class Rows:
    """The rows of one statement: iterate, or take ``first()``, ``scalar()`` or ``all()``."""

    __slots__ = ("_rows",)

    def __init__(self, rows: Sequence[Any]) -> None:
        self._rows = rows

    def __iter__(self) -> Iterator[Any]:
        return iter(self._rows)

    def first(self) -> Any:
        return self._rows[0] if self._rows else None

    def scalar(self) -> Any:
        return self._rows[0][0] if self._rows else None

    def all(self) -> Sequence[Any]:
        return self._rows


class _Compiled(NamedTuple):
    sql: str
    names: tuple[str, ...] | None
    """The bind parameters in order (positional drivers), None for named ones."""
    fixed: dict[str, Any]
    written: tuple[str, ...]

    def arguments(self, params: Mapping[str, Any]) -> Any:
        given = {**self.fixed, **params} if self.fixed else params
        if self.names is not None:
            return tuple(given[n] for n in self.names)
        return dict(given)
