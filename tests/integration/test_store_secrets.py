"""Secrets stay secret and messages stay readable; new database files are private (issue 14,
item 4).

A URL is redacted by SQLAlchemy's URL rendering (the password) and by the *name* of each query
parameter (``password``, ``sslpassword``, ``token``, ``api_key``…), never by searching text for
the password: a password ``o`` used to turn "connection failed … port 1" into "c***nnecti***n
failed … p***rt 1", and a password in the query string was shown in full.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url
from store_events import CODEC, deposit
from typer.testing import CliRunner

from escrow.cli import app
from escrow.errors import StoreError
from escrow.store import open_store, redact_url

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "postgres"))
from pg_support import execute_raw, fresh_schema

runner = CliRunner()
NOWHERE = "127.0.0.1:1"  # nothing listens on port 1: the connection is refused at once


@pytest.mark.parametrize(
    ("url", "shown"),
    [
        ("postgresql://user:o@host/db", "postgresql://user:***@host/db"),
        ("postgresql://user@host/db?password=hunter2", "postgresql://user@host/db?password=***"),
        (
            "postgresql://u@h/db?sslmode=require&sslpassword=k3y&token=t0k&api_key=a&options=-cx",
            "postgresql://u@h/db?api_key=***&options=-cx&sslmode=require&sslpassword=***"
            "&token=***",  # SQLAlchemy renders the parameters sorted by name
        ),
        ("postgresql://u:p@h/db?PWD=x&Secret=y", "postgresql://u:***@h/db?PWD=***&Secret=***"),
    ],
)
def test_a_url_is_redacted_by_its_structure_and_parameter_names(url: str, shown: str) -> None:
    assert redact_url(url) == shown
    assert redact_url(make_url(url)) == shown


def connection_failure(url: str) -> str:
    with pytest.raises(StoreError) as caught:
        open_store(url, CODEC)
    return str(caught.value)


def test_a_one_letter_password_leaves_the_connection_failure_readable() -> None:
    message = connection_failure(f"postgresql://user:o@{NOWHERE}/db")

    assert "connection failed" in message and "port 1 failed" in message, message
    assert "***" not in message  # nothing garbled: the password is in no driver message
    assert "\n" not in message


def test_a_password_in_the_query_string_is_not_in_the_connection_failure() -> None:
    message = connection_failure(f"postgresql://user@{NOWHERE}/db?password=hunter2")

    assert "hunter2" not in message
    assert "port 1 failed" in message, message


@pytest.mark.parametrize(
    "command", [["verify"], ["replay"], ["run", "scenarios/rule-10-monthly-releases.toml"]]
)
def test_the_cli_says_connection_failed_in_one_readable_line(command: list[str]) -> None:
    root = Path(__file__).resolve().parents[2]
    args = [str(root / a) if a.endswith(".toml") else a for a in command]
    db = f"postgresql://user:o@{NOWHERE}/db?sslpassword=t0k"
    result = runner.invoke(app, [*args, "--db", db])

    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert "connection failed" in lines[0] and "port 1 failed" in lines[0], lines[0]
    assert "t0k" not in lines[0]


@pytest.fixture
def url() -> Iterator[str]:
    with fresh_schema() as url:
        yield url


def with_password_in_query(url: str) -> tuple[str, str]:
    parsed = make_url(url)
    password = parsed.password
    assert password, "the test server's URL should carry a password"
    moved = parsed.set(password=None).update_query_dict({"password": str(password)})
    return moved.render_as_string(hide_password=False), str(password)


def test_a_password_in_the_query_string_stays_hidden_on_a_live_server(url: str) -> None:
    query_url, password = with_password_in_query(url)
    shown = f"password={password}"

    with open_store(query_url, CODEC) as store:
        assert shown not in store.url and "password=***" in store.url, store.url
        assert shown not in repr(store)
    with pytest.raises(StoreError, match="closed") as caught:
        store.read_all()
    assert shown not in str(caught.value) and "password=***" in str(caught.value)


def test_a_read_only_store_on_postgresql_refuses_no_ledger_and_creates_nothing(url: str) -> None:
    with pytest.raises(StoreError, match="not an escrow ledger"):
        open_store(url, CODEC, read_only=True)
    tables = execute_raw(
        url,
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()",
    )
    assert tables == []


def test_a_read_only_store_on_postgresql_cannot_write_even_around_the_store(url: str) -> None:
    with open_store(url, CODEC) as writer:
        writer.append("A", 0, [deposit(1)])
    with open_store(url, CODEC, read_only=True) as reader:
        assert [e.version for e in reader.load("A")] == [1]
        with pytest.raises(StoreError, match="read-only"):
            reader.append("A", 1, [deposit(2)])
        with reader._engine.connect() as conn, pytest.raises(Exception, match="read-only"):
            conn.exec_driver_sql("DELETE FROM events")


# --- private files -------------------------------------------------------------------------------


@pytest.fixture
def umask_022() -> Iterator[None]:
    old = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(old)


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_a_new_sqlite_ledger_and_its_wal_and_shm_are_readable_by_their_owner_only(
    tmp_path: Path, umask_022: None
) -> None:
    path = tmp_path / "new.db"
    with open_store(str(path), CODEC) as store:
        store.append("A", 0, [deposit(1)])
        companions = {p.name: mode(p) for p in tmp_path.iterdir()}

    assert companions == {"new.db": 0o600, "new.db-wal": 0o600, "new.db-shm": 0o600}


def test_an_existing_database_file_keeps_its_mode(tmp_path: Path, umask_022: None) -> None:
    path = tmp_path / "shared.db"
    path.touch(mode=0o640)
    with open_store(str(path), CODEC) as store:
        store.append("A", 0, [deposit(1)])
    assert mode(path) == 0o640
