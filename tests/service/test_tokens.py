"""Bearer tokens (issue 18): ``escrow tokens create|list|revoke``, stored only as SHA-256 hashes,
shown once, revocable; a bad request to the command exits 2 in one line and writes nothing.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import re
import sqlite3
from pathlib import Path

import pytest
from api_support import api_client, sha256_hex
from typer.testing import CliRunner, Result

import escrow
from escrow.api.parties import Party, Role
from escrow.api.tokens import authenticate, create_token, revoke_token
from escrow.cli import app

runner = CliRunner()
NOW = dt.datetime(2025, 7, 1, 2, tzinfo=dt.UTC)
TOKEN = re.compile(r"esc_([0-9a-f]{12})_([A-Za-z0-9_-]{43})")


@pytest.fixture
def api_db(tmp_path: Path) -> Path:
    """An empty ledger file."""
    path = tmp_path / "ledger.db"
    escrow.open_ledger(path).close()
    return path


def _token_rows(path: Path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as conn:
        (count,) = conn.execute("SELECT count(*) FROM api_tokens").fetchone()
    return int(count)


def _file_bytes(path: Path) -> bytes:
    """The ledger file and whatever SQLite keeps beside it (journal, WAL)."""
    return b"".join(p.read_bytes() for p in sorted(path.parent.glob(path.name + "*")))


def _one_line_refusal(result: Result, starts: str) -> None:
    """Exit 2, nothing on stdout, one line on stderr starting 'escrow: '."""
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    lines = result.stderr.splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith(f"escrow: {starts}"), lines[0]


def _create(path: Path, *args: str) -> dict[str, str]:
    result = runner.invoke(app, ["tokens", "create", *args, "--db", str(path), "--json"])
    assert result.exit_code == 0, result.output
    made = json.loads(result.stdout)
    assert isinstance(made, dict)
    return made


def test_the_secret_is_shown_once_and_only_its_hash_is_stored(api_db: Path) -> None:
    result = runner.invoke(
        app, ["tokens", "create", "enterprise", "--subject", "E1", "--db", str(api_db)]
    )

    assert result.exit_code == 0, result.output
    found = TOKEN.findall(result.stdout)
    assert len(found) == 1, result.stdout
    token_id, secret = found[0]
    token = f"esc_{token_id}_{secret}"
    assert result.stdout.count(token) == 1
    assert "enterprise:E1" in result.stdout
    stored = _file_bytes(api_db)
    assert secret.encode() not in stored
    assert token.encode() not in stored
    assert sha256_hex(secret).encode() in stored
    assert token_id.encode() in stored


def test_list_shows_who_and_when_but_never_the_secret(api_db: Path) -> None:
    first = _create(api_db, "enterprise", "--subject", "E1", "--label", "E1's platform")
    second = _create(api_db, "auditor")
    secrets = [TOKEN.fullmatch(t["token"]) for t in (first, second)]

    as_json = runner.invoke(app, ["tokens", "list", "--db", str(api_db), "--json"])
    as_text = runner.invoke(app, ["tokens", "list", "--db", str(api_db)])

    assert as_json.exit_code == 0 and as_text.exit_code == 0, as_json.output + as_text.output
    rows = json.loads(as_json.stdout)
    assert [(r["id"], r["party"], r["label"], r["revoked_at"]) for r in rows] == [
        (first["id"], "enterprise:E1", "E1's platform", None),
        (second["id"], "auditor", "", None),
    ]
    for match in secrets:
        assert match is not None
        assert match.group(2) not in as_json.stdout
        assert match.group(2) not in as_text.stdout
    assert first["id"] in as_text.stdout and "active" in as_text.stdout


def test_a_revoked_token_is_refused_at_its_next_request(api_db: Path) -> None:
    made = _create(api_db, "fund_centre")
    headers = {"Authorization": f"Bearer {made['token']}"}
    with api_client(api_db) as client:
        before = client.get("/clock", headers=headers)
        revoked = runner.invoke(app, ["tokens", "revoke", made["id"], "--db", str(api_db)])
        after = client.get("/clock", headers=headers)

    assert before.status_code == 200, before.text
    assert revoked.exit_code == 0, revoked.output
    assert revoked.stdout == f"revoked token {made['id']} of fund_centre\n"
    assert after.status_code == 401
    assert after.headers["www-authenticate"].startswith("Bearer")
    listed = json.loads(
        runner.invoke(app, ["tokens", "list", "--db", str(api_db), "--json"]).stdout
    )
    assert listed[0]["revoked_at"] is not None


def test_revoking_an_unknown_id_is_one_line_and_exit_2(api_db: Path) -> None:
    result = runner.invoke(app, ["tokens", "revoke", "0123456789ab", "--db", str(api_db)])

    _one_line_refusal(result, "token: no token with id '0123456789ab'")


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["landlord"], "role: 'landlord'"),
        (["enterprise"], "role enterprise needs a subject"),
        (["tenant"], "role tenant needs a subject"),
        (["tenant", "--subject", " T1"], "subject"),
        (["auditor", "--label", "two\nlines"], "label"),
    ],
)
def test_a_bad_request_for_a_token_writes_nothing(
    api_db: Path, args: list[str], names: str
) -> None:
    result = runner.invoke(app, ["tokens", "create", *args, "--db", str(api_db)])

    _one_line_refusal(result, names)
    assert _token_rows(api_db) == 0


def test_a_token_for_a_new_database_makes_the_ledger_first(tmp_path: Path) -> None:
    """The README's third line: `escrow tokens create … --db ledger.db` on a fresh clone."""
    new = tmp_path / "new.db"
    result = runner.invoke(app, ["tokens", "create", "auditor", "--db", str(new), "--json"])

    assert result.exit_code == 0, result.output
    token = json.loads(result.stdout)["token"]
    with escrow.open_ledger(new, read_only=True) as ledger:
        assert authenticate(ledger.store, token) == Party(Role.AUDITOR)


def test_listing_or_revoking_needs_an_existing_ledger(tmp_path: Path) -> None:
    missing = tmp_path / "missing.db"
    for args in (["list"], ["revoke", "tok"]):
        result = runner.invoke(app, ["tokens", *args, "--db", str(missing)])
        assert result.exit_code == 2
        assert len(result.stderr.splitlines()) == 1
        assert not missing.exists()


def test_authenticate_takes_only_the_right_secret_of_a_live_token(api_db: Path) -> None:
    with escrow.open_ledger(api_db) as ledger:
        store = ledger.store
        issued, token = create_token(store, "tenant", "T1", now=NOW)
        _, other_token = create_token(store, "tenant", "T2", now=NOW)
        match = TOKEN.fullmatch(token)
        other_match = TOKEN.fullmatch(other_token)
        assert match is not None and other_match is not None
        wrong_secret = f"esc_{issued.id}_{other_match.group(2)}"
        unknown_id = f"esc_{'0' * 12}_{match.group(2)}"

        assert authenticate(store, token) == Party(Role.TENANT, "T1")
        assert authenticate(store, other_token) == Party(Role.TENANT, "T2")
        assert authenticate(store, wrong_secret) is None
        assert authenticate(store, unknown_id) is None
        assert authenticate(store, token[:-1]) is None  # one character short
        assert authenticate(store, token + "x") is None
        assert authenticate(store, token.replace("esc_", "tok_")) is None
        assert authenticate(store, "") is None

        first = revoke_token(store, issued.id, now=NOW)
        later = revoke_token(store, issued.id, now=NOW + dt.timedelta(days=1))
        assert authenticate(store, token) is None
        assert authenticate(store, other_token) == Party(Role.TENANT, "T2")
        assert later.revoked_at == first.revoked_at == NOW.isoformat()


def test_the_tokens_roles_are_the_webhooks_roles() -> None:
    """One set of parties: a token's party key is a key a webhook can be registered for."""
    from escrow.notify.parties import ROLES, check_party

    assert tuple(role.value for role in Role) == ROLES
    for role in Role:
        subject = "X1" if role in (Role.ENTERPRISE, Role.TENANT, Role.DISTRICT) else None
        key = Party(role, subject).key
        assert check_party(key) == key
