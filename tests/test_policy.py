"""The policy rules: each with an allowing and a denying case, by calling the rule and through the example
pack's real analyzer server over gRPC (started as the Pulumi CLI starts it: the pack's ``__main__.py``); and
the pack judging a preview under Pulumi's real engine."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
import yaml
from google.protobuf import empty_pb2, struct_pb2
from pulumi.runtime.proto import analyzer_pb2, analyzer_pb2_grpc
from pulumi_policy import (
    EnforcementLevel,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pydantic.alias_generators import to_camel

from conftest import Api, plugin_config, write_program
from pulumi_openai_billing import policy
from pulumi_openai_billing.resources import PLUGIN_PREFIX, TYPE_PREFIX
from pulumi_openai_billing.sandbox import Sandbox
from pulumi_openai_billing.testing import DeploymentError, Stack

PACK = Path(__file__).resolve().parents[1] / "examples" / "policy-pack"
ALICE = ["alice@example.com"]


@dataclass
class Case:
    rule: str
    resources: list[tuple[Any, ...]]
    """(kind, name, props) of each resource the rule sees, and (a fourth element) the name of the resource its
    ``project_id`` comes from, as the engine records a property's dependencies."""
    config: dict[str, Any] = field(default_factory=dict)
    denied: str | None = None
    """A piece of the violation message, or None when the rule allows."""


def _limit(name: str, usd: Any, project: str | None = None) -> tuple[str, str, dict[str, Any]]:
    props = {"monthly_limit_usd": usd, **({"project_id": project} if project else {})}
    return ("ProjectSpendLimit" if project else "OrganizationSpendLimit", name, props)


def _alert(name: str, usd: Any, project: str | None = None, recipients: list[str] = ALICE) -> tuple:
    props = {"threshold_usd": usd, "recipients": recipients, **({"project_id": project} if project else {})}
    return ("ProjectSpendAlert" if project else "OrganizationSpendAlert", name, props)


def _key_limit(name: str, usd: Any, project: str) -> tuple[str, str, dict[str, Any]]:
    return ("ApiKeySpendLimit", name, {"monthly_limit_usd": usd, "project_id": project, "api_key_id": f"key_{name}"})


UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
"""What the engine sends for a value known only after apply (a new project's id at preview)."""


def _project(name: str) -> tuple[str, str, dict[str, Any]]:
    return ("Project", name, {"name": name})


def _models(name: str, project: str, *, of: str | None = None) -> tuple[Any, ...]:
    """A model policy in ``project`` (an id), or in the stack's Project named ``of`` (its id unknown: a preview)."""
    props = {"project_id": UNKNOWN if of else project, "mode": "allow_list", "model_ids": ["gpt-4o"]}
    return ("ProjectModelPermissions", name, props, *([of] if of else []))


def _tiers(name: str, default: str) -> tuple[str, str, dict[str, Any]]:
    return ("ProjectServiceTiers", name, {"project_id": "proj_1", "default": default, "enabled_tiers": ["all"]})


def _rate(name: str, **maxima: Any) -> tuple[str, str, dict[str, Any]]:
    return ("ProjectRateLimit", name, {"project_id": "proj_1", "model": "gpt-4o", **maxima})


CASES = {
    "max-limit-allows": Case("openai-billing-max-spend-limit", [_limit("org", "10000.00")]),
    "max-limit-denies": Case(
        "openai-billing-max-spend-limit",
        [_limit("team", 2500, "proj_1")],
        {"maximum_usd": 2000},
        "team: a monthly spend limit of 2500.00 USD is above the maximum of 2000.00 USD",
    ),
    "limit-alert-allows": Case(
        "openai-billing-limit-needs-alert",
        [_limit("team", 1000, "proj_1"), _alert("warn", "800.00", "proj_1"), _alert("org-alert", 10)],
    ),
    "limit-alert-denies": Case(
        "openai-billing-limit-needs-alert",
        [_limit("team", 1000, "proj_1"), _alert("late", 900, "proj_1"), _alert("other-scope", 100)],
        {"alert_at_or_below_percent": 75},
        "team: the spend limit of project proj_1 (1000.00 USD) needs an alert at or below 75% of it (750.00 USD) "
        "in this stack; alerts found: 900.00 USD",
    ),
    "domains-allow": Case(
        "openai-billing-alert-recipient-domains",
        [_alert("a", 10, recipients=["x@Example.COM", "y@corp.example.org"])],
        {"allowed_domains": ["example.com", "corp.example.org"]},
    ),
    "domains-deny": Case(
        "openai-billing-alert-recipient-domains",
        [_alert("a", 10, recipients=["x@example.com", "leak@gmail.com"])],
        {"allowed_domains": ["example.com"]},
        "a: alert recipients outside the allowed domains (example.com): leak@gmail.com",
    ),
    "purchase-allows": Case(
        "openai-billing-max-credit-purchase",
        [("CreditPurchase", "q4", {"amount_usd": 500, "purchase_key": "q4"})],
    ),
    "purchase-denies": Case(
        "openai-billing-max-credit-purchase",
        [("CreditPurchase", "big", {"amount_usd": "1000.01", "purchase_key": "big"})],
        {},
        "big: a credit purchase of 1000.01 USD is above the maximum of 1000.00 USD",
    ),
    "key-limit-allows": Case(
        "openai-billing-key-limit-within-project-limit",
        [
            _limit("team", 1000, "proj_1"),
            _key_limit("ci", "1000.00", "proj_1"),
            _key_limit("elsewhere", 5000, "proj_2"),
            _limit("org", 100),
        ],
    ),
    "key-limit-warns": Case(
        "openai-billing-key-limit-within-project-limit",
        [_limit("team", 1000, "proj_1"), _key_limit("ci", "1000.01", "proj_1")],
        {},
        "ci: the limit of API key key_ci (1000.01 USD) is above the spend limit of project proj_1 (1000.00 USD) in "
        "this stack, so it can never be reached",
    ),
    "model-policy-allows": Case(
        "openai-billing-project-needs-model-policy",
        [
            _project("team"),
            _models("team-models", "", of="team"),
            _limit("other", 100, "proj_2"),
            _models("other-models", "proj_2"),
            _limit("org", 1000),
        ],
    ),
    "model-policy-warns": Case(
        "openai-billing-project-needs-model-policy",
        [_project("team"), _models("elsewhere", "proj_9"), _limit("org", 1000)],
        {},
        "team: project 'team' has no ProjectModelPermissions in this stack: declare which models it may call",
    ),
    "model-policy-warns-for-a-limit": Case(
        "openai-billing-project-needs-model-policy",
        [_project("team"), _models("team-models", "", of="team"), _limit("other", 100, "proj_2")],
        {},
        "other: the project of its spend limit (proj_2) has no ProjectModelPermissions in this stack",
    ),
    "tiers-allow": Case(
        "openai-billing-denied-default-tiers",
        [_tiers("std", "standard"), _tiers("fast", "fast"), ("ProjectServiceTiers", "flex", {"project_id": "p"})],
    ),
    "tiers-deny": Case(
        "openai-billing-denied-default-tiers",
        [_tiers("pricey", "scale")],
        {},
        "pricey: the default service tier scale is denied (denied: scale): every request that picks no tier would "
        "be billed at it",
    ),
    "tiers-deny-configured": Case(
        "openai-billing-denied-default-tiers",
        [_tiers("quick", "fast"), _tiers("pricey", "scale")],
        {"denied_tiers": ["fast"]},
        "quick: the default service tier fast is denied (denied: fast)",
    ),
    "rate-limits-allow": Case(
        "openai-billing-max-rate-limits",
        [_rate("at", max_requests_per_1_minute=1000.0, max_tokens_per_1_minute=10**9), _rate("unset")],
        {"max_requests_per_1_minute": 1000},
    ),
    "rate-limits-unconfigured-allow": Case(
        "openai-billing-max-rate-limits", [_rate("huge", max_requests_per_1_minute=10**9)]
    ),
    "rate-limits-deny": Case(
        "openai-billing-max-rate-limits",
        [_rate("fast", max_requests_per_1_minute=5000, max_tokens_per_1_minute=2_000_000.0, max_requests_per_1_day=9)],
        {"max_requests_per_1_minute": 1000, "max_tokens_per_1_minute": 1_000_000},
        "fast: the gpt-4o rate limit is above its ceilings: max_requests_per_1_minute 5,000 > 1,000, "
        "max_tokens_per_1_minute 2,000,000 > 1,000,000",
    ),
    "org-limit-allows": Case("openai-billing-require-organization-limit", [_limit("org", 100), _alert("a", 5)]),
    "org-limit-denies": Case(
        "openai-billing-require-organization-limit",
        [_limit("team", 100, "proj_1")],
        {},
        "declares no OrganizationSpendLimit",
    ),
}


def _project_of(declared: tuple[Any, ...]) -> str | None:
    """The name of the resource a declared resource's ``project_id`` comes from, if any."""
    return declared[3] if len(declared) > 3 else None


def _rule(name: str) -> Any:
    return next(p for p in policy.all_policies() if p.name == name)


def _urn(kind: str, name: str, prefix: str = TYPE_PREFIX) -> str:
    return f"urn:pulumi:prod::billing::{prefix}{kind}::{name}"


def _call(case: Case, plugin: bool = False) -> list[str]:
    """Run the rule in this process, as the analyzer would; ``plugin``: on the resources a program in another
    language declares (the plugin's type tokens, camelCase properties)."""
    rule, found = _rule(case.rule), []
    prefix = PLUGIN_PREFIX if plugin else TYPE_PREFIX

    def spelled(props: dict[str, Any]) -> dict[str, Any]:
        return {to_camel(k): v for k, v in props.items()} if plugin else props

    def report(message: str, urn: str | None = None) -> None:
        found.append(message)

    if isinstance(rule, ResourceValidationPolicy):
        for kind, name, props, *_ in case.resources:
            urn = _urn(kind, name, prefix)
            rule.validate(
                ResourceValidationArgs(prefix + kind, spelled(props), urn, name, None, None, case.config), report
            )
    else:
        resources = [
            PolicyResource(prefix + k, spelled(p), _urn(k, n, prefix), n, None, None, None, [], {})
            for k, n, p, *_ in case.resources
        ]
        by_name = {r.name: r for r in resources}
        for resource, declared in zip(resources, case.resources, strict=True):
            if _project_of(declared):
                resource.property_dependencies["projectId" if plugin else "project_id"] = [
                    by_name[_project_of(declared)]
                ]
        rule.validate(StackValidationArgs(resources, case.config), report)
    return found


@pytest.mark.parametrize("plugin", [False, True], ids=["python", "other-languages"])
@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_rule_called_directly(case: Case, plugin: bool) -> None:
    found = _call(case, plugin)
    if case.denied is None:
        assert found == []
    else:
        assert len(found) == 1 and case.denied in found[0]


def test_unparseable_amounts_are_violations_not_crashes() -> None:
    found = _call(Case("openai-billing-max-spend-limit", [_limit("org", "lots")]))
    assert found == ["org: monthly_limit_usd must be a dollar amount such as 100 or \"99.50\", got 'lots'"]


def test_other_providers_resources_are_ignored() -> None:
    rule, found = _rule("openai-billing-max-spend-limit"), []
    args = ResourceValidationArgs("aws:s3/bucket:Bucket", {"monthly_limit_usd": 10**9}, "urn", "b", None, None, {})
    rule.validate(args, lambda message, urn=None: found.append(message))
    assert found == []


# -- through the analyzer server ---------------------------------------------------------------------------


@pytest.fixture(scope="module")
def analyzer() -> Iterator[analyzer_pb2_grpc.AnalyzerStub]:
    process = subprocess.Popen(
        [sys.executable, "-u", "__main__.py"], cwd=PACK, stdout=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    try:
        assert process.stdout is not None
        port = process.stdout.readline().decode().strip()
        assert port.isdigit(), f"the pack did not print its port: {port!r}"
        with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
            grpc.channel_ready_future(channel).result(timeout=30)
            yield analyzer_pb2_grpc.AnalyzerStub(channel)
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout:
            process.stdout.close()


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(values)
    return result


def _serve(stub: analyzer_pb2_grpc.AnalyzerStub, case: Case) -> list[analyzer_pb2.AnalyzeDiagnostic]:
    """Configure the pack as the CLI does (every rule mandatory, this case's config), then analyze."""
    info = stub.GetAnalyzerInfo(empty_pb2.Empty())
    config = {
        p.name: analyzer_pb2.PolicyConfig(
            enforcementLevel=analyzer_pb2.MANDATORY,
            properties=_struct(case.config if p.name == case.rule else {}),
        )
        for p in info.policies
    }
    stub.Configure(analyzer_pb2.ConfigureAnalyzerRequest(policyConfig=config))
    diagnostics = []
    for kind, name, props, *_ in case.resources:
        request = analyzer_pb2.AnalyzeRequest(
            type=TYPE_PREFIX + kind, properties=_struct(props), urn=_urn(kind, name), name=name
        )
        diagnostics += stub.Analyze(request).diagnostics
    kinds = {n: k for k, n, *_ in case.resources}

    def dependencies(declared: tuple[Any, ...]) -> dict[str, analyzer_pb2.AnalyzerPropertyDependencies]:
        project = _project_of(declared)
        if project is None:
            return {}
        return {"project_id": analyzer_pb2.AnalyzerPropertyDependencies(urns=[_urn(kinds[project], project)])}

    resources = [
        analyzer_pb2.AnalyzerResource(
            type=TYPE_PREFIX + declared[0],
            properties=_struct(declared[2]),
            urn=_urn(declared[0], declared[1]),
            name=declared[1],
            propertyDependencies=dependencies(declared),
        )
        for declared in case.resources
    ]
    diagnostics += stub.AnalyzeStack(analyzer_pb2.AnalyzeStackRequest(resources=resources)).diagnostics
    return [d for d in diagnostics if d.policyName == case.rule]


@pytest.mark.parametrize("case", CASES.values(), ids=CASES.keys())
def test_rule_through_the_analyzer_server(analyzer: analyzer_pb2_grpc.AnalyzerStub, case: Case) -> None:
    diagnostics = _serve(analyzer, case)
    if case.denied is None:
        assert diagnostics == []
    else:
        assert len(diagnostics) == 1
        assert case.denied in diagnostics[0].message
        assert diagnostics[0].enforcementLevel == analyzer_pb2.MANDATORY
        assert diagnostics[0].policyPackName == "openai-billing"


def test_pack_defaults_keep_the_organization_rule_off(analyzer: analyzer_pb2_grpc.AnalyzerStub) -> None:
    info = analyzer.GetAnalyzerInfo(empty_pb2.Empty())
    levels = {p.name: p.enforcementLevel for p in info.policies}
    assert levels == {
        "openai-billing-max-spend-limit": analyzer_pb2.MANDATORY,
        "openai-billing-limit-needs-alert": analyzer_pb2.MANDATORY,
        "openai-billing-alert-recipient-domains": analyzer_pb2.MANDATORY,
        "openai-billing-max-credit-purchase": analyzer_pb2.MANDATORY,
        "openai-billing-require-organization-limit": analyzer_pb2.DISABLED,
        "openai-billing-key-limit-within-project-limit": analyzer_pb2.ADVISORY,
        "openai-billing-project-needs-model-policy": analyzer_pb2.ADVISORY,
        "openai-billing-denied-default-tiers": analyzer_pb2.MANDATORY,
        "openai-billing-max-rate-limits": analyzer_pb2.MANDATORY,
    }
    assert policy.require_organization_limit().enforcement_level == EnforcementLevel.DISABLED
    assert policy.key_limit_within_project_limit().enforcement_level == EnforcementLevel.ADVISORY
    assert policy.project_needs_model_policy().enforcement_level == EnforcementLevel.ADVISORY


def test_a_rate_limit_ceiling_names_a_real_maximum() -> None:
    with pytest.raises(ValueError, match=r"no maximum max_rpm \(the maxima: max_requests_per_1_minute, "):
        policy.max_rate_limits({"max_rpm": 5})
    rule = policy.all_policies(max_rate_limits={"ceilings": {"max_tokens_per_1_minute": 10}})[-1]
    found: list[str] = []
    args = ResourceValidationArgs(
        TYPE_PREFIX + "ProjectRateLimit", {"model": "o3", "max_tokens_per_1_minute": 11}, "urn", "r", None, None, {}
    )
    rule.validate(args, lambda message, urn=None: found.append(message))
    assert found == ["r: the o3 rate limit is above its ceilings: max_tokens_per_1_minute 11 > 10"]


def test_sample_configs_name_real_rules_and_properties() -> None:
    import json

    rules = {p.name: p for p in policy.all_policies()}
    for path in (PACK / "policy-config.json", PACK.parent / "gitops" / "policy-config.json"):
        for name, settings in json.loads(path.read_text()).items():
            assert name in rules, f"{path}: no rule {name}"
            known = set(rules[name].config_schema.properties) if rules[name].config_schema else set()
            assert set(settings) - {"enforcementLevel"} <= known, f"{path}: {name} has no such setting"


def _capped_program(tmp_path: Path, language: str) -> Path:
    """A limit of 20,000 USD and an alert at 15,000, in Python or in YAML (through the plugin)."""
    if language == "python":
        return write_program(
            tmp_path,
            'billing.OrganizationSpendLimit("cap", monthly_limit_usd=20000)\n'
            'billing.OrganizationSpendAlert("warn", threshold_usd=15000, recipients=["a@example.com"])\n',
        )
    resources = {
        "cap": {"type": "openai-billing:index:OrganizationSpendLimit", "properties": {"monthlyLimitUsd": 20000}},
        "warn": {
            "type": "openai-billing:index:OrganizationSpendAlert",
            "properties": {"thresholdUsd": 15000, "recipients": ["a@example.com"]},
        },
    }
    folder = tmp_path / "yaml-program"
    folder.mkdir()
    (folder / "Pulumi.yaml").write_text(yaml.safe_dump({"name": "capped", "runtime": "yaml", "resources": resources}))
    return folder


@pytest.mark.parametrize("language", ["python", "yaml"])
def test_the_pack_judges_a_preview_under_the_real_engine(
    language: str, sandbox: Sandbox, api: Api, tmp_path: Path
) -> None:
    """The CLI runs Python packs through the Python language host, which cannot be built here; it also runs a
    pack given as an executable analyzer, which is what the pack's ``__main__.py`` is. One rule denies (the
    limit is above the default maximum), one allows (the limit has an alert at or below 80%). A program in
    another language is judged by the same rules."""
    analyzer = tmp_path / "openai-billing-policy-pack"
    analyzer.write_text(f"#!/bin/sh\nexec {sys.executable} -u {PACK / '__main__.py'}\n")
    analyzer.chmod(0o755)
    stack = Stack(_capped_program(tmp_path, language), config=plugin_config(sandbox))
    with pytest.raises(DeploymentError) as denied:
        stack.preview(policy_packs=[str(analyzer)])
    assert denied.value.errors == [
        "cap: openai-billing-max-spend-limit: Spend limits must not exceed a maximum. "
        "cap: a monthly spend limit of 20000.00 USD is above the maximum of 10000.00 USD"
    ]
    assert {v.policy for v in denied.value.result.violations} == {"openai-billing-max-spend-limit"}

    allowing = tmp_path / "policy-config.json"
    allowing.write_text('{"openai-billing-max-spend-limit": {"maximum_usd": 20000}}')
    allowed = stack.preview(policy_packs=[str(analyzer)], policy_pack_configs=[str(allowing)])
    assert allowed.violations == [] and set(allowed.ops().values()) == {"create"}
    assert api.writes() == []


def test_the_project_rules_judge_a_new_project_under_the_real_engine(sandbox: Sandbox, tmp_path: Path) -> None:
    """At preview a new project's id is unknown: its model policy is matched through the engine's record of where
    ``project_id`` comes from, so the advisory rule judges it (and is quiet); the scale default is refused."""
    analyzer = tmp_path / "openai-billing-policy-pack"
    analyzer.write_text(f"#!/bin/sh\nexec {sys.executable} -u {PACK / '__main__.py'}\n")
    analyzer.chmod(0o755)
    program = write_program(
        tmp_path,
        'team = billing.Project("team", name="team")\n'
        'billing.ProjectModelPermissions("team-models", project_id=team.id, model_ids=["gpt-4o"])\n'
        'billing.ProjectServiceTiers("team-tiers", project_id=team.id, default="scale")\n'
        'billing.Project("bare", name="bare")\n',
    )
    stack = Stack(program, config=plugin_config(sandbox))
    with pytest.raises(DeploymentError) as denied:
        stack.preview(policy_packs=[str(analyzer)])
    found = {(v.policy, v.resource, v.enforcement) for v in denied.value.result.violations}
    assert found == {
        ("openai-billing-denied-default-tiers", "team-tiers", "mandatory"),
        ("openai-billing-project-needs-model-policy", "bare", "advisory"),
    }
