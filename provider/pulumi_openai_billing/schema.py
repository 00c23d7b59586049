"""The Pulumi package schema of every resource, component and function (``schema.json``), derived from the
pydantic models, and its Markdown reference (``docs/reference.md``).

Property names follow Pulumi's conventions (camelCase: ``monthlyLimitUsd``); each maps to exactly one model
field (``monthly_limit_usd``), the keyword the Python dynamic classes take. The provider plugin and the
generated SDKs speak these names; :func:`~pulumi_openai_billing.resources.wire_names` is the one mapping
between the two spellings.
"""

from __future__ import annotations

import dataclasses
import functools
import inspect
import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from pydantic import BaseModel, TypeAdapter
from pydantic.alias_generators import to_camel

from . import functions
from ._api import config
from ._version import __version__
from .resources import KINDS, TYPE_MODULE, Kind, type_token, wire_names

PACKAGE = TYPE_MODULE
AMOUNT_NOTE = (
    'Dollars as a decimal string ("750.00"); YAML and Python also take a number. State holds the two-decimal string.'
)


@functools.cache
def _field_words() -> re.Pattern[str]:
    from .resources.budget import BudgetInputs

    models = [BudgetInputs, *(model for kind in KINDS for model in (kind.inputs, kind.outputs))]
    names = {name for model in models for name in model.model_fields if "_" in name}
    return re.compile(r"\b(" + "|".join(sorted(names, key=len, reverse=True)) + r")\b")


def schema_words(text: str) -> str:
    """Text as programs in every language read it: each model field named as the schema names it
    (``monthly_limit_usd`` → ``monthlyLimitUsd``)."""
    return _field_words().sub(lambda match: to_camel(match.group(0)), text)


def _in_schema_words(node: Any) -> Any:
    if isinstance(node, dict):
        return {k: schema_words(v) if k == "description" else _in_schema_words(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_in_schema_words(item) for item in node]
    return node


def _json_type(schema: Mapping[str, Any], definitions: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """A pydantic JSON-schema fragment as a Pulumi type spec (nullable unions collapse to their type)."""
    if "$ref" in schema and definitions is not None:
        schema = definitions[schema["$ref"].rsplit("/", 1)[-1]]
    options = [s for s in schema.get("anyOf", [schema]) if s.get("type") != "null"]
    chosen = options[0] if options else {"type": "string"}
    if "enum" in chosen or "const" in chosen:
        return {"type": "string"}
    if chosen.get("type") == "array":
        items = cast(Mapping[str, Any], chosen.get("items") or {"type": "string"})
        return {"type": "array", "items": _json_type(items, definitions)}
    values = chosen.get("additionalProperties")
    if chosen.get("type") == "object" and isinstance(values, Mapping):
        return {"type": "object", "additionalProperties": _json_type(values, definitions)}
    return {"type": chosen.get("type", "string")}


def _properties(model: type[BaseModel], notes: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    schema = model.model_json_schema(mode="serialization")
    names = wire_names(model.model_fields)
    result = {}
    for name, field in model.model_fields.items():
        spec = _json_type(schema["properties"][name], schema.get("$defs"))
        text = " ".join([field.description or "", *notes.get(name, [])]).strip()
        spec["description"] = text
        default = None if field.is_required() else field.get_default(call_default_factory=True)
        if isinstance(default, (str, bool, int, float)):
            spec["default"] = default
        result[names[name]] = spec
    return result


def _required(model: type[BaseModel]) -> list[str]:
    names = wire_names(model.model_fields)
    return sorted(names[n] for n, f in model.model_fields.items() if f.is_required())


def _resource(kind: Kind, description: str) -> dict[str, Any]:
    notes: dict[str, list[str]] = {}
    for name in kind.inputs.model_fields:
        if name.endswith("_usd"):
            notes.setdefault(name, []).append(AMOUNT_NOTE)
    names = wire_names(kind.inputs.model_fields)
    inputs = _properties(kind.inputs, notes)
    for name in kind.secret_inputs:
        inputs[names[name]]["secret"] = True
    for name in kind.replace_on:
        inputs[names[name]]["willReplaceOnChanges"] = True
    outputs = {
        **inputs,
        **_properties(kind.outputs, {}),
        "organization": {"type": "string", "description": "The organization the resource was made in."},
        "schemaVersion": {"type": "integer", "description": "The version of this output shape."},
    }
    output_names = wire_names(kind.outputs.model_fields)
    always = [names[n] for n, f in kind.inputs.model_fields.items() if f.is_required() or f.default is not None]
    never_null = [
        output_names[n] for n, s in kind.outputs.model_json_schema()["properties"].items() if not _nullable(s)
    ]
    return {
        "description": description,
        "inputProperties": inputs,
        "requiredInputs": _required(kind.inputs),
        "properties": outputs,
        "required": sorted({*always, *never_null, "organization", "schemaVersion"}),
    }


def _nullable(schema: dict[str, Any]) -> bool:
    return any(option.get("type") == "null" for option in schema.get("anyOf", []))


def _doc(item: Any) -> str:
    return inspect.cleandoc(item.__doc__ or "")


@dataclass(frozen=True)
class Invoke:
    """One read function served to every language: the Python function it calls, its arguments (schema name →
    keyword, type, description) and what its result's fields mean."""

    name: str
    call: Callable[..., Any]
    args: Mapping[str, tuple[str, str, str]]
    required: tuple[str, ...]
    result: type
    fields: Mapping[str, str]
    many: str | None = None
    """The result's property holding the list, for a function that returns several."""
    optional: bool = False
    """The function may find nothing: the result then says ``exists: false`` and nothing else."""

    @property
    def token(self) -> str:
        return f"{PACKAGE}:index:{self.name}"

    @property
    def item_type(self) -> str:
        return f"{PACKAGE}:index:{self.result.__name__}"


_PROJECT_ARG = ("project_id", "string", "The project (proj_…); omitted, the organization.")
_PROJECT_FIELDS = {
    "id": "The project's id (proj_…).",
    "name": "The project's name.",
    "status": "active or archived.",
    "created_at": "When the project was made (Unix seconds).",
    "archived_at": "When the project was archived (Unix seconds), if it was.",
}
_ALERT_FIELDS = {
    "id": "The alert's id.",
    "project_id": "The project the alert watches; absent for the organization's.",
    "threshold_usd": "The amount that triggers the alert, in dollars (two-decimal string).",
    "threshold_cents": "The same amount in cents.",
    "recipients": "Who is e-mailed.",
    "subject_prefix": "The e-mail subject's prefix, if any.",
}
_LIMIT_FIELDS = {
    "project_id": "The project the limit caps; absent for the organization's.",
    "monthly_limit_usd": "The monthly limit in dollars (two-decimal string).",
    "monthly_limit_cents": "The same limit in cents.",
    "currency": "Always USD.",
    "interval": "Always month.",
    "enforcement_status": "Whether OpenAI is enforcing the limit now.",
    "notify_recipients": "Who is e-mailed, besides the owners, when the limit is reached.",
    "notify_subject_prefix": "The notification's subject prefix, if any.",
}
INVOKES: tuple[Invoke, ...] = (
    Invoke(
        "getProject",
        functions.get_project,
        {
            "name": ("name", "string", "The project's name: exactly one active project must have it."),
            "id": ("id", "string", "The project's id (proj_…), instead of its name."),
            "includeArchived": ("include_archived", "boolean", "Whether archived projects match too."),
        },
        (),
        functions.ProjectInfo,
        _PROJECT_FIELDS,
    ),
    Invoke(
        "listProjects",
        functions.list_projects,
        {"includeArchived": ("include_archived", "boolean", "Whether archived projects are listed too.")},
        (),
        functions.ProjectInfo,
        _PROJECT_FIELDS,
        many="projects",
    ),
    Invoke(
        "getSpendLimit",
        functions.get_spend_limit,
        {"projectId": _PROJECT_ARG},
        (),
        functions.SpendLimit,
        _LIMIT_FIELDS,
        optional=True,
    ),
    Invoke(
        "listSpendAlerts",
        functions.list_spend_alerts,
        {"projectId": _PROJECT_ARG},
        (),
        functions.SpendAlert,
        _ALERT_FIELDS,
        many="alerts",
    ),
    Invoke(
        "getApiKey",
        functions.get_api_key,
        {
            "projectId": ("project_id", "string", "The project the key belongs to (proj_…)."),
            "name": ("name", "string", "The key's name: exactly one key of the project must have it."),
        },
        ("projectId", "name"),
        functions.ApiKey,
        {
            "id": "The key's id (key_…).",
            "project_id": "The project the key belongs to.",
            "name": "The key's name.",
            "redacted_value": "The key as the dashboard shows it (never its secret).",
            "created_at": "When the key was made (Unix seconds).",
            "last_used_at": "When the key was last used (Unix seconds), if it was.",
            "owner_type": "user or service_account.",
            "monthly_limit_usd": "The key's own monthly limit in dollars, if it has one.",
        },
    ),
)
"""The read functions every language can call (``fn::invoke`` in YAML); Python programs call
:mod:`pulumi_openai_billing.functions` directly."""


def _result_properties(invoke: Invoke) -> dict[str, dict[str, Any]]:
    schema = TypeAdapter(invoke.result).json_schema(mode="serialization")
    names = wire_names(invoke.fields)
    if set(invoke.fields) != {f.name for f in dataclasses.fields(invoke.result)}:
        raise ValueError(f"{invoke.name}: describe exactly the fields of {invoke.result.__name__}")
    return {
        names[name]: {**_json_type(schema["properties"][name]), "description": text}
        for name, text in invoke.fields.items()
    }


def _function(invoke: Invoke) -> dict[str, Any]:
    inputs = {name: {"type": kind, "description": text} for name, (_, kind, text) in invoke.args.items()}
    if invoke.many:
        outputs = {
            invoke.many: {
                "type": "array",
                "items": {"$ref": f"#/types/{invoke.item_type}"},
                "description": f"Every match, as {invoke.result.__name__}.",
            }
        }
        required = [invoke.many]
    else:
        outputs = _result_properties(invoke)
        schema = TypeAdapter(invoke.result).json_schema(mode="serialization")
        names = wire_names(invoke.fields)
        required = sorted(names[n] for n in schema.get("required", []) if not _nullable(schema["properties"][n]))
        if invoke.optional:
            outputs["exists"] = {"type": "boolean", "description": "False when there is none (then nothing else)."}
            required = ["exists"]
    return {
        "description": _doc(invoke.call),
        "inputs": {"properties": inputs, "required": list(invoke.required)},
        "outputs": {"properties": outputs, "required": required},
    }


def package_schema() -> dict[str, Any]:
    """The Pulumi package schema of every resource, component and function, derived from the models."""
    import pulumi_openai_billing as package

    from .resources.budget import BudgetInputs

    resources: dict[str, Any] = {}
    for kind in sorted(KINDS, key=lambda kind: kind.name):
        description = _doc(getattr(package, kind.name))
        if kind.capability:
            description += " Experimental: billing extension only (not api.openai.com)."
        resources[f"{PACKAGE}:index:{kind.name}"] = _resource(kind, description)
    resources[f"{PACKAGE}:index:Budget"] = {
        "isComponent": True,
        "description": _doc(package.Budget),
        "inputProperties": _properties(BudgetInputs, {"monthly_budget_usd": [AMOUNT_NOTE]}),
        "requiredInputs": _required(BudgetInputs),
        "properties": {},
    }
    settings = {
        setting.key: {
            "type": setting.type,
            "description": f"{setting.doc} Environment fallback: {setting.env}.",
            **({"secret": True} if setting.key == "adminKey" else {}),
        }
        for setting in config.SETTINGS
    }
    types = {
        invoke.item_type: {
            "type": "object",
            "description": _doc(invoke.result) or f"One {invoke.result.__name__}.",
            "properties": _result_properties(invoke),
        }
        for invoke in INVOKES
        if invoke.many
    }
    schema = {
        "name": PACKAGE,
        "displayName": "OpenAI Billing",
        "version": __version__,
        "description": "OpenAI billing as code: spend limits and alerts, project cost controls (Admin API), payment "
        "methods, auto-reload and prepaid credits (billing extension).",
        "license": "Apache-2.0",
        "keywords": ["openai", "billing", "finops", "category/utility"],
        "language": {
            "nodejs": {"packageName": "@pulumi-openai-billing/sdk", "respectSchemaVersion": True},
            "go": {
                "importBasePath": "github.com/pulumi-openai-billing/pulumi-openai-billing/sdk/go/openaibilling",
                "generateResourceContainerTypes": False,
                "respectSchemaVersion": True,
            },
            "python": {"packageName": "pulumi_openai_billing_sdk", "respectSchemaVersion": True},
        },
        "meta": {"moduleFormat": "(.*)"},
        "config": {"variables": settings},
        "provider": {
            "description": "The openai-billing provider: one OpenAI organization, reached with an admin key.",
            "inputProperties": settings,
        },
        "resources": resources,
        "functions": {invoke.token: _function(invoke) for invoke in INVOKES},
        "types": types,
    }
    return dict(_in_schema_words(schema))


def schema_json() -> str:
    return json.dumps(package_schema(), indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _cell(text: Any) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def _type_text(spec: dict[str, Any]) -> str:
    if "$ref" in spec:
        return str(spec["$ref"]).rsplit(":", 1)[-1]
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
            name = token.rsplit(":", 1)[-1]
            python = f"Python: `pulumi_openai_billing.{name}`, its keywords in snake_case"
            if not components:
                python += f" (a dynamic resource, type `{type_token(name)}`)"
            lines += ["", f"### `{name}`", "", resource["description"], "", python + ".", "", "Inputs:", ""]
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
    lines += ["", "## Functions", "", "Invokes for every language (`fn::invoke` in YAML)."]
    for token, function in sorted(schema["functions"].items()):
        lines += ["", f"### `{token.rsplit(':', 1)[-1]}`", "", function["description"]]
        for title, part in (("Arguments", "inputs"), ("Result", "outputs")):
            lines += ["", f"{title}:", "", "| name | type | description |", "|---|---|---|"]
            for name, spec in sorted(function[part]["properties"].items()):
                lines.append(f"| `{name}` | {_type_text(spec)} | {_cell(spec['description'])} |")
    for token, spec in sorted(schema["types"].items()):
        lines += ["", f"### `{token.rsplit(':', 1)[-1]}`", "", spec["description"], ""]
        lines += ["| name | type | description |", "|---|---|---|"]
        for name, prop in sorted(spec["properties"].items()):
            lines.append(f"| `{name}` | {_type_text(prop)} | {_cell(prop['description'])} |")
    return "\n".join(lines) + "\n"
