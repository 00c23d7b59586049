"""What the installed (newest) openai SDK has that the sandbox and the provider lack: the fields of its spend-limit,
spend-alert, project, project API-key, project cost-control (model permissions, service tiers, rate limits) and cost
models, and its billing and cost-control operations under
``client.admin.organization``. Run by scripts/upstream under the newest SDK; exit 1 when the sandbox lacks any."""

from __future__ import annotations

import argparse
import ast
import contextlib
import importlib
import inspect
import json
import pkgutil
import re
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any
from urllib.parse import unquote

import openai
import tomllib
from openai._resource import SyncAPIResource
from pydantic import BaseModel
from wire_fields import answer_objects, model_paths, object_literal

MODELS = "openai.types.admin.organization"
FIELD_OBJECTS = re.compile(
    r"(spend_limit|spend_alert|project(\.service_account)?\.api_key|costs\.result|organization\.project"
    r"|model_permissions|service_tier_settings|rate_limit)$"
)
"""The ``object`` of the models compared field by field."""
BILLING = re.compile(r"spend|cost|budget|billing|credit|invoice|permission|tier|rate_limit|^(api_keys|projects)$")
"""A resource (its attribute name) or method (for ``usage.costs``) that bills or controls cost."""
PARAM = re.compile(r"\{[^}]*\}")
httpx: Any = importlib.import_module(openai.DefaultHttpxClient.__mro__[1].__module__.partition(".")[0])
"""The HTTP library the SDK is built on (httpx, or httpx2 in newer SDKs)."""


@dataclass(frozen=True)
class Row:
    what: str
    where: str
    sandbox: bool
    provider: bool


# -- the provider's source ----------------------------------------------------------------------------------


class _Strings(ast.NodeVisitor):
    """The strings the provider's code reads as keys (no docstring, no key of a dict it writes) and the pieces of
    every path it spells."""

    def __init__(self) -> None:
        self.keys: set[str] = set()
        self.segments: set[str] = set()
        self._skip: set[int] = set()

    def visit_Dict(self, node: ast.Dict) -> None:
        self._skip |= {id(k) for k in node.keys if k is not None}
        self.generic_visit(node)

    def visit_Expr(self, node: ast.Expr) -> None:
        self._skip.add(id(node.value))
        self.generic_visit(node)

    def visit_Constant(self, node: ast.Constant) -> None:
        if isinstance(node.value, str):
            self.segments |= set(node.value.split("/"))
            if id(node) not in self._skip:
                self.keys.add(node.value)


def provider_strings(package: Path) -> _Strings:
    strings = _Strings()
    for path in package.rglob("*.py"):
        if "sandbox" not in path.relative_to(package).parts and path.name != "demo.py":
            strings.visit(ast.parse(path.read_text()))
    return strings


# -- models -------------------------------------------------------------------------------------------------


def sdk_models() -> dict[str, list[type[BaseModel]]]:
    """The SDK's models by the ``object`` they answer (FIELD_OBJECTS only), the likeliest module first."""
    found: dict[str, list[type[BaseModel]]] = {}
    package = importlib.import_module(MODELS)
    for info in pkgutil.walk_packages(package.__path__, MODELS + "."):
        module = importlib.import_module(info.name)
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, BaseModel) and cls.__module__ == module.__name__:
                obj = object_literal(cls)
                if obj and FIELD_OBJECTS.search(obj):
                    found.setdefault(obj, []).append(cls)
    for obj, classes in found.items():
        words = set(re.split(r"[._]", obj))
        classes.sort(key=lambda c: (not words & set(c.__module__.rsplit(".", 1)[-1].split("_")), c.__module__))
    return found


def field_rows(doc: dict[str, Any], strings: _Strings) -> list[Row]:
    answers = answer_objects(doc)
    rows = []
    for obj, classes in sorted(sdk_models().items()):
        paths: dict[str, type[BaseModel]] = {}
        for cls in classes:
            for path in model_paths(cls):
                paths.setdefault(path, cls)
        for path, cls in paths.items():
            where = f"{cls.__module__.removeprefix(MODELS + '.')}.{cls.__name__}"
            read = all(part in strings.keys for part in path.split("."))
            rows.append(Row(f"{obj}: {path}", where, path in answers.get(obj, set()), read))
    return rows


# -- operations ---------------------------------------------------------------------------------------------


def resources(resource: SyncAPIResource, chain: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], SyncAPIResource]]:
    yield chain, resource
    for name in sorted(n for cls in type(resource).__mro__ for n, v in vars(cls).items() if type(v) is cached_property):
        child = getattr(resource, name)
        if isinstance(child, SyncAPIResource):
            yield from resources(child, (*chain, name))


class _Sent(Exception):
    """Raised by the transport once it has recorded a request: nothing is sent."""


def request_of(method: Any, sent: list[Any]) -> tuple[str, str]:
    """The HTTP method and path template an SDK method sends, learnt by calling it with ``{name}`` for every
    required argument through a transport that records the request into ``sent`` and sends nothing."""
    sent.clear()
    required = {
        name: f"{{{name}}}"
        for name, p in inspect.signature(method).parameters.items()
        if p.default is inspect.Parameter.empty and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
    }
    with contextlib.suppress(Exception):
        method(**required)
    if not sent:
        return "?", "(the SDK sent no request)"
    return sent[0].method, unquote(sent[0].url.path).removeprefix("/v1")


def operation_rows(doc: dict[str, Any], strings: _Strings) -> list[Row]:
    served = {(m.upper(), PARAM.sub("{}", p.removeprefix("/v1"))) for p, ops in doc["paths"].items() for m in ops}
    sent: list[Any] = []

    def record(request: Any) -> Any:
        sent.append(request)
        raise _Sent

    client = openai.OpenAI(
        api_key="sk-none",
        admin_api_key="sk-admin-none",
        base_url="http://sdk.invalid/v1",
        max_retries=0,
        http_client=httpx.Client(transport=httpx.MockTransport(record)),
    )
    rows = []
    for chain, resource in resources(client.admin.organization, ()):
        methods = [n for n, _ in inspect.getmembers(type(resource), inspect.isfunction) if not n.startswith("_")]
        for name in methods:
            if not (chain and BILLING.search(chain[-1])) and not BILLING.search(name):
                continue
            verb, path = request_of(getattr(resource, name), sent)
            fixed = [s for s in path.split("/") if s and not PARAM.fullmatch(s)]
            served_here = (verb, PARAM.sub("{}", path)) in served
            named = bool(fixed) and fixed[-1] in strings.segments
            rows.append(Row(f"{verb} {path}", ".".join((*chain, name)), served_here, named))
    return rows


# -- report -------------------------------------------------------------------------------------------------


def table(title: str, rows: list[Row]) -> str:
    head = (title, "where in the SDK", "sandbox", "provider")
    cells = [head] + [(r.what, r.where, "yes" if r.sandbox else "NO", "yes" if r.provider else "no") for r in rows]
    widths = [max(len(c[i]) for c in cells) for i in range(4)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(cell, widths, strict=True)).rstrip() for cell in cells]
    return "\n".join([lines[0], "  ".join("-" * w for w in widths), *lines[1:]])


def locked_version(root: Path) -> str:
    lock = tomllib.loads((root / "uv.lock").read_text())
    return next((p["version"] for p in lock["package"] if p["name"] == "openai"), "not locked")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sandbox-openapi", type=Path, required=True, help="the sandbox's OpenAPI document (JSON)")
    parser.add_argument("--root", type=Path, required=True, help="the project's checkout")
    args = parser.parse_args(argv)
    doc = json.loads(args.sandbox_openapi.read_text())
    strings = provider_strings(args.root / "provider" / "pulumi_openai_billing")
    fields, operations = field_rows(doc, strings), operation_rows(doc, strings)
    print(f"Compared the newest openai SDK from PyPI, {openai.__version__} (uv.lock has {locked_version(args.root)}),")
    print("with the sandbox's OpenAPI document and the provider's code (outside sandbox/).")
    print("sandbox: it answers the field / serves the operation; provider: its code reads every key of the field")
    print("path / names the operation's last path segment.\n")
    print(table("model field (object: path)", fields) + "\n")
    print(table("operation", operations) + "\n")
    missing_fields = [r for r in fields if not r.sandbox]
    missing_ops = [r for r in operations if not r.sandbox]
    unread = [r for r in fields if not r.provider]
    print(
        f"openai {openai.__version__}: the sandbox lacks {len(missing_fields)} of {len(fields)} fields and "
        f"{len(missing_ops)} of {len(operations)} operations; the provider does not read {len(unread)} of the fields."
    )
    return 1 if missing_fields or missing_ops else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
