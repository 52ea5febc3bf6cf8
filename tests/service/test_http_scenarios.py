"""Every scenario of scenarios/, played over HTTP by a client that knows only the OpenAPI
document, ends with the same run report as ``escrow run --json``.

The client reads the scenario file as plain TOML, opens the contracts as their enterprises, has
the fund centre send the bank notices, the tenants return homes and answer opinions, the
association record resolutions and the district suspend and resume, each with an idempotency
key; then the fund centre runs the clock to the scenario's end and the auditor reads the report.
The server is ``escrow serve --mode simulation --config SCENARIO`` (its app, on uvicorn).
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
from openapi_client import OpenApiClient
from serving import serving
from typer.testing import CliRunner

import escrow
from escrow.api.app import create_app
from escrow.api.settings import ledger_config_of
from escrow.api.tokens import create_token
from escrow.cli import app as cli_app
from escrow.clock import SystemClock

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "postgres"))
from pg_support import fresh_schema

ROOT = Path(__file__).resolve().parents[2]
OPENAPI = ROOT / "docs" / "openapi.json"
SCENARIOS = sorted((ROOT / "scenarios").glob("*.toml"))
WORKED_EXAMPLE = ROOT / "scenarios" / "rule-03-07-deposit-refund-national-day.toml"


def _day(value: Any) -> str:
    return value.isoformat() if isinstance(value, dt.date) else str(value)


class Parties:
    """The tokens of everybody a scenario needs, issued on the ledger before it is served."""

    def __init__(self, path: Path | str, scenario: dict[str, Any]) -> None:
        now = SystemClock().now()
        with escrow.open_ledger(path, ledger_config_of(str(scenario["_file"]))) as ledger:

            def token(role: str, subject: str | None = None) -> str:
                return create_token(ledger.store, role, subject, now=now)[1]

            self.fund_centre = token("fund_centre")
            self.association = token("association")
            self.district = token("district", "Chaoyang")
            self.auditor = token("auditor")
            contracts = scenario.get("contracts", [])
            self.enterprise = {
                c["enterprise"]: token("enterprise", c["enterprise"]) for c in contracts
            }
            self.tenant = {c["tenant"]: token("tenant", c["tenant"]) for c in contracts}
            self.contract = {c["id"]: c for c in contracts}


def play(client: OpenApiClient, parties: Parties, scenario: dict[str, Any]) -> dict[str, Any]:
    """What ``escrow run`` does, over HTTP: contracts, actions by date, then the clock."""
    until = scenario.get("until")
    actions = sorted(enumerate(scenario.get("actions", [])), key=lambda pair: pair[1]["date"])
    dates = [c["start"] for c in scenario["contracts"]] + [a["date"] for _, a in actions]
    first = min(dates + ([until] if until is not None else []))
    for c in scenario["contracts"]:
        body = {
            k: c[k] for k in ("id", "filing_no", "tenant", "enterprise", "monthly_rent", "deposit")
        }
        body |= {"start": _day(c["start"]), "end": _day(c["end"]), "on": _day(first)}
        if "affordable" in c:
            body["affordable"] = c["affordable"]
        status, answer = client.call(
            "open_contract", parties.enterprise[c["enterprise"]], body=body, key=f"open-{c['id']}"
        )
        assert status in (201, 409), answer
    for index, action in actions:
        if until is not None and action["date"] > until:
            break
        status, answer = _act(client, parties, action, f"action-{index}")
        # 409: a rule refused it; 404: the contract is not there (refused in the run, too)
        assert status in (200, 404, 409), (action, answer)
    status, answer = client.call(
        "run_until_idle",
        parties.fund_centre,
        body={"limit": _day(until) if until is not None else None},
        key="run-until-idle",
    )
    assert status == 200, answer
    status, report = client.call("report", parties.auditor)
    assert status == 200, report
    return dict(report)


def _act(
    client: OpenApiClient, parties: Parties, action: dict[str, Any], key: str
) -> tuple[int, Any]:
    kind, on = action["action"], _day(action["date"])
    contract: str = action.get("contract", "")
    terms = parties.contract.get(contract)
    if kind in ("pay_deposit", "pay_rent"):
        body = {"amount": action["amount"], "arrived_on": on}
        if "channel" in action:
            body["channel"] = action["channel"]
        return client.call(kind, parties.fund_centre, body=body, key=key, contract=contract)
    if kind in ("suspend_releases", "resume_releases"):
        operation = "suspend" if kind == "suspend_releases" else "resume"
        return client.call(
            operation, parties.district, body={"on": on}, key=key, enterprise=action["enterprise"]
        )
    if kind == "change_account":
        return client.call(
            "change_account",
            parties.fund_centre,
            body={"bank": action["bank"], "on": on},
            key=key,
            account=action["account"],
        )
    assert terms is not None, f"{kind} on a contract the scenario does not have"
    if kind == "return_home":
        body = {"on": on} | ({"reason": action["reason"]} if "reason" in action else {})
        return client.call(
            "return_home", parties.tenant[terms["tenant"]], body=body, key=key, contract=contract
        )
    if kind == "propose_refund":
        body = {"fund": action["fund"], "deductions": action.get("deductions", []), "on": on}
        token = parties.enterprise[terms["enterprise"]]
        return client.call("propose_refund", token, body=body, key=key, contract=contract)
    if kind in ("tenant_agree", "tenant_disagree"):
        answer = "agree" if kind == "tenant_agree" else "disagree"
        body = {"fund": action["fund"], "answer": answer, "on": on}
        token = parties.tenant[terms["tenant"]]
        return client.call("answer", token, body=body, key=key, contract=contract)
    if kind == "resolve":
        body = {k: action[k] for k in ("fund", "via", "to_tenant", "to_enterprise")} | {"on": on}
        return client.call("resolve", parties.association, body=body, key=key, contract=contract)
    raise AssertionError(f"an action this client does not know: {kind}")


def run_json(scenario: Path) -> dict[str, Any]:
    result = CliRunner().invoke(cli_app, ["run", str(scenario), "--json"])
    assert result.exit_code == 0, result.output
    return dict(json.loads(result.stdout))


def _scenario(path: Path) -> dict[str, Any]:
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    data["_file"] = path
    return data


def over_http(path: Path, db: Path | str) -> dict[str, Any]:
    scenario = _scenario(path)
    parties = Parties(db, scenario)
    app = create_app(db, mode="simulation", config=ledger_config_of(str(path)))
    with serving(app) as base:
        client = OpenApiClient(base, OPENAPI)
        try:
            return play(client, parties, scenario)
        finally:
            client.close()


def test_the_worked_example_over_http_gives_the_report_of_escrow_run(tmp_path: Path) -> None:
    report = over_http(WORKED_EXAMPLE, tmp_path / "served.db")
    assert report == run_json(WORKED_EXAMPLE)
    # docs/rules.md, worked by hand: 4,700.00 × 0.35 % × 129 / 360 = 5.894… → 5.89 refunded on
    # 10-10; 300.00 × 0.35 % × 139 / 360 = 0.405… → 0.41 with the deduction on 10-20.
    assert [(t["date"], t["kind"], t["principal"], t["interest"]) for t in report["transfers"]] == [
        ("2025-06-03", "payment_in", "5000.00", "0.00"),
        ("2025-10-10", "refund", "4700.00", "5.89"),
        ("2025-10-20", "deduction", "300.00", "0.41"),
    ]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_every_scenario_over_http_gives_the_report_of_escrow_run(
    path: Path, tmp_path: Path
) -> None:
    assert over_http(path, tmp_path / "served.db") == run_json(path)


@pytest.mark.parametrize(
    "name",
    ["rule-03-07-deposit-refund-national-day", "rule-13-suspension", "rule-18-change-account"],
)
def test_scenarios_over_http_on_postgresql_give_the_report_of_escrow_run(name: str) -> None:
    path = ROOT / "scenarios" / f"{name}.toml"
    with fresh_schema() as url:
        assert over_http(path, url) == run_json(path)
