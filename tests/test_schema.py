"""``schema.json`` and ``docs/reference.md``: generated from the models, committed, and current."""

from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pytest

import pulumi_openai_billing
from pulumi_openai_billing import cli, resources
from pulumi_openai_billing.resources import wire_names
from pulumi_openai_billing.resources.budget import BudgetInputs
from pulumi_openai_billing.schema import INVOKES, package_schema, reference_markdown, schema_json

ROOT = Path(__file__).resolve().parents[1]
KINDS = list(resources.KINDS)
STALE = "is stale: run scripts/regen and commit the result"


def test_committed_schema_is_current() -> None:
    assert (ROOT / "schema.json").read_text() == schema_json(), f"schema.json {STALE}"


def test_committed_reference_is_current() -> None:
    assert (ROOT / "docs" / "reference.md").read_text() == reference_markdown(package_schema()), (
        f"docs/reference.md {STALE}"
    )


def _camel(fields: Any) -> set[str]:
    return set(wire_names(fields).values())


def test_every_field_of_every_model_is_in_the_schema_with_a_description() -> None:
    resources = package_schema()["resources"]
    assert set(resources) == {f"openai-billing:index:{k.name}" for k in KINDS} | {"openai-billing:index:Budget"}
    for kind in KINDS:
        resource = resources[f"openai-billing:index:{kind.name}"]
        assert set(resource["inputProperties"]) == _camel(kind.inputs.model_fields)
        assert set(resource["properties"]) == {
            *_camel(kind.inputs.model_fields),
            *_camel(kind.outputs.model_fields),
            "organization",
            "schemaVersion",
        }
        names = wire_names(kind.inputs.model_fields)
        required = sorted(names[n] for n, f in kind.inputs.model_fields.items() if f.is_required())
        assert resource["requiredInputs"] == required
        assert set(resource["required"]) <= set(resource["properties"])
        for spec in (*resource["inputProperties"].values(), *resource["properties"].values()):
            assert spec["description"].strip()
    budget = resources["openai-billing:index:Budget"]
    assert budget["isComponent"] is True and set(budget["inputProperties"]) == _camel(BudgetInputs.model_fields)
    percents = budget["inputProperties"]["alertAtPercent"]
    assert (percents["type"], percents["items"]) == ("array", {"type": "string"})
    assert budget["requiredInputs"] == ["monthlyBudgetUsd", "recipients"]


def test_schema_names_are_camel_case_and_each_is_one_model_field() -> None:
    """Pulumi's convention in the schema (and so in every SDK and YAML program); the Python classes keep the
    model's snake_case keywords. The mapping is one-to-one, both ways."""
    for kind in KINDS:
        for model in (kind.inputs, kind.outputs):
            names = wire_names(model.model_fields)
            assert len(set(names.values())) == len(names), kind.name
            for field, name in names.items():
                assert "_" not in name and name[0].islower(), (kind.name, name)
                assert name.lower() == field.replace("_", ""), (kind.name, field, name)
    limit = package_schema()["resources"]["openai-billing:index:OrganizationSpendLimit"]["inputProperties"]
    assert "monthlyLimitUsd" in limit and "monthly_limit_usd" not in limit


def test_every_function_is_described_and_calls_a_read_function() -> None:
    functions = package_schema()["functions"]
    assert set(functions) == {invoke.token for invoke in INVOKES}
    for invoke in INVOKES:
        function = functions[invoke.token]
        assert function["description"].strip()
        parameters = inspect.signature(invoke.call).parameters
        for name, (keyword, _, text) in invoke.args.items():
            assert keyword in parameters and text.strip() and name == wire_names([keyword])[keyword]
        for spec in function["outputs"]["properties"].values():
            assert spec["description"].strip()
    for spec in package_schema()["types"].values():
        assert spec["description"].strip() and all(p["description"].strip() for p in spec["properties"].values())


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
