"""Reading never writes (issue 14, item 1).

``balance``, ``deadlines``, ``replay`` and ``verify`` open the ledger read-only. What is not an
escrow ledger (an empty file, another application's SQLite file, a directory, a FIFO, a device,
an empty ``--db``) is refused with one line and exit 2, and left byte-for-byte as it was. The
schema carries a version: a newer ledger is refused, an older one is migrated only by
``escrow migrate``. A read-only copy can be verified and queried by a user who cannot write it.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import sqlite3
import stat
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from reliability_support import ESCROW, copy_db
from typer.testing import CliRunner, Result

from escrow.cli import app
from escrow.store import SCHEMA_VERSION

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "rule-10-monthly-releases.toml"
QUERIES = [
    ["verify"],
    ["deadlines"],
    ["replay"],
    ["balance", "--contract", "C1"],
]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def one_line_refusal(result: Result) -> str:
    assert "Traceback" not in result.output
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    return lines[0]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The rule-10 scenario run into a ledger, copied into one self-contained file."""
    folder = tmp_path_factory.mktemp("ro")
    written = folder / "written.db"
    done = runner.invoke(app, ["run", str(SCENARIO), "--db", str(written), "--json"])
    assert done.exit_code == 0, done.output
    single = folder / "ledger.db"
    copy_db(written, single)
    return single


def other_application(path: Path) -> Path:
    con = sqlite3.connect(path)
    with con:
        con.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, text TEXT)")
        con.execute("INSERT INTO notes (text) VALUES ('mine')")
    con.close()
    return path


@pytest.mark.parametrize("command", QUERIES, ids=lambda c: c[0])
@pytest.mark.parametrize("kind", ["empty", "other-application"])
def test_a_query_on_a_file_that_is_no_ledger_refuses_and_leaves_it_as_it_was(
    tmp_path: Path, command: list[str], kind: str
) -> None:
    path = tmp_path / "x.db"
    if kind == "empty":
        path.write_bytes(b"")
    else:
        other_application(path)
    before = digest(path)

    line = one_line_refusal(runner.invoke(app, [*command, "--db", str(path)]))

    assert "not an escrow ledger" in line, line
    assert digest(path) == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.db"]  # no -wal, no -shm


def test_run_on_another_applications_file_refuses_and_leaves_it_as_it_was(tmp_path: Path) -> None:
    path = other_application(tmp_path / "x.db")
    before = digest(path)

    line = one_line_refusal(runner.invoke(app, ["run", str(SCENARIO), "--db", str(path)]))

    assert "not an escrow ledger" in line and "notes" in line, line
    assert digest(path) == before
    with sqlite3.connect(path) as con:
        assert con.execute("PRAGMA journal_mode").fetchone() == ("delete",)  # not switched


@pytest.mark.parametrize("command", QUERIES, ids=lambda c: c[0])
def test_a_query_leaves_a_ledger_byte_for_byte_as_it_was(
    ledger: Path, tmp_path: Path, command: list[str]
) -> None:
    copy = tmp_path / "copy.db"
    shutil.copyfile(ledger, copy)
    before = digest(copy)

    result = runner.invoke(app, [*command, "--db", str(copy)])

    assert result.exit_code == 0, result.output
    assert digest(copy) == before
    # A read-only WAL reader creates -wal and -shm; the store removes them again on close.
    assert sorted(p.name for p in tmp_path.iterdir()) == ["copy.db"]


def set_version(path: Path, version: int | None) -> None:
    con = sqlite3.connect(path)
    with con:
        if version is None:
            con.execute("DROP TABLE escrow_meta")  # as the ledgers made before the version
        else:
            con.execute("UPDATE escrow_meta SET value = ? WHERE key = 'schema_version'", (version,))
    con.close()


def test_a_new_ledger_carries_the_schema_version(ledger: Path) -> None:
    with sqlite3.connect(ledger) as con:
        rows = con.execute("SELECT key, value FROM escrow_meta").fetchall()
    assert rows == [("schema_version", str(SCHEMA_VERSION))]


@pytest.mark.parametrize("command", [*QUERIES, ["run", str(SCENARIO)], ["migrate"]])
def test_a_ledger_from_a_newer_escrow_is_refused_with_a_line_that_says_so(
    ledger: Path, tmp_path: Path, command: list[str]
) -> None:
    copy = tmp_path / "newer.db"
    shutil.copyfile(ledger, copy)
    set_version(copy, SCHEMA_VERSION + 1)
    before = digest(copy)

    line = one_line_refusal(runner.invoke(app, [*command, "--db", str(copy)]))

    assert f"version {SCHEMA_VERSION + 1}, newer than this escrow's {SCHEMA_VERSION}" in line
    assert digest(copy) == before


def test_an_older_ledger_is_read_but_written_only_after_an_explicit_migration(
    ledger: Path, tmp_path: Path
) -> None:
    copy = tmp_path / "older.db"
    shutil.copyfile(ledger, copy)
    set_version(copy, None)  # version 0: the three tables, no escrow_meta
    before = digest(copy)

    verified = runner.invoke(app, ["verify", "--db", str(copy)])
    refused = runner.invoke(app, ["run", str(SCENARIO), "--db", str(copy)])

    assert verified.exit_code == 0, verified.output  # an auditor can read it as it is
    line = one_line_refusal(refused)
    assert "older than this escrow's" in line and "escrow migrate" in line, line
    assert digest(copy) == before  # never migrated silently

    migrated = runner.invoke(app, ["migrate", "--db", str(copy)])
    again = runner.invoke(app, ["migrate", "--db", str(copy)])
    rerun = runner.invoke(app, ["run", str(SCENARIO), "--db", str(copy), "--json"])

    assert migrated.exit_code == 0, migrated.output
    assert (
        migrated.stdout.strip()
        == f"migrated the ledger's schema from version 0 to {SCHEMA_VERSION}"
    )
    assert (
        again.stdout.strip()
        == f"the ledger's schema is version {SCHEMA_VERSION}: nothing to migrate"
    )
    assert rerun.exit_code == 0, rerun.output
    with sqlite3.connect(copy) as con:
        assert con.execute("SELECT value FROM escrow_meta").fetchall() == [(str(SCHEMA_VERSION),)]


# --- paths that are not files ------------------------------------------------------------------


@pytest.fixture
def odd_paths(tmp_path: Path) -> Iterator[dict[str, str]]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    yield {"empty": "", "fifo": str(fifo), "directory": str(tmp_path), "device": "/dev/null"}


def escrow(*args: str) -> subprocess.CompletedProcess[str]:
    """``escrow`` in a child process: a FIFO that is opened would hang it (the timeout fails)."""
    return subprocess.run([*ESCROW, *args], capture_output=True, text=True, timeout=60, check=False)


@pytest.mark.parametrize("what", ["empty", "fifo", "directory", "device"])
def test_an_odd_path_as_database_or_scenario_is_one_line_and_exit_2(
    odd_paths: dict[str, str], what: str
) -> None:
    odd = odd_paths[what]
    for args in (
        ["verify", "--db", odd],
        ["balance", "--contract", "C1", "--db", odd],
        ["run", str(SCENARIO), "--db", odd],
        ["run", odd],
        ["check", odd],
    ):
        if what == "empty" and args[0] == "check":
            continue  # `check ''` names the working directory: covered by "directory"
        done = escrow(*args)
        assert done.returncode == 2, (args, done.stdout, done.stderr)
        assert done.stdout == ""
        assert "Traceback" not in done.stderr
        assert len(done.stderr.splitlines()) == 1, (args, done.stderr)
    assert what != "device" or stat.S_ISCHR(os.stat(odd).st_mode)  # /dev/null left a device


# --- a read-only copy, read by a user who cannot write it ----------------------------------------

NOBODY = 65534  # nobody / nogroup


def as_nobody(args: list[str]) -> tuple[int, str, str]:
    """``escrow ARGS`` in a forked child that gave up root for ``nobody`` (uid and gid 65534).

    A fork, not ``runuser``: the interpreter may live where nobody cannot execute it. What the
    command needs is imported before the fork (the caller runs it once as root first)."""
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: never returns into pytest
        code = 1
        try:
            os.close(read_end)
            os.setgroups([])
            os.setgid(NOBODY)
            os.setuid(NOBODY)
            result = runner.invoke(app, args)
            crashed = result.exception is not None and not isinstance(result.exception, SystemExit)
            crash = repr(result.exception) if crashed else ""
            payload = json.dumps([result.exit_code, result.stdout, result.stderr + crash])
            os.write(write_end, payload.encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read()
    os.waitpid(pid, 0)
    exit_code, out, err = json.loads(data)
    return int(exit_code), str(out), str(err)


def _timeless(output: str) -> str:
    return re.sub(r'"time": "[^"]*"', '"time": "…"', output)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to become nobody")
@pytest.mark.parametrize("command", QUERIES, ids=lambda c: c[0])
def test_a_read_only_copy_can_be_verified_and_queried_by_a_user_who_cannot_write_it(
    ledger: Path, command: list[str]
) -> None:
    """As root file modes do not bind, so the query runs as ``nobody`` on a 0444 file in a 0555
    directory: neither the file nor a -wal/-shm beside it can be written (before the fix:
    "attempt to write a readonly database")."""
    warm = runner.invoke(app, [*command, "--db", str(ledger)])
    assert warm.exit_code == 0, warm.output
    folder = Path(tempfile.mkdtemp(prefix="escrow-ro-"))
    try:
        copy = folder / "ledger.db"
        shutil.copyfile(ledger, copy)
        copy.chmod(0o444)
        folder.chmod(0o555)
        before = digest(copy)

        code, out, err = as_nobody([*command, "--db", str(copy)])

        assert code == 0, err
        # verify's checkpoint line says when it was made (to the second): that may differ
        assert _timeless(out) == _timeless(warm.stdout)
        if command[0] == "verify":
            assert out.startswith("sound: "), out
        assert digest(copy) == before
        assert sorted(p.name for p in folder.iterdir()) == ["ledger.db"]
    finally:
        folder.chmod(0o755)
        shutil.rmtree(folder)
