"""What ``escrow serve`` hands each uvicorn worker: the settings, through the environment."""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import FastAPI

from escrow.api.app import create_app
from escrow.api.context import Mode
from escrow.config import LedgerConfig
from escrow.errors import InputError

DB = "ESCROW_SERVE_DB"
MODE = "ESCROW_SERVE_MODE"
CONFIG = "ESCROW_SERVE_CONFIG"
INTERVAL = "ESCROW_SERVE_LIVE_INTERVAL"
DELIVER = "ESCROW_SERVE_DELIVER"


def ledger_config_of(path: str | None) -> LedgerConfig | None:
    """The configuration of a new ledger: the name, rules and parameters of a scenario file
    (its contracts and actions are not run)."""
    if path is None:
        return None
    from escrow.runner import ledger_config
    from escrow.scenario import load_scenario

    return ledger_config(load_scenario(Path(path)))


def mode_of(value: str) -> Mode:
    if value == "live":
        return "live"
    if value == "simulation":
        return "simulation"
    raise InputError(f"--mode: {value!r} is not live or simulation")


def from_environment() -> FastAPI:
    url = os.environ.get(DB)
    if not url:
        raise InputError(f"{DB} is not set")
    return create_app(
        url,
        mode=mode_of(os.environ.get(MODE, "live")),
        config=ledger_config_of(os.environ.get(CONFIG) or None),
        live_interval=float(os.environ.get(INTERVAL, "60")),
        deliver=os.environ.get(DELIVER, "1") != "0",
    )
