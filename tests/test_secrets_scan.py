"""After end-to-end runs of every example (debug logging on, a failing step included), no artifact holds the
admin key or the payment token: state, the pickled providers in it, plugin logs, error texts, the sandbox's
request log and its account state."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from conftest import ADMIN_KEY, Api, plugin_config
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import DeploymentError, Stack

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
TOKEN = "pm_card_mastercard"  # passed as secret config: it must appear nowhere
RUNS = {
    "quickstart": ({}, ("team-a",)),
    "gitops": ({"billing-gitops:teams": json.dumps({"team-a": {"budget_usd": "500"}})}, ("team-a",)),
    "prepaid-credits": ({"openai-billing-prepaid-credits:paymentToken": TOKEN}, ()),
}


def _providers(state: dict) -> list[bytes]:
    """The pickled providers the state holds (``__provider``), decoded."""
    blobs = []
    for resource in state["checkpoint"]["latest"]["resources"]:
        for part in ("inputs", "outputs"):
            blob = (resource.get(part) or {}).get("__provider")
            if isinstance(blob, str):
                blobs.append(base64.b64decode(blob))
    return blobs


@pytest.mark.parametrize("example", RUNS)
def test_no_artifact_holds_a_secret(sandbox: Sandbox, api: Api, tmp_path: Path, example: str) -> None:
    extra, projects = RUNS[example]
    for name in projects:
        api.project(name)
    log, backend = tmp_path / "engine.log", tmp_path / "backend"
    config = {**plugin_config(sandbox, **{"openai-billing:debug": "true"}), **extra}
    secret_keys = ("openai-billing:adminKey", "openai-billing-prepaid-credits:paymentToken")
    stack = Stack(EXAMPLES / example, config=config, backend_dir=backend, log_file=log, secret_config_keys=secret_keys)
    texts: list[str] = []
    for step in (stack.preview, stack.up, stack.refresh, stack.up):
        texts.append(repr(step()))
    wrong = Stack(
        EXAMPLES / example,
        config={**config, "openai-billing:organization": "org-elsewhere"},
        backend_dir=backend,
        log_file=log,
        secret_config_keys=secret_keys,
    )
    with pytest.raises(DeploymentError) as failure:
        wrong.up()
    texts.append(str(failure.value))
    state_file = stack.state_file()
    state = json.loads(state_file.read_text())
    if "openai-billing-prepaid-credits:paymentToken" in extra:
        assert stack.resources["card"]["brand"] == "mastercard", "the secret token was the one used"

    artifacts: dict[str, bytes] = {
        "state": state_file.read_bytes(),
        "engine log": log.read_bytes(),
        "step results and errors": "\n".join(texts).encode(),
        "request log": json.dumps(api.requests()).encode(),
        "sandbox state": json.dumps(api.state()).encode(),
        **{f"provider {i}": blob for i, blob in enumerate(_providers(state))},
    }
    assert b"->" in artifacts["engine log"], "debug logging was on"
    assert _providers(state), "the state holds pickled providers"
    for name, data in artifacts.items():
        assert ADMIN_KEY.encode() not in data, f"the admin key is in the {name}"
        assert TOKEN.encode() not in data, f"the payment token is in the {name}"
