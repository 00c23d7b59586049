"""The local sandbox: a wire-compatible fake of OpenAI's Admin API billing endpoints (FastAPI + SQLite).

Spend limits, spend alerts, projects and costs answer exactly as ``api.openai.com/v1`` does, so the
official ``openai`` SDK and this project's provider work against it unchanged; ``/organization/billing/``
serves the billing extension (docs/billing-extension.md) as a working account; ``/v1/sandbox/...`` adds
test-only controls (synthetic usage, notifications, the clock, account state, request log, faults). Self-contained: it
imports nothing from the rest of ``pulumi_openai_billing``.
"""

from __future__ import annotations

from .app import create_app
from .server import Sandbox, serve

__all__ = ["Sandbox", "create_app", "serve"]
