"""Shared fixtures: a real sandbox on loopback per test and the real dynamic-provider plugin server."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from pulumi.dynamic.dynamic import serialize_provider

from pulumi_openai_billing import providers
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import Plugin

ADMIN_KEY = "sk-admin-test-key-0123456789"  # a fake key: only the sandbox knows it


class Api:
    """Direct access to the sandbox, as a person editing the dashboard (and to read its state)."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.http = httpx.Client(base_url=sandbox.base_url + "/", headers={"Authorization": f"Bearer {ADMIN_KEY}"})

    def get(self, path: str, **params: Any) -> Any:
        response = self.http.get(path, params=params)
        response.raise_for_status()
        return response.json()

    def post(self, path: str, body: dict[str, Any]) -> Any:
        response = self.http.post(path, json=body)
        response.raise_for_status()
        return response.json()

    def state(self) -> Any:
        return self.get("sandbox/state")

    def requests(self) -> list[dict[str, Any]]:
        return self.get("sandbox/requests")

    def clear_requests(self) -> None:
        self.http.delete("sandbox/requests").raise_for_status()

    def writes(self) -> list[dict[str, Any]]:
        return [r for r in self.requests() if r["method"] != "GET"]

    def project(self, name: str) -> str:
        return self.post("organization/projects", {"name": name})["id"]

    def set_limit(self, dollars: int, project_id: str | None = None) -> None:
        path = f"organization/projects/{project_id}/spend_limit" if project_id else "organization/spend_limit"
        self.post(path, {"threshold_amount": dollars * 100, "currency": "USD", "interval": "month"})

    def alerts(self, project_id: str | None = None) -> list[dict[str, Any]]:
        path = f"organization/projects/{project_id}/spend_alerts" if project_id else "organization/spend_alerts"
        return self.get(path, limit=100)["data"]

    def faults(self, *faults: dict[str, Any]) -> None:
        self.http.post("sandbox/faults", json={"faults": list(faults)}).raise_for_status()


@pytest.fixture
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(ADMIN_KEY) as running:
        yield running


@pytest.fixture
def api(sandbox: Sandbox) -> Iterator[Api]:
    client = Api(sandbox)
    yield client
    client.http.close()


def plugin_config(sandbox: Sandbox, **extra: str) -> dict[str, str]:
    return {
        "openai-billing:baseUrl": sandbox.base_url,
        "openai-billing:adminKey": ADMIN_KEY,
        "openai-billing:maxRetries": "3",
        **extra,
    }


@pytest.fixture
def plugin(sandbox: Sandbox) -> Iterator[Plugin]:
    with Plugin(plugin_config(sandbox), env={"OPENAI_ADMIN_KEY": ""}) as running:
        yield running


def provider_blob(name: str) -> str:
    """The ``__provider`` value a program registers for this resource kind (the pickled provider)."""
    return serialize_provider(getattr(providers, f"{name}Provider")())


def pickled(name: str) -> bytes:
    return base64.b64decode(provider_blob(name))
