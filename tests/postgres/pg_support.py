"""The PostgreSQL server behind the PostgreSQL tests: its URL, and a fresh schema per test.

The server comes from ``ESCROW_TEST_POSTGRES_URL`` (``tests/postgres/pg-server.sh`` starts one
and prints it; ``.ci/run`` does both). Without it the tests skip locally, but under ``CI=true``
they fail: CI must never pass by silently not testing PostgreSQL. A URL that is set but does
not answer is a failure everywhere.

Each test gets its own schema (``CREATE SCHEMA``, dropped afterwards) and a URL that puts it
first on the ``search_path`` (``?options=-csearch_path=…``), so tests never see each other's
rows, processes started by a test reach the same tables, and no database is created per test.
"""

from __future__ import annotations

import functools
import os
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy.engine import make_url

ENV = "ESCROW_TEST_POSTGRES_URL"
SKIP_REASON = (
    f"set {ENV} to run the PostgreSQL tests"
    ' (e.g. export ESCROW_TEST_POSTGRES_URL="$(tests/postgres/pg-server.sh)")'
)


def server_url() -> str:
    """The test server's URL; skips (locally) or fails (CI=true, or no answer) without one."""
    url = os.environ.get(ENV, "").strip()
    if not url:
        if os.environ.get("CI") == "true":
            pytest.fail(
                f"{ENV} is not set, and under CI=true the PostgreSQL tests must run, not skip"
                " (.ci/run starts a server with tests/postgres/pg-server.sh)",
                pytrace=False,
            )
        pytest.skip(SKIP_REASON)
    problem = _unreachable(url)
    if problem is not None:
        pytest.fail(f"{ENV} is set but the server does not answer: {problem}", pytrace=False)
    return url


def conninfo(url: str) -> str:
    """``url`` as libpq takes it (no SQLAlchemy ``+driver`` in the scheme)."""
    scheme, sep, rest = url.partition("://")
    return f"{scheme.partition('+')[0]}{sep}{rest}"


def hidden(url: str) -> str:
    """``url`` without its password, for messages."""
    return make_url(url).render_as_string(hide_password=True)


@functools.cache
def _unreachable(url: str) -> str | None:
    import psycopg

    try:
        with psycopg.connect(conninfo(url), connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return f"{hidden(url)}: {str(exc).strip()}"
    return None


def with_schema(url: str, schema: str) -> str:
    """``url`` with ``schema`` first (and only) on the search path."""
    return (
        make_url(url)
        .update_query_dict({"options": f"-csearch_path={schema}"})
        .render_as_string(hide_password=False)
    )


@contextmanager
def fresh_schema(url: str | None = None) -> Iterator[str]:
    """A new, empty schema on the test server; yields a URL that works in it; drops it after."""
    import psycopg
    from psycopg import sql

    base = url if url is not None else server_url()
    name = f"escrow_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(conninfo(base), autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(name)))
    try:
        yield with_schema(base, name)
    finally:
        with psycopg.connect(conninfo(base), autocommit=True) as conn:
            conn.execute("SET lock_timeout = '20s'")
            conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(name)))


def execute_raw(url: str, statement: str, params: Sequence[object] = ()) -> list[tuple[Any, ...]]:
    """Run ``statement`` (``?`` placeholders) on the database at ``url``, commit, return rows."""
    import psycopg

    with psycopg.connect(conninfo(url)) as conn:  # commits on a clean exit
        cursor = conn.execute(statement.replace("?", "%s"), tuple(params) if params else None)
        return [tuple(row) for row in cursor.fetchall()] if cursor.description else []
