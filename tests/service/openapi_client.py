"""A client of the escrow HTTP service written only against its OpenAPI document.

It knows operations by their ``operationId`` and finds each one's method and path template in
the document (``docs/openapi.json``); it never imports escrow. It stands for what a platform in
another language generates from the same document.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx


class ApiError(Exception):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('type')}: {problem.get('detail')}")
        self.status, self.problem = status, problem


class OpenApiClient:
    def __init__(self, base_url: str, document: Path) -> None:
        spec = json.loads(document.read_text(encoding="utf-8"))
        self.operations: dict[str, tuple[str, str]] = {}
        for path, item in spec["paths"].items():
            for method, operation in item.items():
                self.operations[operation["operationId"]] = (method.upper(), path)
        self.http = httpx.Client(base_url=base_url, timeout=30)

    def call(
        self,
        operation: str,
        token: str,
        *,
        body: dict[str, Any] | None = None,
        key: str | None = None,
        query: dict[str, str] | None = None,
        **path: str,
    ) -> tuple[int, Any]:
        """Call ``operation``; returns (status, JSON). Path parameters by name."""
        method, template = self.operations[operation]
        url = re.sub(r"\{(\w+)\}", lambda m: quote(path[m.group(1)], safe=""), template)
        headers = {"Authorization": f"Bearer {token}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        response = self.http.request(method, url, json=body, headers=headers, params=query)
        return response.status_code, response.json()

    def close(self) -> None:
        self.http.close()
