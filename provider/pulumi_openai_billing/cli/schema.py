"""Print the Pulumi package schema of every resource (``schema.json``), generated from the pydantic models,
or its Markdown reference (``docs/reference.md``). Both are committed and checked current by the tests."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from typing import Any, cast

from pydantic import BaseModel

from .._api import config
from .._version import __version__
from ..resources import TYPE_MODULE, type_token

PACKAGE = TYPE_MODULE


def _kinds() -> list[Any]:
    from ..resources import KINDS

    return sorted(KINDS, key=lambda kind: kind.name)


def _json_type(schema: Mapping[str, Any]) -> dict[str, Any]:
    """A pydantic JSON-schema fragment as a Pulumi type spec (nullable unions collapse to their type)."""
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    chosen = options[0] if options else {"type": "string"}
    if "enum" in chosen or "const" in chosen:
        return {"type": "string"}
    if chosen.get("type") == "array":
        items = cast(Mapping[str, Any], chosen.get("items") or {"type": "string"})
        return {"type": "array", "items": _json_type(items)}
    values = chosen.get("additionalProperties")
    if chosen.get("type") == "object" and isinstance(values, Mapping):
        return {"type": "object", "additionalProperties": _json_type(values)}
    return {"type": chosen.get("type", "string")}


def _properties(model: type[BaseModel], notes: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    schema = model.model_json_schema(mode="serialization")
    result = {}
    for name, field in model.model_fields.items():
        spec = _json_type(schema["properties"][name])
        text = " ".join([field.description or "", *notes.get(name, [])]).strip()
        spec["description"] = text
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        if isinstance(default, (str, bool, int, float)):
            spec["default"] = default
        result[name] = spec
    return result


def _resource(kind: Any, description: str) -> dict[str, Any]:
    notes: dict[str, list[str]] = {}
    for name in kind.inputs.model_fields:
        if name.endswith("_usd"):
            notes.setdefault(name, []).append("Accepts a number or a string; state holds the two-decimal string.")
    inputs = _properties(kind.inputs, notes)
    for name in kind.secret_inputs:
        inputs[name]["secret"] = True
    for name in kind.replace_on:
        inputs[name]["willReplaceOnChanges"] = True
    outputs = {
        **inputs,
        **_properties(kind.outputs, {}),
        "organization": {"type": "string", "description": "The organization the resource was made in."},
        "schema_version": {"type": "integer", "description": "The version of this output shape."},
    }
    required_inputs = sorted(n for n, f in kind.inputs.model_fields.items() if f.is_required())
    always = [n for n, f in kind.inputs.model_fields.items() if f.is_required() or f.default is not None]
    never_null = [n for n, s in kind.outputs.model_json_schema()["properties"].items() if not _nullable(s)]
    return {
        "description": description,
        "inputProperties": inputs,
        "requiredInputs": required_inputs,
        "properties": outputs,
        "required": sorted({*always, *never_null, "organization", "schema_version"}),
    }


def _nullable(schema: dict[str, Any]) -> bool:
    return any(option.get("type") == "null" for option in schema.get("anyOf", []))


def _doc(cls: type) -> str:
    import inspect

    return inspect.cleandoc(cls.__doc__ or "")


def package_schema() -> dict[str, Any]:
    """The Pulumi package schema of every resource and component, derived from the models."""
    import pulumi_openai_billing as package

    from ..resources.budget import BudgetInputs

    resources: dict[str, Any] = {}
    for kind in _kinds():
        description = _doc(getattr(package, kind.name))
        description += f"\n\nRuntime type token: `{type_token(kind.name)}`."
        if kind.capability:
            description += " Experimental: billing extension only (not api.openai.com)."
        resources[f"{PACKAGE}:index:{kind.name}"] = _resource(kind, description)
    budget_inputs = _properties(BudgetInputs, {"monthly_budget_usd": ["Accepts a number or a string."]})
    resources[f"{PACKAGE}:index:Budget"] = {
        "isComponent": True,
        "description": _doc(package.Budget),
        "inputProperties": budget_inputs,
        "requiredInputs": sorted(n for n, f in BudgetInputs.model_fields.items() if f.is_required()),
        "properties": {},
    }
    return {
        "name": PACKAGE,
        "displayName": "OpenAI Billing",
        "version": __version__,
        "description": "OpenAI billing as code: spend limits and alerts (Admin API), payment methods, auto-reload "
        "and prepaid credits (billing extension), as Pulumi dynamic resources for Python.",
        "license": "Apache-2.0",
        "keywords": ["openai", "billing", "finops", "category/utility"],
        "language": {"python": {"packageName": "pulumi_openai_billing"}},
        "meta": {"moduleFormat": "(.*)"},
        "config": {
            "variables": {
                setting.key: {
                    "type": setting.type,
                    "description": f"{setting.doc} Environment fallback: {setting.env}.",
                    **({"secret": True} if setting.key == "adminKey" else {}),
                }
                for setting in config.SETTINGS
            }
        },
        "resources": resources,
    }


def schema_json() -> str:
    return json.dumps(package_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _type_text(spec: dict[str, Any]) -> str:
    if spec["type"] == "array":
        return f"list of {_type_text(spec['items'])}"
    if "additionalProperties" in spec:
        return f"map of {_type_text(spec['additionalProperties'])}"
    return str(spec["type"])


def reference_markdown(schema: dict[str, Any]) -> str:
    """``docs/reference.md``, from the schema alone."""
    lines = [
        f"# `{schema['name']}` reference",
        "",
        "Generated from `schema.json` (itself generated from the pydantic models): do not edit by hand; run",
        "`scripts/regen` (or `openai-billing schema --format markdown > docs/reference.md`).",
        "",
        "## Settings",
        "",
        "| stack config | type | description |",
        "|---|---|---|",
    ]
    for name, spec in sorted(schema["config"]["variables"].items()):
        secret = " (secret)" if spec.get("secret") else ""
        lines.append(f"| `{schema['name']}:{name}` | {spec['type']}{secret} | {_cell(spec['description'])} |")
    resources = schema["resources"]
    for section, components in (("Resources", False), ("Components", True)):
        lines += ["", f"## {section}"]
        for token in sorted(t for t, r in resources.items() if bool(r.get("isComponent")) == components):
            resource = resources[token]
            lines += ["", f"### `{token.rsplit(':', 1)[-1]}`", "", resource["description"], "", "Inputs:", ""]
            lines += ["| name | type | required | default | description |", "|---|---|---|---|---|"]
            for name, spec in sorted(resource["inputProperties"].items()):
                marks = [m for m, k in (("secret", "secret"), ("replaces", "willReplaceOnChanges")) if spec.get(k)]
                default = f"`{json.dumps(spec['default'])}`" if "default" in spec else ""
                required = "yes" if name in resource.get("requiredInputs", []) else ""
                text = _cell(spec["description"]) + (f" ({', '.join(marks)})" if marks else "")
                lines.append(f"| `{name}` | {_type_text(spec)} | {required} | {default} | {text} |")
            computed = {n: s for n, s in resource["properties"].items() if n not in resource["inputProperties"]}
            if computed:
                lines += ["", "Outputs (besides every input):", "", "| name | type | description |", "|---|---|---|"]
                for name, spec in sorted(computed.items()):
                    lines.append(f"| `{name}` | {_type_text(spec)} | {_cell(spec['description'])} |")
    return "\n".join(lines) + "\n"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("json", "markdown"), default="json")


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_json() if args.format == "json" else reference_markdown(package_schema()))
    return 0
