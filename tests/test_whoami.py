"""`openai-billing whoami` against a real sandbox: settings shown, the key probed, projects counted."""

from __future__ import annotations

import json

import pytest

from conftest import ADMIN_KEY, Api
from pulumi_openai_billing import cli
from pulumi_openai_billing._api.config import redact
from pulumi_openai_billing.sandbox import Sandbox

WRONG_KEY = "sk-admin-wrong-key-9876543210"


def _archived_project(api: Api, name: str) -> str:
    project_id = api.project(name)
    api.post(f"organization/projects/{project_id}/archive", {})
    return project_id


def test_a_working_key_shows_settings_and_counts_projects(
    sandbox: Sandbox, api: Api, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    api.project("team-a")
    api.project("team-b")
    _archived_project(api, "old")

    assert cli.main(["whoami"]) == 0

    out = capsys.readouterr().out
    assert f"{sandbox.base_url} (from OPENAI_BILLING_BASE_URL)" in out
    assert "none: the key's default organization" in out
    assert "binding:      127.0.0.1" in out
    assert redact(ADMIN_KEY) in out and ADMIN_KEY not in out
    assert "key works:    yes (HTTP 200)" in out
    assert "3 visible: 2 active, 1 archived" in out


def test_a_configured_organization_is_the_binding_and_is_sent(
    sandbox: Sandbox, api: Api, env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BILLING_ORGANIZATION", sandbox.org_id)
    assert cli.main(["whoami"]) == 0
    out = capsys.readouterr().out
    assert f"organization: {sandbox.org_id}" in out and f"binding:      {sandbox.org_id}" in out
    assert {r["organization"] for r in api.requests()} == {sandbox.org_id}

    monkeypatch.setenv("OPENAI_BILLING_ORGANIZATION", "org-someone-else")
    assert cli.main(["whoami"]) == 1
    assert "no (HTTP 401)" in capsys.readouterr().out


def test_a_wrong_key_fails_with_the_api_message_and_never_shows_the_key(
    sandbox: Sandbox, env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", WRONG_KEY)

    assert cli.main(["whoami"]) == 1

    captured = capsys.readouterr()
    assert "key works:    no (HTTP 401)" in captured.out
    assert "invalid_api_key" in captured.out and "Incorrect API key provided" in captured.out
    assert "request id req_" in captured.out
    assert redact(WRONG_KEY) in captured.out
    assert WRONG_KEY not in captured.out + captured.err
    assert "\nprojects:" not in captured.out


def test_a_missing_key_says_how_to_set_it(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_ADMIN_KEY", raising=False)
    monkeypatch.setenv("OPENAI_BILLING_BASE_URL", "http://127.0.0.1:9/v1")  # never contacted

    assert cli.main(["whoami"]) == 2

    captured = capsys.readouterr()
    assert "no OpenAI admin key is configured" in captured.out
    assert "OPENAI_ADMIN_KEY" in captured.out
    assert "pulumi config set --secret openai-billing:adminKey" in captured.out
    assert "Traceback" not in captured.out + captured.err

    assert cli.main(["whoami", "--json"]) == 2
    report = json.loads(capsys.readouterr().out)
    assert report["key_works"] is False and report["admin_key"] == "<none>"
    assert "OPENAI_ADMIN_KEY" in report["error"]


def test_a_malformed_setting_exits_2_without_a_traceback(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_BILLING_BASE_URL", "ftp://example.com")
    assert cli.main(["whoami"]) == 2
    assert "must be an http(s) URL" in capsys.readouterr().err


def test_json_for_scripts_counts_every_page(
    sandbox: Sandbox, api: Api, env: None, capsys: pytest.CaptureFixture[str]
) -> None:
    for n in range(103):  # more than one page of 100
        api.project(f"p{n}")
    _archived_project(api, "old")

    assert cli.main(["whoami", "--json"]) == 0

    report = json.loads(capsys.readouterr().out)
    assert report == {
        "base_url": sandbox.base_url,
        "organization": None,
        "organization_binding": "127.0.0.1",
        "admin_key": redact(ADMIN_KEY),
        "key_works": True,
        "status": 200,
        "error": None,
        "projects": {"active": 103, "archived": 1, "total": 104},
    }


def test_json_with_a_wrong_key(
    sandbox: Sandbox, env: None, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_ADMIN_KEY", WRONG_KEY)

    assert cli.main(["whoami", "--json"]) == 1

    out = capsys.readouterr().out
    report = json.loads(out)
    assert report["key_works"] is False and report["status"] == 401 and report["projects"] is None
    assert "invalid_api_key" in report["error"]
    assert report["admin_key"] == redact(WRONG_KEY) and WRONG_KEY not in out
