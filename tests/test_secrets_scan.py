"""After end-to-end runs of every example (debug logging on, a failing step included), no artifact holds the
admin key or the payment token: state, the pickled providers in it, plugin logs, error texts, the sandbox's
request log and its account state."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from conftest import ADMIN_KEY, Api, plugin_config, write_program
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


def test_the_admin_key_is_in_state_as_ciphertext_from_config_and_not_at_all_from_the_environment(
    sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    """The engine records the whole stack config as the inputs of the default dynamic provider: a key set with
    `pulumi config set --secret` is in state, encrypted. One from OPENAI_ADMIN_KEY never reaches state."""
    program = write_program(tmp_path, 'billing.OrganizationSpendAlert("a", threshold_usd=1, recipients=["a@x.com"])\n')
    in_config = Stack(program, config=plugin_config(sandbox), backend_dir=tmp_path / "config")
    in_config.up()
    provider = next(
        r for r in in_config.export()["deployment"]["resources"] if r["type"] == "pulumi:providers:pulumi-python"
    )
    assert set(provider["inputs"]["openai-billing:adminKey"]) == {"4dabf18193072939515e22adb298388d", "ciphertext"}
    assert ADMIN_KEY not in in_config.state_file().read_text()

    settings = {k: v for k, v in plugin_config(sandbox).items() if k != "openai-billing:adminKey"}
    api.http.delete(f"{Api.alerts_path()}/{in_config.ids()['a']}").raise_for_status()
    from_env = Stack(program, config=settings, env={"OPENAI_ADMIN_KEY": ADMIN_KEY}, backend_dir=tmp_path / "env")
    from_env.up()
    text = from_env.state_file().read_text()
    assert "adminKey" not in text and ADMIN_KEY not in text and "ciphertext" not in text
    assert len(api.alerts()) == 1
