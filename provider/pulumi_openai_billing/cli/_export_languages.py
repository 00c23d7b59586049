"""What `openai-billing export --language yaml|typescript|go` writes: one list of declarations (name, kind, the
inputs by model field) that ``export`` reads from the account, rendered for the provider plugin (type tokens
``openai-billing:index:<Kind>``, the schema's camelCase names through :func:`~..resources.wire_names`, each value as
the schema types it), and the import files of the same resources (:data:`IMPORT_IDS`).

Names come from the kinds' input models and types from the schema (itself derived from them): a new field needs no
change here, and a new kind only a row in :data:`IMPORT_IDS` once ``export`` declares it. Python's dynamic
resources cannot be imported (pulumi/pulumi#16175), so ``--language python`` writes no import files.
"""

from __future__ import annotations

import json
import math
import re
import shlex
import textwrap
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml

from .._api.fields import ORGANIZATION
from .._version import __version__
from ..resources import KINDS, Kind, wire_names
from ..schema import PACKAGE, package_schema

LANGUAGES = ("python", "yaml", "typescript", "go")
"""``--language``'s choices; python (the default) is ``export``'s own emitter."""

PULUMI_VERSION = "3.216.0"
"""The oldest Pulumi SDK a generated program asks for (any later 3.x)."""

_KINDS: dict[str, Kind] = {kind.name: kind for kind in KINDS}


# -- the resources to declare ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Declaration:
    """One resource of the program: its name, its kind (a name of ``resources.KINDS``) and its inputs by model
    field, in the order the program lists them, valued as the Python program writes them (``enabled_tiers``
    may be ``"all"``: :func:`wire_inputs` gives each value its schema type)."""

    name: str
    kind: str
    inputs: Mapping[str, object]

    def __post_init__(self) -> None:
        kind = _KINDS.get(self.kind)
        if kind is None:
            raise ValueError(f"{self.kind} is not a resource kind")
        unknown = set(self.inputs) - set(kind.inputs.model_fields)
        if unknown:
            raise ValueError(f"{self.kind} has no input {', '.join(sorted(unknown))}")

    @property
    def token(self) -> str:
        """The plugin's type token: ``openai-billing:index:OrganizationSpendLimit``."""
        return f"{PACKAGE}:index:{self.kind}"


@dataclass(frozen=True)
class Section:
    """Declarations under one heading (``The organization``, ``Project 'Team A' (proj_…)``)."""

    title: str
    declarations: tuple[Declaration, ...]


IMPORT_IDS: dict[str, str] = {
    "OrganizationSpendLimit": ORGANIZATION,
    "ProjectSpendLimit": "{project_id}",
    "OrganizationSpendAlert": "{adopt_alert_id}",
    "ProjectSpendAlert": "{project_id}/{adopt_alert_id}",
    "ProjectModelPermissions": "{project_id}",
    "ProjectHostedTools": "{project_id}",
    "ProjectServiceTiers": "{project_id}",
    "ProjectRateLimit": "{project_id}/{model}",
}
"""The id ``pulumi import`` takes for each kind ``export`` declares: what the kind's read reads (the id its create
returns). ``{field}`` is the declaration's input: ``organization`` for the organization's limit, ``proj_…`` for a
project's limit, model policy, tool switches and tiers, the alert's own id (``alert_…``) for an organization alert
and ``proj_…/alert_…`` for a project's, ``proj_…/<model>`` for a rate limit."""


def import_id(kind: str, inputs: Mapping[str, object]) -> str:
    """The id ``pulumi import`` takes for a resource of ``kind`` declared with ``inputs`` (see :data:`IMPORT_IDS`)."""
    if kind not in IMPORT_IDS:
        raise ValueError(f"no import id rule for {kind}: add it to IMPORT_IDS")
    return IMPORT_IDS[kind].format_map(inputs)


@cache
def _schema() -> dict[str, Any]:
    return package_schema()


def wire_inputs(declaration: Declaration) -> list[tuple[str, object, dict[str, Any]]]:
    """``(schema name, value as the schema types it, type spec)`` of each input, in the declaration's order."""
    names = wire_names(_KINDS[declaration.kind].inputs.model_fields)
    specs = _schema()["resources"][declaration.token]["inputProperties"]
    return [
        (names[field], _typed(value, specs[names[field]]), specs[names[field]])
        for field, value in declaration.inputs.items()
    ]


def _typed(value: object, spec: Mapping[str, Any]) -> object:
    """A lone value where the schema wants a list (``"all"`` for every tier) is that one-item list."""
    if spec["type"] == "array":
        return list(value) if isinstance(value, (list, tuple)) else [value]
    return value


# -- text helpers shared with the Python emitter ---------------------------------------------------------

LINE = 88
"""ruff's default line length (generated Python is checked where no configuration applies): every generated
comment fits in it."""


def text_width(text: str) -> int:
    """Columns ``text`` takes, as ruff measures them (a wide character takes two)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def comment(text: str, indent: str = "", mark: str = "#") -> list[str]:
    """``text`` as ``mark`` comment lines within :data:`LINE`; a character that is not printable is escaped (a
    line break never ends the comment early)."""
    text = "".join(c if c.isprintable() else repr(c)[1:-1] for c in text)
    width = LINE - text_width(indent) - len(mark) - 1
    for narrower in range(width, width // 2, -1):
        lines = textwrap.wrap(text, narrower, break_long_words=False, break_on_hyphens=False)
        if all(text_width(line) <= width for line in lines):
            break
    return [f"{indent}{mark} {line}" for line in lines]


def _comments(sentences: Sequence[str], indent: str = "", mark: str = "#") -> list[str]:
    return [line for sentence in sentences for line in comment(sentence, indent, mark)]


_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _quoted(text: str, astral: str) -> str:
    """A double-quoted Go or TypeScript string: printable characters as they are, the others escaped (``astral``
    formats a code point past U+FFFF)."""
    parts = []
    for c in text:
        if c in _ESCAPES:
            parts.append(_ESCAPES[c])
        elif c.isprintable():
            parts.append(c)
        else:
            parts.append(f"\\u{ord(c):04x}" if ord(c) <= 0xFFFF else astral.format(ord(c)))
    return '"' + "".join(parts) + '"'


def _all(sections: Sequence[Section]) -> Iterator[Declaration]:
    return (declaration for section in sections for declaration in section.declarations)


def _dump_yaml(data: Mapping[str, Any], header: Sequence[str] = ()) -> str:
    return "".join(f"{line}\n" for line in _comments(header)) + yaml.safe_dump(
        dict(data), sort_keys=False, allow_unicode=True
    )


def _dump_json(data: Mapping[str, Any]) -> str:
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


@dataclass(frozen=True)
class Program:
    """What every renderer reads: the Pulumi.yaml fields but the runtime, the header's sentences, the sections."""

    project: Mapping[str, Any]
    header: Sequence[str]
    sections: Sequence[Section]
    sdk_go: Path | None = None
    """A checkout's ``sdk/go`` (the Go SDK is not published): go.mod points the SDK's module there."""


# -- Pulumi YAML ------------------------------------------------------------------------------------------


def _yaml(program: Program) -> dict[str, str]:
    resources = {
        d.name: {"type": d.token, "properties": {name: value for name, value, _ in wire_inputs(d)}}
        for d in _all(program.sections)
    }
    return {"Pulumi.yaml": _dump_yaml({**program.project, "runtime": "yaml", "resources": resources}, program.header)}


# -- TypeScript -------------------------------------------------------------------------------------------


def _ts_key(name: str) -> str:
    return name if re.fullmatch(r"[A-Za-z_$][\w$]*", name) else _ts_value(name)


def _ts_value(value: object) -> str:
    if isinstance(value, str):
        return _quoted(value, "\\u{{{:x}}}")
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_ts_value(item) for item in value) + "]"
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_ts_key(str(k))}: {_ts_value(v)}" for k, v in value.items()) + "}"
    raise TypeError(f"no TypeScript literal for {value!r}")


def _typescript(program: Program) -> dict[str, str]:
    sdk = _schema()["language"]["nodejs"]["packageName"]
    lines = [*_comments(program.header, mark="//"), "", f"import * as billing from {_ts_value(sdk)};"]
    for section in program.sections:
        lines += ["", *comment(section.title, mark="//")]
        for d in section.declarations:
            lines.append(f"new billing.{d.kind}({_ts_value(d.name)}, {{")
            lines += [f"    {_ts_key(name)}: {_ts_value(value)}," for name, value, _ in wire_inputs(d)]
            lines.append("});")
    name = re.sub(r"^[._]+", "", str(program.project["name"]).lower()) or "openai-billing"
    package = {
        "name": name,
        "private": True,
        "main": "index.ts",
        "devDependencies": {"@types/node": "^20", "typescript": "^5.0.0"},
        "dependencies": {"@pulumi/pulumi": f"^{PULUMI_VERSION}", sdk: __version__},
    }
    options = {
        "strict": True,
        "outDir": "bin",
        "target": "es2020",
        "module": "commonjs",
        "moduleResolution": "node",
        "sourceMap": True,
        "forceConsistentCasingInFileNames": True,
    }
    return {
        "Pulumi.yaml": _dump_yaml({**program.project, "runtime": "nodejs"}),
        "index.ts": "\n".join(lines) + "\n",
        "package.json": _dump_json(package),
        "tsconfig.json": _dump_json({"compilerOptions": options, "files": ["index.ts"]}),
    }


# -- Go ---------------------------------------------------------------------------------------------------

_GO_TYPES = {"string": "String", "boolean": "Bool", "integer": "Int", "number": "Float64"}
"""The ``pulumi.<Type>`` wrapper of each schema type; lists are ``<Type>Array``, maps ``<Type>Map``."""


def _go_string(text: str) -> str:
    return _quoted(text, "\\U{:08x}")


def _go_scalar(value: object, kind: str) -> str:
    if kind == "string" and isinstance(value, str):
        literal = _go_string(value)
    elif kind == "boolean" and isinstance(value, bool):
        literal = "true" if value else "false"
    elif kind == "integer" and isinstance(value, int) and not isinstance(value, bool):
        literal = str(value)
    elif kind == "number" and isinstance(value, (int, float)) and not isinstance(value, bool):
        literal = repr(float(value))
    else:
        raise TypeError(f"{value!r} is not a {kind}")
    return f"pulumi.{_GO_TYPES[kind]}({literal})"


def _go_value(value: object, spec: Mapping[str, Any]) -> str:
    """``pulumi.String("a")``, ``pulumi.StringArray{pulumi.String("a")}``, ``pulumi.IntMap{"a": pulumi.Int(1)}``…"""
    kind = spec["type"]
    if kind in _GO_TYPES:
        return _go_scalar(value, kind)
    items = spec.get("items") if kind == "array" else spec.get("additionalProperties")
    if not isinstance(items, Mapping) or items.get("type") not in _GO_TYPES:
        raise TypeError(f"no Go wrapper for the schema type {dict(spec)}")
    wrapper = f"pulumi.{_GO_TYPES[items['type']]}"
    if kind == "array" and isinstance(value, (list, tuple)):
        return f"{wrapper}Array{{{', '.join(_go_value(item, items) for item in value)}}}"
    if kind == "object" and isinstance(value, Mapping):
        pairs = (f"{_go_string(str(k))}: {_go_value(v, items)}" for k, v in value.items())
        return f"{wrapper}Map{{{', '.join(pairs)}}}"
    raise TypeError(f"{value!r} is not a {kind}")


def _go_fields(fields: Sequence[tuple[str, str]], indent: str) -> list[str]:
    """``Key: value,`` lines as gofmt lays them out (go/printer's exprList): the values in one column, which a key
    is kept out of when it or the key before it is longer than 40 characters and it is 2.5 times longer or
    shorter than the geometric mean of the keys of the column so far."""
    runs: list[list[str]] = []
    for key, _ in fields:
        if runs and ((len(key) <= 40 and len(runs[-1][-1]) <= 40) or _near(len(key), runs[-1])):
            runs[-1].append(key)
        else:
            runs.append([key])
    column = {key: max(map(len, run)) + 2 for run in runs for key in run}
    return [f"{indent}{(key + ':').ljust(column[key])}{value}," for key, value in fields]


def _near(size: int, run: Sequence[str]) -> bool:
    ratio = size / math.exp(sum(math.log(len(key)) for key in run) / len(run))
    return not (2.5 * ratio <= 1 or ratio >= 2.5)


def _go_declaration(d: Declaration, package: str) -> list[str]:
    fields = [(name[:1].upper() + name[1:], _go_value(value, spec)) for name, value, spec in wire_inputs(d)]
    args = f"&{package}.{d.kind}Args{{"
    opening = f"\t\tif _, err := {package}.New{d.kind}(ctx, {_go_string(d.name)}, {args}"
    if not fields:
        return [f"{opening}}}); err != nil {{", "\t\t\treturn err", "\t\t}"]
    return [opening, *_go_fields(fields, "\t\t\t"), "\t\t}); err != nil {", "\t\t\treturn err", "\t\t}"]


def _go_version() -> str:
    """This package's version as a Go module version (``v0.0.0`` where it is not plain semver)."""
    return f"v{__version__}" if re.fullmatch(r"\d+\.\d+\.\d+", __version__) else "v0.0.0"


def _go(program: Program) -> dict[str, str]:
    sdk = str(_schema()["language"]["go"]["importBasePath"])
    package = sdk.rsplit("/", 1)[-1]
    declared = any(_all(program.sections))
    imports = sorted([*([sdk] if declared else []), "github.com/pulumi/pulumi/sdk/v3/go/pulumi"])
    lines = [*_comments(program.header, mark="//"), "", "package main", "", "import ("]
    lines += [f'\t"{path}"' for path in imports]
    lines += [")", "", "func main() {", "\tpulumi.Run(func(ctx *pulumi.Context) error {"]
    for number, section in enumerate(program.sections):
        lines += [*([""] if number else []), *comment(section.title, "\t\t", "//")]
        for d in section.declarations:
            lines += _go_declaration(d, package)
    lines += ["\t\treturn nil", "\t})", "}"]
    module = str(program.project["name"]).strip(".-_") or "openai-billing"
    sdk_module = sdk.rsplit("/", 1)[0]
    go_mod = [
        f"module {module}",
        "",
        "go 1.24",
        "",
        "require (",
        f"\t{sdk_module} {_go_version()}",
        f"\tgithub.com/pulumi/pulumi/sdk/v3 v{PULUMI_VERSION}",
        ")",
    ]
    if program.sdk_go is not None:
        go_mod += ["", "// The SDK is not published: the checkout this package was installed from.", ""]
        go_mod += [f"replace {sdk_module} => {_go_string(str(program.sdk_go))}"]
    return {
        "Pulumi.yaml": _dump_yaml({**program.project, "runtime": "go"}),
        "main.go": "\n".join(lines) + "\n",
        "go.mod": "\n".join(go_mod) + "\n",
    }


# -- import files -----------------------------------------------------------------------------------------


def import_files(sections: Sequence[Section]) -> dict[str, str]:
    """``import.json`` (what ``pulumi import --file`` reads) and ``import.sh`` (one ``pulumi import`` a resource):
    the program's resources, for a stack that imports them rather than adopts them."""
    resources = [{"type": d.token, "name": d.name, "id": import_id(d.kind, d.inputs)} for d in _all(sections)]
    script = [
        "#!/bin/sh",
        *comment(
            "Imports the program's resources into the selected stack instead of adopting them (run it here, after "
            "`pulumi stack init` and the stack's settings); `pulumi import --file import.json --yes` does the same "
            "at once. pulumi import protects what it imports unless given --protect=false."
        ),
        "set -e",
        *(" ".join(["pulumi import", *map(shlex.quote, (r["type"], r["name"], r["id"])), "--yes"]) for r in resources),
    ]
    return {"import.json": _dump_json({"resources": resources}), "import.sh": "\n".join(script) + "\n"}


RENDERERS: dict[str, Callable[[Program], dict[str, str]]] = {"yaml": _yaml, "typescript": _typescript, "go": _go}
"""File name -> text of the program of each language but python (``export``'s own)."""


def render(language: str, program: Program) -> dict[str, str]:
    """The program's files in ``language`` and its import files."""
    return {**RENDERERS[language](program), **import_files(program.sections)}
