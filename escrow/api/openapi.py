"""The OpenAPI document of the service, as text: the same bytes every time for the same code."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from escrow.api.app import create_app


def document_text() -> str:
    """``/openapi.json``, indented, with a final newline (docs/openapi.json is this text)."""
    with tempfile.TemporaryDirectory(prefix="escrow-openapi-") as tmp:
        # The document does not depend on the ledger; the app is never started.
        app = create_app(Path(tmp) / "unused.db")
        return json.dumps(app.openapi(), indent=2, ensure_ascii=False) + "\n"
