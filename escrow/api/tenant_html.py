"""The tenant's page as HTML: Simplified Chinese, one column, readable on a 375 px phone.

Plain functions that return a whole document; every value from the ledger goes through
:func:`_h` (``html.escape``), ids included (an id may hold ``<``, ``&`` or quotes). The style sheet
is inline and allowed by its hash in the Content-Security-Policy (:data:`SECURITY_HEADERS`), which
forbids everything else: scripts, images, fonts, frames, and forms posting elsewhere. No template
engine: the page is small, and one escaping helper is easier to audit than a second dependency.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
from collections.abc import Iterable
from decimal import Decimal
from typing import TYPE_CHECKING

from escrow.money import fmt
from escrow.projections import Deadline, FundBalance, Notice

if TYPE_CHECKING:
    from escrow.api.tenant_page import LotLine, TenantView
    from escrow.domain.ledger import Transfer

__all__ = ["SECURITY_HEADERS", "STYLE", "form_page", "not_found_page", "view_page", "yuan"]

STYLE = """
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%;text-size-adjust:100%}
body{margin:0;background:#f4f5f7;color:#1d2129;line-height:1.6;font-size:16px;
font-family:system-ui,-apple-system,"PingFang SC","Hiragino Sans GB","Microsoft YaHei",
"Noto Sans CJK SC","Source Han Sans SC","WenQuanYi Micro Hei",sans-serif}
main{max-width:40rem;margin:0 auto;padding:1rem}
h1{font-size:1.375rem;margin:.25rem 0 .5rem}
h2{font-size:1.125rem;margin:1.5rem 0 .5rem}
h3{font-size:1rem;margin:0 0 .25rem}
p{margin:.25rem 0}
.muted{color:#4e5969;font-size:.875rem}
.card{background:#fff;border-radius:.5rem;padding:.875rem 1rem;margin:.625rem 0;
border:1px solid #e5e6eb}
.amount{font-size:1.625rem;font-weight:600;margin:.125rem 0;font-variant-numeric:tabular-nums}
.row{display:flex;justify-content:space-between;gap:.75rem;align-items:baseline}
.row>:last-child{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
ul{list-style:none;margin:0;padding:0}
li{background:#fff;border:1px solid #e5e6eb;border-radius:.5rem;padding:.625rem .875rem;
margin:.5rem 0}
.date{font-variant-numeric:tabular-nums;color:#4e5969}
.note{background:#fff7e8;border-color:#ffd591}
main,p,li,h1,h2,h3,dd{overflow-wrap:anywhere}
form{display:flex;flex-direction:column;gap:.75rem}
label{font-weight:600}
input{width:100%;font-size:1.125rem;padding:.625rem .75rem;border:1px solid #c9cdd4;
border-radius:.375rem;margin-top:.25rem;background:#fff;color:inherit}
button{font-size:1.125rem;padding:.75rem;border:0;border-radius:.375rem;background:#165dff;
color:#fff;font-weight:600}
.error{color:#cb2634;font-weight:600}
a{color:#165dff}
"""
"""The page's whole style sheet (mobile first: one column, no fixed widths, long ids wrap)."""

_STYLE_HASH = base64.b64encode(hashlib.sha256(STYLE.encode("utf-8")).digest()).decode("ascii")

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        f"default-src 'none'; style-src 'sha256-{_STYLE_HASH}'; form-action 'self';"
        " base-uri 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
"""Sent with every response of the page: nothing runs or loads but the inline style sheet, the
form posts only to this site, no frame may embed it, and no cache keeps a tenant's figures."""

FUND_NAMES = {"deposit": "押金", "rent": "预付租金"}
ACCOUNT_NAMES = {"custody": "押金托管账户", "supervision": "租金监管账户"}

NOT_FOUND = "备案编号或查询码不正确。请核对合同上的备案编号和查询码后重新输入。"
"""The one answer to a filing number that is unknown and to a code that is wrong."""

_TRANSFER_KINDS = {
    "payment_in": "存入",
    "direct_rent": "直接支付给企业（3个月及以下租金，不纳入监管）",
    "release": "划转给企业",
    "refund": "退还",
    "deduction": "扣除后支付给企业",
    "migration": "账户变更，资金迁至新账户",
}
_NOTICE_KINDS = {
    "reminder": "承租人未在首次答复期内答复：已发出提醒，第二次答复期开始",
    "deemed_agreed": "承租人在第二次答复期内仍未答复：视为同意企业的退还意见",
    "enterprise_deadline_missed": "企业未在期限内提出退还意见：在账资金退还承租人",
    "releases_held": "企业被暂停拨付：该笔向企业的支付暂缓执行",
    "authority_notice_due": "账户变更须于当日前告知市住房城乡建设委",
    "provisional_deadline": "期限所在年份的法定节假日安排尚未公布，期限可能调整",
    "short_payment": "缴存金额少于合同约定（或租金不是整月）",
    "late_payment": "押金晚于合同起始日缴存",
    "excess_payment": "缴存金额超过合同约定",
}
_DEADLINE_KINDS = {
    "refund_opinion": "企业提出退还意见的截止日",
    "tenant_answer": "承租人答复退还意见的截止日",
    "settlement": "资金划转日",
    "release": "预付租金按月划转给企业",
}
_DEADLINE_DETAILS = {
    "first window": "首次答复期",
    "after the reminder": "提醒后的第二次答复期",
    "release to enterprise": "划转给企业",
    "refund to tenant": "退还承租人",
    "deduction to enterprise": "扣除后支付给企业",
}
_TRANCHE = re.compile(r"tranche ([0-9]+)", re.ASCII)


def _h(value: object) -> str:
    """``value`` as HTML text (quotes escaped too: safe in an attribute)."""
    return html.escape(str(value), quote=True)


def yuan(amount: Decimal) -> str:
    """An exact amount with two places and thousands separators: ``¥1,234.56``."""
    return f"¥{Decimal(fmt(amount)):,}"


def _party(name: str) -> str:
    """A transfer's ``from``/``to`` in Chinese (``tenant:T1`` → 承租人 T1)."""
    if name in ACCOUNT_NAMES:
        return ACCOUNT_NAMES[name]
    role, _, who = name.partition(":")
    label = {"tenant": "承租人", "enterprise": "企业"}.get(role)
    return f"{label} {who}" if label and who else name


def _document(title: str, body: str) -> str:
    return (
        "<!doctype html>\n"
        '<html lang="zh-CN">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        '<meta name="referrer" content="no-referrer">\n'
        '<meta name="robots" content="noindex">\n'
        f"<title>{_h(title)}</title>\n<style>{STYLE}</style>\n</head>\n"
        f"<body>\n<main>\n{body}\n</main>\n</body>\n</html>\n"
    )


def _form(error: str | None = None) -> str:
    shown = f'<p class="error" role="alert">{_h(error)}</p>\n' if error else ""
    return (
        f"{shown}"
        '<form method="post" action="tenant" class="card">\n'
        '<label for="filing_no">备案编号<input id="filing_no" name="filing_no" required'
        ' maxlength="100" autocomplete="off" autocapitalize="characters" spellcheck="false">'
        "</label>\n"
        '<label for="query_code">查询码<input id="query_code" name="query_code" required'
        ' maxlength="20" inputmode="numeric" autocomplete="off" spellcheck="false"></label>\n'
        '<p class="muted">查询码为8位数字，印在租赁合同上。</p>\n'
        '<button type="submit">查询</button>\n</form>\n'
    )


_INTRO = (
    "<h1>住房租赁资金查询</h1>\n"
    '<p class="muted">输入合同的备案编号和查询码，查看您的押金托管和预付租金监管情况'
    "（《北京市住房租赁押金托管和租金监管暂行办法》第十九条）。</p>\n"
)


def form_page() -> str:
    """The form: the filing number and the query code."""
    return _document("住房租赁资金查询", _INTRO + _form())


def not_found_page() -> str:
    """The same page for an unknown filing number and for a wrong code: no hint either way."""
    return _document("住房租赁资金查询", _INTRO + _form(NOT_FOUND))


TOO_MANY = "该备案编号的查询错误次数过多，请 15 分钟后再试。"
"""Too many wrong codes for this filing number: try again in 15 minutes."""


def too_many_page() -> str:
    """After too many wrong codes for one filing number (the same for one that does not exist)."""
    return _document("住房租赁资金查询", _INTRO + _form(TOO_MANY))


def _fund_card(fund: FundBalance, account: str) -> str:
    return (
        f'<section class="card" id="fund-{_h(fund.fund)}">\n'
        f"<h3>{_h(FUND_NAMES[fund.fund])} · {_h(account)}</h3>\n"
        f'<p class="amount">{_h(yuan(fund.principal))}</p>\n'
        f'<p class="row"><span>利息（估算至今日）</span><span>{_h(yuan(fund.interest_accrued))}'
        "</span></p>\n</section>\n"
    )


def _items(items: Iterable[str], empty: str) -> str:
    listed = "".join(items)
    return f"<ul>\n{listed}</ul>\n" if listed else f'<p class="muted">{_h(empty)}</p>\n'


def _lot(lot: LotLine) -> str:
    kind = "押金" if lot.fund == "deposit" else "预付租金"
    release = (
        f'<p class="row"><span>下次划转给企业</span><span class="date">'
        f"{_h(lot.next_release.isoformat())}</span></p>\n"
        if lot.next_release is not None
        else ""
    )
    return (
        f'<li>\n<p class="row"><strong>{_h(kind)} 第{_h(lot.no)}笔</strong>'
        f'<span class="date">{_h(lot.arrived.isoformat())} 到账</span></p>\n'
        f'<p class="row"><span>到账金额</span><span>{_h(yuan(lot.amount))}</span></p>\n'
        f'<p class="row"><span>仍在账户</span><span>{_h(yuan(lot.held))}</span></p>\n'
        f"{release}</li>\n"
    )


def _deadline(d: Deadline) -> str:
    what = _DEADLINE_KINDS.get(d.kind, d.kind)
    tranche = _TRANCHE.fullmatch(d.detail)
    if tranche is not None:
        detail = f"第{tranche.group(1)}笔"
    else:
        detail = _DEADLINE_DETAILS.get(d.detail, d.detail)
    shown = f"（{detail}）" if detail else ""
    return (
        f'<li>\n<p class="row"><strong>{_h(FUND_NAMES.get(d.fund, d.fund))}</strong>'
        f'<span class="date">{_h(d.date.isoformat())}</span></p>\n'
        f"<p>{_h(what + shown)}</p>\n</li>\n"
    )


def _transfer(t: Transfer) -> str:
    kind = _TRANSFER_KINDS.get(t.kind, t.kind)
    interest = (
        f'<p class="row"><span>利息</span><span>{_h(yuan(t.interest))}</span></p>\n'
        if t.interest
        else ""
    )
    return (
        f'<li>\n<p class="row"><span class="date">{_h(t.date.isoformat())}</span>'
        f"<strong>{_h(yuan(t.principal))}</strong></p>\n"
        f"<p>{_h(FUND_NAMES.get(t.fund, t.fund))} · {_h(kind)}</p>\n"
        f'<p class="muted">{_h(_party(t.source))} → {_h(_party(t.target))}</p>\n'
        f"{interest}</li>\n"
    )


def _notice(n: Notice) -> str:
    fund = FUND_NAMES.get(n.fund, n.fund) if n.fund is not None else ""
    return (
        f'<li>\n<p class="row"><strong>{_h(fund)}</strong>'
        f'<span class="date">{_h(n.date.isoformat())}</span></p>\n'
        f"<p>{_h(_NOTICE_KINDS.get(n.kind, n.kind))}</p>\n</li>\n"
    )


def view_page(view: TenantView) -> str:
    """What is held for the contract, its lots, deadlines and history (newest first)."""
    b = view.balance
    status = ""
    if view.returned_on is not None:
        status += f'<p class="card note">房屋已于 {_h(view.returned_on.isoformat())} 交还。</p>\n'
    if view.suspended:
        status += '<p class="card note">该企业已被暂停拨付：监管账户向企业的支付暂缓执行。</p>\n'
    total = b.deposit.principal + b.rent.principal
    body = (
        "<h1>住房租赁资金查询</h1>\n"
        f'<p class="muted">备案编号 {_h(b.filing_no)} · 合同 {_h(b.contract)}</p>\n'
        f'<p class="muted">承租人 {_h(b.tenant)} · 住房租赁企业 {_h(b.enterprise)}</p>\n'
        f'<p>截至 <span class="date" id="as-of">{_h(b.as_of.isoformat())}</span>（北京时间）</p>\n'
        f'<p class="row"><span>托管和监管共计</span><strong id="total">{_h(yuan(total))}'
        "</strong></p>\n"
        f"{status}"
        f"{_fund_card(b.deposit, '托管')}"
        f"{_fund_card(b.rent, '监管')}"
        '<p class="muted">利息按活期存款利率计算，此处为假设今日支付的估算；'
        "实际利息按支付日计算，随本金一并支付。</p>\n"
        '<h2 id="lots">资金明细（按到账批次）</h2>\n'
        f"{_items(map(_lot, view.lots), '暂无缴存记录')}"
        '<h2 id="deadlines">待办期限</h2>\n'
        f"{_items(map(_deadline, view.deadlines), '暂无待办期限')}"
        '<h2 id="transfers">资金往来（最近的在前）</h2>\n'
        f"{_items(map(_transfer, reversed(view.transfers)), '暂无资金往来')}"
        '<h2 id="notices">通知（最近的在前）</h2>\n'
        f"{_items(map(_notice, reversed(view.notices)), '暂无通知')}"
        '<p class="muted"><a href="tenant">查询其他合同</a></p>\n'
    )
    return _document(f"备案编号 {b.filing_no} · 住房租赁资金查询", body)
