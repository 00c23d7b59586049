"""Schemathesis over the sandbox's own OpenAPI document: valid and invalid requests to every operation,
generated with a fixed seed; no answer is a 5xx, and every 4xx is in OpenAI's error shape."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import response_schema_conformance
from schemathesis.core.failures import FailureGroup

from conftest import ADMIN_KEY
from pulumi_openai_billing.sandbox import Sandbox

EXAMPLES = 120
"""Per operation, mode and path-parameter variant (random ids, live ids): about 12,600 requests in all
(7,400 generated to fit the schema, 5,300 not), in about 110 s. Schemathesis also spells whole numbers
as floats (``2.0``); the sandbox refuses those with a 400 on purpose (amounts are strict JSON integers)."""
SEED = 20261125
EXCLUDED = (
    # Installing faults makes the sandbox answer 5xx on purpose; every other control endpoint is fuzzed.
    "/v1/sandbox/faults",
)
AUTH = {"Authorization": f"Bearer {ADMIN_KEY}"}


@pytest.fixture(scope="module")
def sandbox() -> Iterator[Sandbox]:
    with Sandbox(ADMIN_KEY, rate_limit="off") as running:
        yield running


def _operations(sandbox: Sandbox) -> list[Any]:
    document = httpx.get(sandbox.base_url + "/sandbox/openapi.json", headers=AUTH).raise_for_status().json()
    schema = schemathesis.openapi.from_dict(document)
    operations = [result.ok() for result in schema.get_all_operations()]
    return [op for op in operations if not op.path.startswith(EXCLUDED)]


def _off_its_model(case: Any, response: Any) -> str | None:
    """A success whose body is not what the operation's OpenAPI document says it answers (the sandbox declares
    its answers for the Admin API endpoints it mirrors), or None."""
    if response.status_code >= 400:
        return None
    try:
        case.validate_response(response, checks=[response_schema_conformance])
    except (AssertionError, FailureGroup) as exc:
        return f"answered {response.status_code} off its response model: {str(exc)[:300]}"
    return None


def _problem(response: Any) -> str | None:
    """Why this answer is wrong, or None."""
    status = response.status_code
    if status >= 500:
        return f"answered {status}"
    if status < 400:
        return None
    try:
        error = response.json()["error"]
    except (ValueError, KeyError, TypeError):
        return f"answered {status} without OpenAI's error object: {response.text[:200]!r}"
    if not isinstance(error, dict) or not {"message", "type", "param", "code"} <= error.keys():
        return f"answered {status} with an error object of another shape: {error!r}"
    return None


def test_the_operations_cover_the_admin_api_and_the_billing_extension(sandbox: Sandbox) -> None:
    labels = {f"{op.method.upper()} {op.path}" for op in _operations(sandbox)}
    assert len(labels) >= 45
    assert {"POST /v1/organization/spend_alerts", "POST /v1/organization/billing/credit_purchases"} <= labels
    assert {
        "DELETE /v1/organization/projects/{project_id}/model_permissions",
        "POST /v1/organization/projects/{project_id}/hosted_tool_permissions",
        "POST /v1/organization/projects/{project_id}/service_tier_settings",
        "GET /v1/organization/projects/{project_id}/rate_limits",
        "POST /v1/organization/projects/{project_id}/rate_limits/{rate_limit_id}",
    } <= labels
    assert not any("/sandbox/faults" in label for label in labels)


def _live_ids(sandbox: Sandbox) -> dict[str, str]:
    """Objects that exist, so generated requests also reach the handlers behind the 404 of a random id."""
    with httpx.Client(base_url=sandbox.base_url + "/", headers=AUTH) as http:

        def post(path: str, body: dict[str, Any], **headers: str) -> str:
            return http.post(path, json=body, headers=headers).raise_for_status().json()["id"]

        project = post("organization/projects", {"name": "fuzzed"})
        alert = {
            "threshold_amount": 100,
            "currency": "USD",
            "interval": "month",
            "notification_channel": {"type": "email", "recipients": ["a@example.com"]},
        }
        card = post("organization/billing/payment_methods", {"token": "pm_card_visa"})
        http.post("organization/billing/default_payment_method", json={"payment_method_id": card}).raise_for_status()
        purchase = {"amount": 500, "currency": "USD", "payment_method_id": None}
        api_key = post("sandbox/api_keys", {"project_id": project, "name": "fuzzed"})
        return {
            "project_id": project,
            "alert_id": post("organization/spend_alerts", alert),
            "project_alert_id": post(f"organization/projects/{project}/spend_alerts", alert),
            "payment_method_id": card,
            "api_key_id": api_key,
            "purchase_id": post("organization/billing/credit_purchases", purchase, **{"Idempotency-Key": "fuzz"}),
            "rate_limit_id": "rl-gpt-image-1",
        }


def _known(operation: Any, ids: dict[str, str]) -> dict[str, str] | None:
    """Real values for every path parameter of ``operation``, or None when it has none."""
    names = [p.name for p in operation.path_parameters]
    if not names:
        return None
    scoped = "/projects/" in operation.path
    return {n: ids["project_alert_id" if n == "alert_id" and scoped else n] for n in names}


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE], ids=str)
def test_no_request_makes_the_sandbox_fail(sandbox: Sandbox, mode: GenerationMode) -> None:
    root = sandbox.base_url.removesuffix("/v1")
    ids = _live_ids(sandbox)
    problems: list[str] = []
    no_invalid: list[str] = []
    sent: list[int] = []
    with requests.Session() as session:
        for operation in _operations(sandbox):
            for path_parameters in (None, _known(operation, ids)) if _known(operation, ids) else (None,):

                @seed(SEED)
                @settings(max_examples=EXAMPLES, deadline=None, database=None, suppress_health_check=list(HealthCheck))
                @given(case=operation.as_strategy(generation_mode=mode, path_parameters=path_parameters))
                def call(case: Any) -> None:
                    response = case.call(base_url=root, headers=AUTH, session=session)
                    sent.append(response.status_code)
                    problem = _problem(response) or _off_its_model(case, response)
                    if problem and len(problems) < 10:
                        command = case.as_curl_command(headers=AUTH, base_url=root)
                        problems.append(f"{case.operation.label}: {problem}\n  {command.replace(ADMIN_KEY, '$KEY')}")

                try:
                    call()
                except Unsatisfiable:
                    if mode is GenerationMode.POSITIVE:
                        raise
                    if operation.label not in no_invalid:
                        no_invalid.append(operation.label)
    assert not problems, "\n".join(problems)
    statuses = sorted(Counter(sent).items())
    print(f"{mode}: {len(sent)} requests, statuses {statuses}; nothing invalid to send to {no_invalid}")
