"""The tenant's page (Art. 19) over plain HTTP, and the query code behind it (issue 18).

The router is mounted on a bare ``FastAPI()`` app and driven with FastAPI's TestClient; the
ledger is a real SQLite file holding the contract worked by hand in ``tenant_page_support``.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import hmac
import re
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from tenant_page_support import (
    FILING_NO,
    new_ledger,
    worked_contract,
    worked_terms,
)
from typer.testing import CliRunner

from escrow.api.query_code import SECRET_KEY, contract_for_query, query_code
from escrow.api.tenant_page import Attempts, tenant_page_router
from escrow.errors import StoreError
from escrow.service import Ledger, open_ledger

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "postgres"))
from pg_support import fresh_schema

NOT_FOUND_TEXT = "备案编号或查询码不正确"


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = new_ledger(tmp_path / "ledger.db")
    try:
        yield opened
    finally:
        opened.close()


def client_of(ledger: Ledger) -> TestClient:
    app = FastAPI()
    app.include_router(tenant_page_router(lambda: contextlib.nullcontext(ledger)))
    return TestClient(app)


def post(client: TestClient, filing_no: str, code: str) -> tuple[int, str, dict[str, str]]:
    response = client.post("/tenant", data={"filing_no": filing_no, "query_code": code})
    return response.status_code, response.text, dict(response.headers)


def section(page: str, ident: str) -> str:
    """The text of the element with id ``ident`` up to the next heading or section's end."""
    found = re.search(rf'id="{ident}"[^>]*>(.*?)(?=<h2|</section>|</main>)', page, re.S)
    assert found is not None, f"no element {ident!r} in the page"
    return re.sub(r"<[^>]+>", " ", found.group(1))


def wrong_code(code: str) -> str:
    """A code that is not ``code`` (its last digit moved on by one)."""
    return code[:-1] + str((int(code[-1]) + 1) % 10)


# --- the page ------------------------------------------------------------------------------


def test_the_form_is_chinese_for_a_phone_and_posts_both_fields(ledger: Ledger) -> None:
    response = client_of(ledger).get("/tenant")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert '<html lang="zh-CN">' in page
    assert '<meta name="viewport" content="width=device-width, initial-scale=1">' in page
    assert '<form method="post" action="tenant"' in page  # relative: works under a prefix
    assert 'name="filing_no"' in page and 'name="query_code"' in page
    assert "备案编号" in page and "查询码" in page


def test_the_right_code_shows_what_is_held_the_lots_interest_deadlines_and_history(
    ledger: Ledger,
) -> None:
    worked_contract(ledger)
    code = query_code(ledger, "C1")
    status, page, _ = post(client_of(ledger), FILING_NO, code)
    assert status == 200, page
    # Figures from tenant_page_support's docstring, worked by hand.
    assert re.search(r'id="as-of">2025-07-20<', page)
    assert re.search(r'id="total">¥15,000\.00<', page)  # 5,000.00 + 10,000.00
    deposit = section(page, "fund-deposit")
    assert "押金" in deposit and "托管" in deposit
    assert "¥5,000.00" in deposit and "¥2.28" in deposit  # 5,000 × 0.35 % × 47 / 360
    rent = section(page, "fund-rent")
    assert "预付租金" in rent and "监管" in rent
    assert "¥10,000.00" in rent and "¥4.57" in rent  # 10,000 × 0.35 % × 47 / 360
    lots = section(page, "lots")
    # Deposit lot 1: 5,000.00 on 06-03, all held; rent lot 1: 30,000.00 on 06-03, 10,000.00
    # held, next release 08-03.
    assert re.search(r"押金 第1笔.*2025-06-03.*¥5,000\.00.*¥5,000\.00", lots, re.S)
    assert re.search(
        r"预付租金 第1笔.*2025-06-03.*¥30,000\.00.*¥10,000\.00.*2025-08-03", lots, re.S
    )
    deadlines = section(page, "deadlines")
    assert "2025-08-03" in deadlines and "按月划转给企业" in deadlines and "第1笔" in deadlines
    transfers = section(page, "transfers")
    # Newest first: 07-03 release 5,000.00 with 1.46; 06-03 release 15,000.00; the two payments.
    assert re.findall(r"\d{4}-\d{2}-\d{2}", transfers) == [
        "2025-07-03", "2025-06-03", "2025-06-03", "2025-06-03"
    ]  # fmt: skip
    assert re.search(r"2025-07-03.*¥5,000\.00.*划转给企业.*利息.*¥1\.46", transfers, re.S)
    assert "¥15,000.00" in transfers and "¥30,000.00" in transfers
    assert "承租人 T1 → 押金托管账户" in transfers and "租金监管账户 → 企业 E1" in transfers
    notices = section(page, "notices")
    assert "2025-06-03" in notices and "押金晚于合同起始日缴存" in notices


def test_a_wrong_code_and_an_unknown_filing_number_get_the_same_404(ledger: Ledger) -> None:
    worked_contract(ledger)
    code = query_code(ledger, "C1")
    client = client_of(ledger)
    answers = [
        post(client, FILING_NO, wrong_code(code)),
        post(client, "JZ-2099-999999", code),
        post(client, "JZ-2099-999999", "12345678"),
        post(client, FILING_NO, "1234"),  # not 8 digits
        post(client, "", ""),
        post(client, " \x00bad", code),  # not even an id
    ]
    statuses = {status for status, _, _ in answers}
    bodies = {body for _, body, _ in answers}
    assert statuses == {404}
    assert len(bodies) == 1
    (body,) = bodies
    assert NOT_FOUND_TEXT in body
    assert FILING_NO not in body and "C1" not in body and "¥" not in body
    # Nor do the headers tell them apart.
    heads = {tuple(sorted(h.items())) for _, _, h in answers}
    assert len(heads) == 1


def test_the_code_may_be_typed_with_spaces_or_full_width_digits(ledger: Ledger) -> None:
    worked_contract(ledger)
    code = query_code(ledger, "C1")
    client = client_of(ledger)
    spaced = f" {code[:4]} {code[4:]} "
    full_width = "".join(chr(ord("０") + int(c)) for c in code)
    assert post(client, FILING_NO, spaced)[0] == 200
    assert post(client, FILING_NO, full_width)[0] == 200
    assert post(client, f" {FILING_NO} ", code)[0] == 200


def test_hostile_ids_are_escaped(ledger: Ledger) -> None:
    hostile = worked_terms(
        contract='<script>alert("c")</script>',
        filing_no="<b>F&1</b>",
        tenant='"><img src=x onerror=alert(1)>',
        enterprise="E'1<i>",
    )
    worked_contract(ledger, hostile)
    status, page, _ = post(client_of(ledger), hostile.filing_no, query_code(ledger, hostile.id))
    assert status == 200, page
    for raw in (hostile.id, hostile.filing_no, hostile.tenant, hostile.enterprise):
        assert raw not in page
    assert "&lt;script&gt;alert(&quot;c&quot;)&lt;/script&gt;" in page
    assert "&lt;b&gt;F&amp;1&lt;/b&gt;" in page
    assert "&quot;&gt;&lt;img src=x onerror=alert(1)&gt;" in page
    assert "E&#x27;1&lt;i&gt;" in page
    # The transfers name the tenant and the enterprise too, escaped the same way.
    assert "承租人 &quot;&gt;&lt;img" in section(page, "transfers")
    assert "<script" not in page and "<img" not in page and "<i>" not in page


def test_every_answer_carries_the_content_security_policy(ledger: Ledger) -> None:
    worked_contract(ledger)
    client = client_of(ledger)
    code = query_code(ledger, "C1")
    for response in (
        client.get("/tenant"),
        client.post("/tenant", data={"filing_no": FILING_NO, "query_code": code}),
        client.post("/tenant", data={"filing_no": FILING_NO, "query_code": wrong_code(code)}),
    ):
        policy = response.headers["content-security-policy"]
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'none'"
        assert directives["form-action"] == "'self'"
        assert directives["frame-ancestors"] == "'none'"
        # The one inline style sheet is allowed by its own hash, and nothing else is.
        styles = re.findall(r"<style>(.*?)</style>", response.text, re.S)
        assert len(styles) == 1
        digest = base64.b64encode(hashlib.sha256(styles[0].encode()).digest()).decode()
        assert directives["style-src"] == f"'sha256-{digest}'"
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "no-store"
        # No script, and nothing loaded from elsewhere.
        assert "<script" not in response.text
        assert "http://" not in response.text and "https://" not in response.text
        assert " src=" not in response.text and "<link" not in response.text


def test_the_page_is_not_part_of_the_api_document(ledger: Ledger) -> None:
    assert "/tenant" not in client_of(ledger).get("/openapi.json").json()["paths"]


# --- the query code ------------------------------------------------------------------------


def test_the_code_is_8_digits_of_hmac_sha256_under_the_ledgers_secret(ledger: Ledger) -> None:
    code = query_code(ledger, "C1")
    secret = ledger.store.meta_value(SECRET_KEY)
    assert secret is not None and re.fullmatch(r"[0-9a-f]{64}", secret)
    # The derivation, written out from its definition (docs/tenant-page.md): a code printed on
    # a contract must stay valid in every later version.
    digest = hmac.new(bytes.fromhex(secret), b"escrow query code v1\x00C1", "sha256").digest()
    assert code == f"{int.from_bytes(digest[:8], 'big') % 100_000_000:08d}"


def test_the_secret_is_kept_so_the_code_survives_reopening(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with new_ledger(path) as first:
        worked_contract(first)
        code = query_code(first, "C1")
        assert query_code(first, "C2") != code  # another contract, another code (1 in 10^8)
    with open_ledger(str(path), read_only=True) as again:
        assert query_code(again, "C1") == code
        assert contract_for_query(again, FILING_NO, code) == "C1"


def test_another_ledger_has_another_secret(tmp_path: Path) -> None:
    with new_ledger(tmp_path / "a.db") as a, new_ledger(tmp_path / "b.db") as b:
        worked_contract(a)
        worked_contract(b)
        assert a.store.meta_value(SECRET_KEY) is None  # nothing asked for a code yet
        code_a = query_code(a, "C1")
        assert contract_for_query(b, FILING_NO, code_a) is None  # b has no secret yet
        assert query_code(b, "C1") != code_a  # (1 in 10^8 that two secrets agree)
        assert contract_for_query(b, FILING_NO, code_a) is None


def test_checking_a_code_never_creates_the_secret(ledger: Ledger) -> None:
    worked_contract(ledger)
    assert contract_for_query(ledger, FILING_NO, "00000000") is None
    assert ledger.store.meta_value(SECRET_KEY) is None


def test_a_read_only_ledger_without_a_secret_cannot_issue_a_code(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with new_ledger(path) as ledger:
        worked_contract(ledger)
    with (
        open_ledger(str(path), read_only=True) as read_only,
        pytest.raises(StoreError, match="read-only"),
    ):
        query_code(read_only, "C1")


def test_two_ledgers_asking_at_once_agree_on_one_secret(tmp_path: Path) -> None:
    path = tmp_path / "ledger.db"
    with new_ledger(path) as ledger:
        worked_contract(ledger)
    ledgers = [open_ledger(str(path)) for _ in range(4)]
    codes: list[str] = []
    start = threading.Barrier(len(ledgers))

    def ask(one: Ledger) -> None:
        start.wait()
        codes.append(query_code(one, "C1"))

    threads = [threading.Thread(target=ask, args=(one,)) for one in ledgers]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        for one in ledgers:
            one.close()
    assert len(codes) == 4 and len(set(codes)) == 1


def test_the_secret_is_kept_on_postgresql_too() -> None:
    with fresh_schema() as url:
        with open_ledger(url) as ledger:
            worked_contract(ledger)
            code = query_code(ledger, "C1")
        with open_ledger(url, read_only=True) as again:
            assert contract_for_query(again, FILING_NO, code) == "C1"
            assert contract_for_query(again, FILING_NO, wrong_code(code)) is None


# --- the command line ----------------------------------------------------------------------


def test_escrow_query_code_prints_the_code_by_contract_or_filing_number(tmp_path: Path) -> None:
    from escrow.cli import app

    path = tmp_path / "ledger.db"
    with new_ledger(path) as ledger:
        worked_contract(ledger)
    runner = CliRunner()
    by_filing = runner.invoke(app, ["query-code", "--db", str(path), "--filing-no", FILING_NO])
    assert by_filing.exit_code == 0, by_filing.output
    by_contract = runner.invoke(app, ["query-code", "--db", str(path), "--contract", "C1"])
    assert by_contract.exit_code == 0, by_contract.output
    assert by_filing.stdout == by_contract.stdout
    assert re.fullmatch(r"[0-9]{8}\n", by_filing.stdout)
    with open_ledger(str(path), read_only=True) as ledger:
        assert contract_for_query(ledger, FILING_NO, by_filing.stdout.strip()) == "C1"


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["--contract", "C9"], "escrow: --contract: the ledger holds no contract 'C9'"),
        (["--filing-no", "JZ-X"], "escrow: no contract with filing number 'JZ-X'"),
        ([], "escrow: give exactly one of --contract or --filing-no"),
        (["--contract", "C1", "--filing-no", FILING_NO], "escrow: give exactly one of"),
    ],
)
def test_escrow_query_code_refuses_bad_input_in_one_line_and_writes_nothing(
    tmp_path: Path, args: list[str], line: str
) -> None:
    from escrow.cli import app

    path = tmp_path / "ledger.db"
    with new_ledger(path) as ledger:
        worked_contract(ledger)
    result = CliRunner().invoke(app, ["query-code", "--db", str(path), *args])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.startswith(line) and result.stderr.count("\n") == 1
    with open_ledger(str(path), read_only=True) as ledger:
        assert ledger.store.meta_value(SECRET_KEY) is None


def test_escrow_query_code_help_shows_an_example() -> None:
    from escrow.cli import app

    result = CliRunner().invoke(app, ["query-code", "--help"], env={"COLUMNS": "120"})
    assert result.exit_code == 0
    assert "Example: escrow query-code --db ledger.db --filing-no" in result.output


def test_ten_wrong_codes_lock_a_filing_number_for_a_quarter_hour_known_or_not() -> None:
    """10^8 codes cannot be guessed at 10 a quarter-hour; the lock is the same for a filing
    number that does not exist, so it says nothing about existence."""
    now = [1000.0]
    attempts = Attempts(now=lambda: now[0])
    for filing_no in (FILING_NO, "JZ-NOT-THERE"):
        for _ in range(Attempts.MAX_FAILURES):
            assert attempts.allowed(filing_no)
            attempts.failed(filing_no)
        assert not attempts.allowed(filing_no)
    now[0] += Attempts.WINDOW + 1
    assert attempts.allowed(FILING_NO) and attempts.allowed("JZ-NOT-THERE")


def test_the_page_answers_429_after_ten_wrong_codes_then_not_even_the_right_one(
    tmp_path: Path,
) -> None:
    ledger = new_ledger(tmp_path / "ledger.db")
    try:
        worked_contract(ledger)
        code = query_code(ledger, "C1")
        app = FastAPI()
        app.include_router(tenant_page_router(lambda: contextlib.nullcontext(ledger)))
        with TestClient(app) as client:
            wrong = "0" * 8 if code != "0" * 8 else "1" * 8
            for _ in range(Attempts.MAX_FAILURES):
                page = client.post("/tenant", data={"filing_no": FILING_NO, "query_code": wrong})
                assert page.status_code == 404
            locked = client.post("/tenant", data={"filing_no": FILING_NO, "query_code": code})
            assert locked.status_code == 429
            assert "15 分钟后再试" in locked.text
            other = client.post("/tenant", data={"filing_no": "JZ-OTHER", "query_code": code})
            assert other.status_code == 404  # another filing number is not locked
    finally:
        ledger.close()
