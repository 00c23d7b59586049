"""Every ``openai-billing`` command, given each class of everyday mistake, as a newcomer would make it: one line on
stderr saying what is wrong and what to do, exit status 2 (130 for Ctrl-C), no traceback, and no file left
behind. Each runs the real command in a process of its own."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import ADMIN_KEY
from pulumi_openai_billing.sandbox import Sandbox

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
COSTS = EXAMPLES / "simulate" / "costs-2026-10.json"
CONFIG = EXAMPLES / "simulate" / "billing.yaml"


@dataclass
class Mistake:
    args: list[str]
    says: str
    env: dict[str, str] = field(default_factory=dict)
    status: int = 2


def _run(args: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("OPENAI_")}
    return subprocess.run(
        [sys.executable, "-m", "pulumi_openai_billing.cli", *args],
        cwd=cwd,
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )


def _files(folder: Path) -> set[Path]:
    return {p for p in folder.rglob("*")}


def _assert_one_clear_line(result: subprocess.CompletedProcess[str], mistake: Mistake) -> None:
    err = result.stderr.strip()
    assert result.returncode == mistake.status, (result.returncode, result.stderr)
    assert "Traceback" not in result.stderr and "\n" not in err, result.stderr
    assert err.startswith("openai-billing") and mistake.says in err, err
    assert ADMIN_KEY not in result.stderr + result.stdout


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "a-file").write_text("not a folder\n")
    (tmp_path / "a-folder").mkdir()
    (tmp_path / "shapeless.json").write_text('{"a": 1}')
    (tmp_path / "steps.json").write_text('{"steps": [{"op": "create"}]}')
    (tmp_path / "costs-shape.json").write_text('[{"foo": 1}]')
    (tmp_path / "preview.json").write_text('{"steps": []}')
    (tmp_path / "unknown-key.yaml").write_text("organisation: {monthly_limit_usd: 10}\n")
    return tmp_path


FILE_MISTAKES = {
    "plan-report, a missing input": Mistake(
        ["plan-report", "missing.json", "--no-live"], "cannot read the preview JSON missing.json: it does not exist"
    ),
    "plan-report, a folder as input": Mistake(["plan-report", "a-folder", "--no-live"], "it is a folder"),
    "plan-report, JSON of another shape": Mistake(
        ["plan-report", "shapeless.json", "--no-live"], "is not a `pulumi preview --json` document: it has none of"
    ),
    "plan-report, a step without a urn": Mistake(["plan-report", "steps.json", "--no-live"], "steps[0] has no 'urn'"),
    "plan-report, an output in a missing folder": Mistake(
        ["plan-report", "preview.json", "--no-live", "-o", "nowhere/report.md"], "the folder nowhere does not exist"
    ),
    "plan-report, a missing argument": Mistake(["plan-report"], "the following arguments are required: preview"),
    "simulate, a missing configuration": Mistake(
        ["simulate", "--month", "2026-10", "--config", "missing.yaml", "--costs", str(COSTS)], "missing.yaml"
    ),
    "simulate, a configuration with an unknown key": Mistake(
        ["simulate", "--month", "2026-10", "--config", "unknown-key.yaml", "--costs", str(COSTS)], "organisation"
    ),
    "simulate, a costs file of another shape": Mistake(
        ["simulate", "--month", "2026-10", "--config", str(CONFIG), "--costs", "costs-shape.json"],
        "page 1: not a costs page",
    ),
    "simulate, a month the costs do not hold": Mistake(
        ["simulate", "--month", "2026-09", "--config", str(CONFIG), "--costs", str(COSTS)],
        "no costs data for 2026-09",
    ),
    "simulate, a chart in a missing folder": Mistake(
        ["simulate", "--month", "2026-10", "--config", str(CONFIG), "--costs", str(COSTS), "--chart", "no/c.png"],
        "the folder no does not exist",
    ),
    "simulate, a month that is none": Mistake(
        ["simulate", "--month", "2026-13", "--config", str(CONFIG), "--costs", str(COSTS)], "--month takes a month"
    ),
    "simulate, no key for --live": Mistake(["simulate", "--month", "2026-10", "--live"], "no OpenAI admin key"),
    "export, no key": Mistake(["export", "--format", "yaml"], "no OpenAI admin key"),
    "export, options that do not go together": Mistake(
        ["export", "--format", "yaml", "--split"], "--split applies to --format python only"
    ),
    "whoami, a malformed setting": Mistake(
        ["whoami"], "OPENAI_BILLING_TIMEOUT_SECONDS must be a number", {"OPENAI_BILLING_TIMEOUT_SECONDS": "soon"}
    ),
    "whoami, an unknown option": Mistake(["whoami", "--bogus"], "unrecognized arguments: --bogus"),
    "whoami, no key": Mistake(["whoami"], "no OpenAI admin key"),
    "schema, a format it does not write": Mistake(["schema", "--format", "html"], "invalid choice: 'html'"),
    "sandbox, an unknown fault kind": Mistake(
        ["sandbox", "--admin-key", "k", "--fault-kinds", "500,404"], "--fault-kinds: 404 is no fault kind"
    ),
    "sandbox, a rate limit it cannot read": Mistake(
        ["sandbox", "--admin-key", "k", "--rate-limit", "7"], "--rate-limit"
    ),
    "sandbox, a database in a missing folder": Mistake(
        ["sandbox", "--admin-key", "k", "--db", "nowhere/sandbox.db"], "the folder"
    ),
    "sandbox, a database that is not one": Mistake(
        ["sandbox", "--admin-key", "k", "--db", "a-file"], "--db a-file is not a sandbox database"
    ),
    "sandbox, no key": Mistake(["sandbox"], "--admin-key (or OPENAI_ADMIN_KEY) is required"),
}


@pytest.mark.parametrize("name", sorted(FILE_MISTAKES))
def test_a_mistake_is_one_clear_line_and_leaves_nothing_behind(name: str, workdir: Path) -> None:
    mistake = FILE_MISTAKES[name]
    before = _files(workdir)
    result = _run(mistake.args, workdir, mistake.env)
    _assert_one_clear_line(result, mistake)
    assert _files(workdir) == before, "no file (or half of one) is left behind"


def test_an_export_to_a_place_it_cannot_write_writes_nothing(workdir: Path, sandbox: Sandbox) -> None:
    env = {"OPENAI_ADMIN_KEY": ADMIN_KEY, "OPENAI_BILLING_BASE_URL": sandbox.base_url}
    before = _files(workdir)
    for args, says in (
        (["export", "--format", "yaml", "-o", "a-file/sub/billing.yaml"], "a part of the path is not a folder"),
        (["export", "-o", "a-file/program"], "a part of the path is not a folder"),
        (["export", "--format", "yaml", "-o", "a-folder"], "a-folder is a directory"),
    ):
        _assert_one_clear_line(_run(args, workdir, env), Mistake(args, says))
    assert _files(workdir) == before


@pytest.fixture
def key_mistakes(sandbox: Sandbox) -> Iterator[dict[str, Mistake]]:
    root = sandbox.base_url.removesuffix("/v1")
    yield {
        "a project key": Mistake(
            ["export", "--format", "yaml"],
            "The key is a project key (sk-proj-…): the Admin API takes only admin keys (sk-admin-…)",
            {"OPENAI_ADMIN_KEY": "sk-proj-0123456789abcdef", "OPENAI_BILLING_BASE_URL": sandbox.base_url},
        ),
        "another organization": Mistake(
            ["simulate", "--month", "2026-10", "--live", "--costs", str(COSTS)],
            "The admin key does not belong to org-other",
            {
                "OPENAI_ADMIN_KEY": ADMIN_KEY,
                "OPENAI_BILLING_BASE_URL": sandbox.base_url,
                "OPENAI_BILLING_ORGANIZATION": "org-other",
            },
        ),
        "a base URL ending in /v2": Mistake(
            ["export", "--format", "yaml"],
            "its base URL ends in /v1 (https://api.openai.com/v1), not /v2",
            {"OPENAI_ADMIN_KEY": ADMIN_KEY, "OPENAI_BILLING_BASE_URL": root + "/v2"},
        ),
        "a base URL without its version": Mistake(
            ["export", "--format", "yaml"],
            "OPENAI_BILLING_BASE_URL must end in the API's version, as https://api.openai.com/v1 does "
            f"(e.g. {root}/v1)",
            {"OPENAI_ADMIN_KEY": ADMIN_KEY, "OPENAI_BILLING_BASE_URL": root},
        ),
    }


def test_a_wrong_key_organization_or_base_url_is_explained(key_mistakes: dict[str, Mistake], workdir: Path) -> None:
    for name, mistake in key_mistakes.items():
        result = _run(mistake.args, workdir, mistake.env)
        assert result.stdout == "", name
        _assert_one_clear_line(result, mistake)


def test_whoami_with_a_project_key_says_it_does_not_work_and_why(sandbox: Sandbox, workdir: Path) -> None:
    """whoami answers the question "does the key work?": no is exit 1, with its report and one line on stderr."""
    env = {"OPENAI_ADMIN_KEY": "sk-proj-0123456789abcdef", "OPENAI_BILLING_BASE_URL": sandbox.base_url}
    result = _run(["whoami", "--json"], workdir, env)
    assert json.loads(result.stdout)["key_works"] is False
    _assert_one_clear_line(result, Mistake(["whoami"], "only admin keys (sk-admin-…)", status=1))


def test_a_busy_port_is_one_line(workdir: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        args = ["sandbox", "--admin-key", "k", "--port", str(port)]
        result = _run(args, workdir, {})
    _assert_one_clear_line(result, Mistake(args, f"port {port} on 127.0.0.1 is in use: choose another --port"))


def test_ctrl_c_stops_the_sandbox_quietly_with_130(workdir: Path) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi_openai_billing.cli", "sandbox", "--admin-key", "k", "--project", "team-a"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    assert process.stdout.readline().startswith("http://127.0.0.1:")
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=30)
    assert process.returncode == 130 and err == ""
