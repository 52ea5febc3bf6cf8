"""Tamper evidence against checkpoints kept outside the database (issue 15).

Every row of the issue's attack table is done to a copy of a ledger AFTER a signed checkpoint of
it was kept, by an attacker who can write the SQLite file and runs escrow's own code to recompute
everything the database holds: the rows' hashes from the changed row to the end, the chain head,
the Merkle tree's kept nodes and the read models (rebuilt from the edited events). Without the checkpoint, `escrow verify` finds nothing wrong
(shown for each row); with ``--checkpoints`` it exits 1 naming the checkpoint that no longer
matches. Receipts and consistency proofs are checked in a separate process that has no database.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from reliability_support import ESCROW, copy_db, large_scenario, recompute, rows
from toml_writer import to_toml
from typer.testing import CliRunner

from escrow import merkle
from escrow.cli import app
from escrow.projector import rebuild
from escrow.runner import run_scenario
from escrow.scenario import parse_scenario
from escrow.service import CODEC, open_ledger
from escrow.store import StoredRow, open_store, row_hash

runner = CliRunner()


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("keys")
    result = runner.invoke(app, ["keygen", "--out", str(folder / "centre.key")])
    assert result.exit_code == 0, result.output
    return folder / "centre.key", folder / "centre.key.pub"


@pytest.fixture(scope="module")
def ledger(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A ledger of 4 generated contracts (every kind of act), one self-contained file."""
    path = tmp_path_factory.mktemp("ledger") / "run.db"
    scenario = parse_scenario(to_toml(large_scenario(4, seed=3)), "checkpoints.toml")
    run_scenario(scenario, str(path))
    single = path.with_name("ledger.db")
    copy_db(path, single)
    return single


@pytest.fixture
def kept(ledger: Path, keys: tuple[Path, Path], tmp_path: Path) -> tuple[Path, Path]:
    """A copy of the ledger and a file with the signed checkpoint taken of it."""
    copy = tmp_path / "ledger.db"
    copy_db(ledger, copy)
    result = runner.invoke(app, ["checkpoint", "--db", str(copy), "--signing-key", str(keys[0])])
    assert result.exit_code == 0, result.output
    checkpoints = tmp_path / "checkpoints.jsonl"
    checkpoints.write_text(result.stdout)
    return copy, checkpoints


def verify(db: Path, *extra: str) -> tuple[int, list[str]]:
    result = runner.invoke(app, ["verify", "--db", str(db), *extra])
    assert "Traceback" not in result.output
    return result.exit_code, result.stdout.splitlines()


def rows_of(db: Path) -> list[StoredRow]:
    con = sqlite3.connect(db)
    try:
        return rows(con)
    finally:
        con.close()


def attack(db: Path, edit: Callable[[sqlite3.Connection], None]) -> None:
    """``edit`` the file, then rebuild its read models from the edited events with escrow's own
    code (so that they agree with the events, as ``verify`` checks)."""
    con = sqlite3.connect(db)
    try:
        with con:
            edit(con)
    finally:
        con.close()
    with open_store(str(db), CODEC) as store:
        rebuild(store)


def set_data(con: sqlite3.Connection, position: int, data: str) -> None:
    con.execute("UPDATE events SET data = ? WHERE position = ?", (data, position))


def first_of(con: sqlite3.Connection, type_: str) -> tuple[int, str]:
    found = con.execute(
        "SELECT position, data FROM events WHERE type = ? ORDER BY position LIMIT 1", (type_,)
    ).fetchone()
    assert found is not None, type_
    return int(found[0]), str(found[1])


def deposit_to_50000(con: sqlite3.Connection) -> None:
    position, data = first_of(con, "deposit_received")
    event = json.loads(data)
    event["amount"] = "50000.00"
    set_data(con, position, json.dumps(event, separators=(",", ":")))
    recompute(con)


def other_tenant(con: sqlite3.Connection) -> None:
    position, data = first_of(con, "contract_opened")
    event = json.loads(data)
    event["terms"]["tenant"] = "someone else"
    set_data(con, position, json.dumps(event, separators=(",", ":"), ensure_ascii=False))
    recompute(con)


def backdate_to_2024(con: sqlite3.Connection) -> None:
    con.execute("UPDATE events SET recorded_at = '2024' || substr(recorded_at, 5)")
    recompute(con)


def cut_last_rows(con: sqlite3.Connection, drop_head: bool = False) -> None:
    """Delete the last 5 rows and their keys, point the head at the new last row (no hashing),
    and drop the tree's nodes over deleted rows (so the kept tree matches what is left)."""
    (last,) = con.execute("SELECT max(position) FROM events").fetchone()
    keep = last - 5
    con.execute("DELETE FROM events WHERE position > ?", (keep,))
    con.execute("DELETE FROM idempotency_keys WHERE first_position > ?", (keep,))
    con.execute(
        "UPDATE idempotency_keys SET last_position = ? WHERE last_position > ?", (keep, keep)
    )
    (digest,) = con.execute("SELECT hash FROM events WHERE position = ?", (keep,)).fetchone()
    # The head's recorded time and tree peaks are left unknown (NULL, as in an older ledger).
    con.execute(
        "UPDATE chain_head SET position = ?, hash = ?, recorded_at = NULL, peaks = NULL",
        (keep, digest),
    )
    for level, index in con.execute("SELECT level, idx FROM merkle_nodes").fetchall():
        if (index + 1) << level > keep:
            con.execute("DELETE FROM merkle_nodes WHERE level = ? AND idx = ?", (level, index))
    if drop_head:
        con.execute("DELETE FROM chain_head")


ATTACKS: dict[str, Callable[[sqlite3.Connection], None]] = {
    "a deposit changed to 50,000.00, every hash recomputed": deposit_to_50000,
    "the tenant of contract_opened changed, recomputed": other_tenant,
    "every recorded_at backdated to 2024, recomputed": backdate_to_2024,
    "the last rows and their keys deleted, the head moved back": cut_last_rows,
    "the same, and the head row deleted": lambda con: cut_last_rows(con, drop_head=True),
}


@pytest.mark.parametrize("name", list(ATTACKS))
def test_each_rewrite_after_a_checkpoint_is_reported(
    name: str, kept: tuple[Path, Path], keys: tuple[Path, Path]
) -> None:
    db, checkpoints = kept
    line = json.loads(checkpoints.read_text())
    assert verify(db, "--checkpoints", str(checkpoints), "--public-key", str(keys[1]))[0] == 0

    attack(db, ATTACKS[name])

    code, out = verify(db, "--checkpoints", str(checkpoints), "--public-key", str(keys[1]))
    assert code == 1, out
    if "head row deleted" in name:
        # verify reads only: it no longer writes a new head, it names the missing one.
        assert out == [f"unsound: event {line['events'] - 5}: the store has no chain head"], out
        return
    where = f"unsound: checkpoint {checkpoints}:1 ({line['events']} events, {line['time']}):"
    assert out[0].startswith(where), out
    if "deleted" in name:
        # 5 rows cut: the ledger holds events - 5, "events N-4..N missing"
        events = line["events"]
        assert f"holds {events - 5} events, fewer than the {events}" in out[0]
        assert f"events {events - 4}..{events} missing" in out[0]
    elif "tenant" in name:  # position 2 is the first contract: the ledger's id is unchanged
        assert f"events 1..{line['events']} no longer match it" in out[0]


@pytest.mark.parametrize("name", list(ATTACKS))
def test_without_a_checkpoint_the_same_rewrites_verify_as_sound(
    name: str, kept: tuple[Path, Path]
) -> None:
    """Why checkpoints are needed: inside the database these rewrites leave nothing to find."""
    db, _ = kept
    attack(db, ATTACKS[name])
    code, out = verify(db)
    if "head row deleted" in name:
        # The one rewrite the database alone still shows: verify reads only and no longer
        # writes a new head itself (issue 14), so the missing head is reported.
        assert (code, out) == (1, [f"unsound: event {len(rows_of(db))}: the store has no chain head"])
        return
    assert (code, out[0].split(":")[0]) == (0, "sound"), out


def test_a_rewrite_is_localised_between_two_checkpoints(
    kept: tuple[Path, Path], keys: tuple[Path, Path], tmp_path: Path
) -> None:
    """With a checkpoint of the first 40 events kept too, a change to the last event is placed
    among events 41..N."""
    db, checkpoints = kept
    line = json.loads(checkpoints.read_text())
    # a checkpoint of the first 40 events, signed: made by the store of a copy cut to 40 rows
    early = tmp_path / "early.db"
    copy_db(db, early)
    def cut_to_40(con: sqlite3.Connection) -> None:
        con.execute("DELETE FROM events WHERE position > 40")
        recompute(con)

    attack(early, cut_to_40)
    result = runner.invoke(app, ["checkpoint", "--db", str(early), "--signing-key", str(keys[0])])
    checkpoints.write_text(result.stdout + checkpoints.read_text())

    def later_last(con: sqlite3.Connection) -> None:
        con.execute(
            "UPDATE events SET recorded_at = '2099-01-01T00:00:00.000000+00:00'"
            " WHERE position = (SELECT max(position) FROM events)"
        )
        recompute(con)

    attack(db, later_last)
    code, out = verify(db, "--checkpoints", str(checkpoints), "--public-key", str(keys[1]))
    assert code == 1
    assert len(out) == 1, out  # the checkpoint at 40 still matches
    assert out[0].endswith(
        f"(the first 40 still match checkpoint {checkpoints}:1: the change is among events"
        f" 41..{line['events']})"
    ), out


def test_a_copy_without_its_wal_is_shorter_than_the_published_checkpoint(
    ledger: Path, tmp_path: Path
) -> None:
    """Rows committed to the -wal file only: copying ledger.db alone loses them. SQLite cannot
    tell, the checkpoint can."""
    db = tmp_path / "live.db"
    copy_db(ledger, db)
    holder = sqlite3.connect(db)  # keeps the WAL from being folded into the file on close
    holder.execute("PRAGMA wal_autocheckpoint = 0")
    holder.execute("SELECT count(*) FROM events").fetchone()
    try:
        (before,) = holder.execute("SELECT count(*) FROM events").fetchone()
        append_more(db)
        taken = runner.invoke(app, ["checkpoint", "--db", str(db)])
        checkpoints = tmp_path / "checkpoints.jsonl"
        checkpoints.write_text(taken.stdout)
        events = json.loads(taken.stdout)["events"]
        assert events > before
        crashed = tmp_path / "copy" / "live.db"
        crashed.parent.mkdir()
        shutil.copyfile(db, crashed)  # without live.db-wal
    finally:
        holder.close()

    assert verify(crashed)[0] == 0  # sound on its own: it cannot know about rows it never saw
    code, out = verify(crashed, "--checkpoints", str(checkpoints))
    assert code == 1
    assert f"the ledger holds {before} events, fewer than the {events} it covered" in out[0]
    assert "a copy made without its -wal file" in out[0]


def append_more(db: Path) -> None:
    """The ledger goes on: its clock runs 60 more days (at least one more event)."""
    with open_ledger(str(db)) as ledger:
        ledger.advance_to(ledger.today + dt.timedelta(days=60))


def test_a_checkpoint_altered_or_signed_by_another_key_is_reported(
    kept: tuple[Path, Path], keys: tuple[Path, Path], tmp_path: Path
) -> None:
    db, checkpoints = kept
    line = json.loads(checkpoints.read_text())
    forged = dict(line, events=line["events"] - 1)  # claims fewer events: the signature breaks
    checkpoints.write_text(json.dumps(forged) + "\n")
    code, out = verify(db, "--checkpoints", str(checkpoints), "--public-key", str(keys[1]))
    assert code == 1
    assert out == [
        f"unsound: checkpoint {checkpoints}:1 ({line['events'] - 1} events, {line['time']}):"
        " its signature does not verify: the checkpoint was altered or forged"
    ]
    other = tmp_path / "other.key"
    assert runner.invoke(app, ["keygen", "--out", str(other)]).exit_code == 0
    checkpoints.write_text(json.dumps(line) + "\n")
    code, out = verify(db, "--checkpoints", str(checkpoints), "--public-key", f"{other}.pub")
    assert code == 1
    assert "it is signed by key" in out[0] and "not by the public key given" in out[0]
    unsigned = {k: v for k, v in line.items() if k not in ("key", "signature")}
    checkpoints.write_text(json.dumps(unsigned) + "\n")
    code, out = verify(db, "--checkpoints", str(checkpoints), "--public-key", str(keys[1]))
    assert (code, out[0].endswith("it is not signed")) == (1, True)


def test_a_sound_verify_ends_with_a_checkpoint_equal_to_escrow_checkpoint(
    kept: tuple[Path, Path], keys: tuple[Path, Path]
) -> None:
    db, checkpoints = kept
    code, out = verify(db, "--checkpoints", str(checkpoints), "--public-key", str(keys[1]))
    assert code == 0
    assert out[0].startswith("sound: ")
    assert out[1] == f"checkpoints: all 1 kept in {checkpoints} still match (signatures verified)"
    walked, quick = json.loads(out[2]), json.loads(checkpoints.read_text())
    assert {k: walked[k] for k in ("ledger", "events", "root")} == {
        k: quick[k] for k in ("ledger", "events", "root")
    }


def test_a_recorded_at_moved_before_its_predecessor_is_reported_even_without_a_checkpoint(
    kept: tuple[Path, Path],
) -> None:
    db, _ = kept

    def backdate_one(con: sqlite3.Connection) -> None:
        con.execute(
            "UPDATE events SET recorded_at = '2024-01-01T00:00:00+00:00' WHERE position = 7"
        )
        recompute(con)

    attack(db, backdate_one)
    code, out = verify(db)
    assert code == 1
    assert out[0].startswith(
        "unsound: event 7: recorded_at of position 7 (2024-01-01T00:00:00+00:00) is earlier"
        " than its predecessor's"
    ), out


# --- receipts and consistency, checked with no database -------------------------------------


def offline(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """``escrow ARGS`` in a fresh process, in a folder with no database, no escrow settings."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ESCROW_")}
    return subprocess.run(
        [*ESCROW, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=120
    )


def test_a_receipt_verifies_with_only_the_receipt_the_checkpoint_and_the_public_key(
    kept: tuple[Path, Path], keys: tuple[Path, Path], tmp_path: Path
) -> None:
    db, checkpoints = kept
    made = runner.invoke(
        app, ["receipt", "--db", str(db), "--position", "12", "--checkpoint", str(checkpoints)]
    )
    assert made.exit_code == 0, made.output
    tenant = tmp_path / "tenant"  # what the tenant holds: no database
    tenant.mkdir()
    (tenant / "receipt.json").write_text(made.stdout)
    shutil.copy(checkpoints, tenant / "checkpoints.jsonl")
    shutil.copy(keys[1], tenant / "centre.pub")
    db.unlink()

    args = ["--checkpoint", "checkpoints.jsonl", "--public-key", "centre.pub"]
    done = offline("check-receipt", "receipt.json", *args, cwd=tenant)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("receipt holds: event 12 (")
    assert sorted(p.name for p in tenant.iterdir()) == [
        "centre.pub",
        "checkpoints.jsonl",
        "receipt.json",
    ]  # nothing else was read or made

    receipt = json.loads(made.stdout)
    assert len(receipt["proof"]) <= 8  # ~150 events: a path of at most ceil(log2(150)) hashes
    receipt["event"]["data"] = receipt["event"]["data"].replace('"on":"', '"on":"1')
    (tenant / "receipt.json").write_text(json.dumps(receipt))
    done = offline("check-receipt", "receipt.json", *args, cwd=tenant)
    assert (done.returncode, done.stdout.strip()) == (
        1,
        "receipt does not hold: the event's fields do not hash to the event's hash: it was altered",
    )
    # the altered event with its hash and leaf hash recomputed: the proof no longer leads to the
    # checkpoint's root
    row = StoredRow(position=12, **receipt["event"])
    receipt["event"]["hash"] = row_hash(row)
    receipt["leaf_hash"] = merkle.leaf_hash(bytes.fromhex(receipt["event"]["hash"])).hex()
    (tenant / "receipt.json").write_text(json.dumps(receipt))
    done = offline("check-receipt", "receipt.json", *args, cwd=tenant)
    assert (done.returncode, done.stdout.strip()) == (
        1,
        "receipt does not hold: the inclusion proof does not hold: the proof leads to another root",
    )


def test_a_receipt_made_now_carries_its_signed_checkpoint(
    kept: tuple[Path, Path], keys: tuple[Path, Path], tmp_path: Path
) -> None:
    db, _ = kept
    made = runner.invoke(
        app, ["receipt", "--db", str(db), "--position", "1", "--signing-key", str(keys[0])]
    )
    assert made.exit_code == 0, made.output
    receipt = json.loads(made.stdout)
    (tmp_path / "r.json").write_text(made.stdout)
    line = json.dumps(receipt["checkpoint"])
    done = offline(
        "check-receipt", "r.json", "--checkpoint", line, "--public-key", str(keys[1]), cwd=tmp_path
    )
    assert done.returncode == 0, done.stdout + done.stderr


def test_consistency_between_two_checkpoints_is_a_short_proof_checked_offline(
    kept: tuple[Path, Path], keys: tuple[Path, Path], tmp_path: Path
) -> None:
    db, checkpoints = kept
    old = checkpoints.read_text().strip()
    append_more(db)
    made = runner.invoke(
        app, ["consistency", "--db", str(db), "--old", old, "--signing-key", str(keys[0])]
    )
    assert made.exit_code == 0, made.output
    proof = json.loads(made.stdout)
    assert proof["old"] == json.loads(old)["events"] < proof["new"]
    assert len(proof["proof"]) <= 2 * 8
    (tmp_path / "proof.json").write_text(made.stdout)
    args = ["--old", old, "--public-key", str(keys[1])]
    done = offline("check-consistency", "proof.json", *args, cwd=tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.startswith("consistent: ")

    proof["proof"][0] = "00" * 32
    (tmp_path / "proof.json").write_text(json.dumps(proof))
    done = offline("check-consistency", "proof.json", *args, cwd=tmp_path)
    assert done.returncode == 1
    assert done.stdout.startswith("not consistent: the consistency proof does not hold")


def test_a_ledger_rewritten_under_an_old_checkpoint_gets_no_consistency_proof(
    kept: tuple[Path, Path],
) -> None:
    db, checkpoints = kept
    attack(db, other_tenant)
    made = runner.invoke(app, ["consistency", "--db", str(db), "--old", str(checkpoints)])
    assert made.exit_code == 2
    assert "no longer match the checkpoint" in made.output


def test_bad_checkpoint_and_receipt_input_is_refused_in_one_line(
    kept: tuple[Path, Path], tmp_path: Path
) -> None:
    db, checkpoints = kept
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"ledger": null, "events": -1, "root": "00", "time": "x"}\n')
    result = runner.invoke(app, ["verify", "--db", str(db), "--checkpoints", str(bad)])
    assert result.exit_code == 2
    assert result.stderr.strip() == f"escrow: {bad}: line 1: 'events' is not a whole number >= 0"
    (tmp_path / "r.json").write_text("{not json")
    result = runner.invoke(
        app, ["check-receipt", str(tmp_path / "r.json"), "--checkpoint", str(checkpoints)]
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(f"escrow: RECEIPT {tmp_path / 'r.json'}: not JSON")


def test_keygen_never_overwrites_and_a_wrong_key_file_is_refused_in_one_line(
    keys: tuple[Path, Path], kept: tuple[Path, Path]
) -> None:
    again = runner.invoke(app, ["keygen", "--out", str(keys[0])])
    assert (again.exit_code, again.stderr.strip()) == (
        2,
        f"escrow: {keys[0]}: already exists (not overwritten)",
    )
    db, _ = kept
    wrong = runner.invoke(app, ["checkpoint", "--db", str(db), "--signing-key", str(keys[1])])
    assert wrong.exit_code == 2
    assert wrong.stderr.startswith(f"escrow: signing key {keys[1]}: not an unencrypted PEM")
    assert len(wrong.stderr.splitlines()) == 1


def test_the_checkpoint_of_an_empty_ledger_has_the_empty_tree_root(tmp_path: Path) -> None:
    db = tmp_path / "empty.db"
    open_store(str(db), CODEC).close()
    result = runner.invoke(app, ["checkpoint", "--db", str(db)])
    line = json.loads(result.stdout)
    # MTH({}) = SHA-256 of nothing (RFC 9162 §2.1.1)
    assert (line["ledger"], line["events"], line["root"]) == (
        None,
        0,
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
    )
