"""A tiny TOML writer for tests that build scenario files from dicts (tomllib only reads)."""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Any


class Raw(str):
    """A TOML fragment written as is (e.g. deeply nested arrays)."""


_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _key(key: str) -> str:
    return key if _BARE.fullmatch(key) else json.dumps(key, ensure_ascii=False)


def _value(value: Any) -> str:
    if isinstance(value, Raw):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return {float("inf"): "inf", float("-inf"): "-inf"}.get(value, repr(value))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, list):
        return "[" + ", ".join(_value(item) for item in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(type(value))


def to_toml(data: dict[str, Any]) -> str:
    """Top-level scalars, then ``[tables]``, then ``[[arrays of tables]]``."""
    head: list[str] = []
    tail: list[str] = []
    for key, value in data.items():
        if isinstance(value, dict):
            tail.append(f"\n[{_key(key)}]")
            tail += [f"{_key(k)} = {_value(v)}" for k, v in value.items()]
        elif isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            for item in value:
                tail.append(f"\n[[{_key(key)}]]")
                tail += [f"{_key(k)} = {_value(v)}" for k, v in item.items()]
        else:
            head.append(f"{_key(key)} = {_value(value)}")
    return "\n".join(head + tail) + "\n"
