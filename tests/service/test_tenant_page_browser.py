"""The tenant's page in a real browser (issue 18): Debian's headless Chromium, at phone size.

The app (the page's router on a bare FastAPI app) is served by uvicorn on 127.0.0.1 on a free
port in a thread; Playwright (its bundled driver; no browser download) drives /usr/bin/chromium
at 375×812: it fills in the filing number and the query code, submits, takes screenshots under
``tmp_path`` and reads the figures off the rendered page. Without Chromium (or Playwright) the
test skips, except under ``CI=true``, where it fails: CI installs Chromium (``.ci/run``) and must
never pass by not looking.
"""

from __future__ import annotations

import contextlib
import os
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

import pytest
from fastapi import FastAPI
from serving import serving
from tenant_page_support import FILING_NO, new_ledger, worked_contract, worked_terms

from escrow.api.query_code import query_code
from escrow.api.tenant_page import tenant_page_router
from escrow.service import Ledger

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page, ViewportSize

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
PHONE: ViewportSize = {"width": 375, "height": 812}


def _missing(reason: str) -> NoReturn:
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}, and under CI=true the browser test must run, not skip", False)
    pytest.skip(reason)


@pytest.fixture
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        _missing(f"no {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("Playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    opened = new_ledger(tmp_path / "ledger.db")
    try:
        yield opened
    finally:
        opened.close()


@pytest.fixture
def served(ledger: Ledger) -> Iterator[str]:
    """The page's app served by uvicorn on 127.0.0.1 (a free port); yields its base URL."""
    app = FastAPI()
    app.include_router(tenant_page_router(lambda: contextlib.nullcontext(ledger)))
    with serving(app) as base:
        yield base


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk; fails unless the file is a PNG."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path} is not a PNG"
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def phone_page(browser: Browser) -> Page:
    context = browser.new_context(
        viewport=PHONE, device_scale_factor=1, is_mobile=True, has_touch=True, locale="zh-CN"
    )
    return context.new_page()


def text_of(page: Page, selector: str) -> str:
    return " ".join(page.inner_text(selector).split())


def test_a_tenant_on_a_phone_sees_the_figures_worked_by_hand(
    browser: Browser, served: str, ledger: Ledger, tmp_path: Path
) -> None:
    worked_contract(ledger)
    code = query_code(ledger, "C1")
    page = phone_page(browser)
    problems: list[str] = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(str(e)))

    page.goto(f"{served}/tenant")
    page.fill("#filing_no", FILING_NO)
    page.fill("#query_code", code)
    with page.expect_navigation():
        page.click("button[type=submit]")

    shot = tmp_path / "tenant-page-375.png"
    page.screenshot(path=str(shot))
    assert png_size(shot) == (375, 812)
    whole = tmp_path / "tenant-page-375-full.png"
    page.screenshot(path=str(whole), full_page=True)
    height = page.evaluate("document.documentElement.scrollHeight")
    assert png_size(whole) == (375, height)

    # Figures from tenant_page_support's docstring, worked by hand.
    assert page.inner_text("#as-of") == "2025-07-20"
    assert page.inner_text("#total") == "¥15,000.00"  # 5,000.00 + 10,000.00
    deposit = text_of(page, "#fund-deposit")
    assert deposit.startswith("押金 · 托管 ¥5,000.00")
    assert "利息（估算至今日） ¥2.28" in deposit  # 5,000 × 0.35 % × 47 / 360 = 2.2847…
    rent = text_of(page, "#fund-rent")
    assert rent.startswith("预付租金 · 监管 ¥10,000.00")  # 30,000 − 15,000 − 5,000
    assert "利息（估算至今日） ¥4.57" in rent  # 10,000 × 0.35 % × 47 / 360 = 4.5694…
    items = [" ".join(t.split()) for t in page.locator("li").all_inner_texts()]
    assert "押金 第1笔 2025-06-03 到账 到账金额 ¥5,000.00 仍在账户 ¥5,000.00" in items
    assert (
        "预付租金 第1笔 2025-06-03 到账 到账金额 ¥30,000.00 仍在账户 ¥10,000.00"
        " 下次划转给企业 2025-08-03" in items
    )
    assert "预付租金 2025-08-03 预付租金按月划转给企业（第1笔）" in items
    # 06-03 → 07-03 = 30 days: 5,000 × 0.35 % × 30 / 360 = 1.4583… → 1.46.
    assert "2025-07-03 ¥5,000.00 预付租金 · 划转给企业 租金监管账户 → 企业 E1 利息 ¥1.46" in items
    assert "2025-06-03 ¥15,000.00 预付租金 · 划转给企业 租金监管账户 → 企业 E1" in items
    assert "押金 2025-06-03 押金晚于合同起始日缴存" in items

    # A phone: nothing scrolls sideways, and the style sheet was applied (the CSP let it in).
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    weight = page.evaluate("getComputedStyle(document.querySelector('.amount')).fontWeight")
    assert weight == "600"
    assert problems == []


def test_a_wrong_code_in_the_browser_gets_the_form_again_with_one_message(
    browser: Browser, served: str, ledger: Ledger, tmp_path: Path
) -> None:
    worked_contract(ledger)
    code = query_code(ledger, "C1")
    wrong = code[:-1] + str((int(code[-1]) + 1) % 10)
    page = phone_page(browser)
    page.goto(f"{served}/tenant")
    page.fill("#filing_no", FILING_NO)
    page.fill("#query_code", wrong)
    with page.expect_navigation() as navigation:
        page.click("button[type=submit]")
    response = navigation.value
    assert response is not None and response.status == 404
    page.screenshot(path=str(tmp_path / "tenant-page-wrong-code.png"))
    assert page.inner_text("[role=alert]").startswith("备案编号或查询码不正确")
    assert page.locator("#query_code").count() == 1  # the form, to try again
    assert "¥" not in page.inner_text("body")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_long_and_hostile_ids_show_as_text_and_do_not_widen_the_page(
    browser: Browser, served: str, ledger: Ledger
) -> None:
    long_filing = "JZ" + "0123456789" * 9 + "-0000000"  # 100 characters, no break
    terms = worked_terms(
        contract="<img src=x onerror=document.title='owned'>",
        filing_no=long_filing,
        tenant="T" * 100,
        enterprise='E"><script>document.title="owned"</script>',
    )
    worked_contract(ledger, terms)
    page = phone_page(browser)
    page.goto(f"{served}/tenant")
    page.fill("#filing_no", long_filing)
    page.fill("#query_code", query_code(ledger, terms.id))
    with page.expect_navigation():
        page.click("button[type=submit]")
    body = page.inner_text("body")
    assert terms.id in body and terms.enterprise in body  # shown as text, never run
    assert page.title() != "owned" and page.locator("img, script").count() == 0
    assert page.inner_text("#total") == "¥15,000.00"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
