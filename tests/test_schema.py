"""``schema.json`` and ``docs/reference.md``: generated from the models, committed, and current."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

import pulumi_openai_billing
from pulumi_openai_billing import cli, resources
from pulumi_openai_billing.cli.schema import package_schema, reference_markdown, schema_json
from pulumi_openai_billing.resources.budget import BudgetInputs

ROOT = Path(__file__).resolve().parents[1]
KINDS = list(resources.KINDS)
STALE = "is stale: run scripts/regen and commit the result"


def test_committed_schema_is_current() -> None:
    assert (ROOT / "schema.json").read_text() == schema_json(), f"schema.json {STALE}"


def test_committed_reference_is_current() -> None:
    assert (ROOT / "docs" / "reference.md").read_text() == reference_markdown(package_schema()), (
        f"docs/reference.md {STALE}"
    )


def test_every_field_of_every_model_is_in_the_schema_with_a_description() -> None:
    resources = package_schema()["resources"]
    assert set(resources) == {f"openai-billing:index:{k.name}" for k in KINDS} | {"openai-billing:index:Budget"}
    for kind in KINDS:
        resource = resources[f"openai-billing:index:{kind.name}"]
        assert set(resource["inputProperties"]) == set(kind.inputs.model_fields)
        assert set(resource["properties"]) == {
            *kind.inputs.model_fields,
            *kind.outputs.model_fields,
            "organization",
            "schema_version",
        }
        assert resource["requiredInputs"] == sorted(n for n, f in kind.inputs.model_fields.items() if f.is_required())
        assert set(resource["required"]) <= set(resource["properties"])
        for spec in (*resource["inputProperties"].values(), *resource["properties"].values()):
            assert spec["description"].strip()
    budget = resources["openai-billing:index:Budget"]
    assert budget["isComponent"] is True and set(budget["inputProperties"]) == set(BudgetInputs.model_fields)
    percents = budget["inputProperties"]["alert_at_percent"]
    assert (percents["type"], percents["items"]) == ("array", {"type": "string"})
    assert budget["requiredInputs"] == ["monthly_budget_usd", "recipients"]


def test_secrets_replacements_and_defaults_come_from_the_kinds() -> None:
    resources = package_schema()["resources"]
    token = resources["openai-billing:index:PaymentMethod"]
    assert token["inputProperties"]["token"]["secret"] is True and token["properties"]["token"]["secret"] is True
    limit = resources["openai-billing:index:ProjectSpendLimit"]["inputProperties"]
    assert limit["project_id"]["willReplaceOnChanges"] is True
    assert limit["on_delete"]["default"] == "retain" and limit["adopt_existing"]["default"] is False
    assert "willReplaceOnChanges" not in limit["monthly_limit_usd"]
    alert = resources["openai-billing:index:OrganizationSpendAlert"]["inputProperties"]
    assert alert["recipients"] == {**alert["recipients"], "type": "array", "items": {"type": "string"}}
    assert package_schema()["config"]["variables"]["adminKey"]["secret"] is True


def _types(spec: dict[str, Any]) -> list[str]:
    found = [spec["type"]]
    if spec["type"] == "array":
        found += _types(spec["items"])
    return found


@pytest.mark.parametrize("part", ["inputProperties", "properties"])
def test_every_type_is_a_pulumi_schema_type(part: str) -> None:
    for resource in package_schema()["resources"].values():
        for spec in resource[part].values():
            assert set(_types(spec)) <= {"string", "integer", "number", "boolean", "array", "object"}


def test_the_cli_prints_the_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["schema"]) == 0
    assert json.loads(capsys.readouterr().out) == package_schema()
    assert cli.main(["schema", "--format", "markdown"]) == 0
    assert capsys.readouterr().out.startswith("# `openai-billing` reference")


def test_every_input_of_every_kind_is_a_keyword_of_its_resource_class() -> None:
    """The model, the schema and the Python class name the same inputs: a property only the model knows
    cannot be set from a program."""
    for kind in KINDS:
        resource = getattr(pulumi_openai_billing, kind.name)
        keywords = set(inspect.signature(resource.__init__).parameters) - {"self", "resource_name", "opts"}
        assert keywords == set(kind.inputs.model_fields), kind.name
