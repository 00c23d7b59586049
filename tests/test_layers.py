"""The arrows between the package's modules point one way (docs/architecture.md): a test reads every module's
imports into one graph and fails on any cycle and on any arrow a layer may not draw, so a new upward import fails
here instead of growing a knot."""

from __future__ import annotations

import ast
import functools
from collections import deque
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from importlib.util import resolve_name
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "provider" / "pulumi_openai_billing"
NAME = PACKAGE.name
ROOT = "__init__"
"""The package root's name in the graph: ``from .. import get_costs`` is an arrow to the public surface."""

EVERY_LAYER = ("_version", "errors")
"""Modules every layer may import: they import nothing of the package themselves (the rules below hold them to
it), so no arrow to them can point up."""

MAY_IMPORT: dict[str, tuple[str, ...]] = {
    "_api": ("_api", *EVERY_LAYER),
    "model": ("model", "_api", *EVERY_LAYER),
    "resources": ("resources", "_api", "model", "providers", *EVERY_LAYER),
    "sandbox": ("sandbox", "_api.endpoints", "_api.cards"),
    **{module: () for module in EVERY_LAYER},
}
"""What a layer's modules may import, each name standing for the module and everything under it: the library
nothing above it; the model only the library; the resources their own generated ``providers`` but never a tool;
the sandbox (the [sandbox] extra) nothing of the provider but what the client shares with it, the endpoints as
the throttle counts them and the one rule for card numbers. Other modules are held to ``TOP`` and to no cycle."""

TOP = "cli"
"""The commands: nothing outside them imports them (a command may use another command's module)."""

LOADERS = ("import_module", "__import__")
"""Calls that import a module named by a string: a hidden import is still an arrow."""

Module = tuple[str, ...]
"""A module's place in the package, ``("resources", "top_up")``; ``()`` is the package root."""


def _modules() -> dict[Module, Path]:
    """Every module of the package (a subpackage is its ``__init__.py``)."""
    found = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE).with_suffix("").parts
        found[parts[:-1] if parts[-1] == "__init__" else parts] = path
    return found


MODULES = _modules()


def _name(module: Module) -> str:
    return ".".join(module) or ROOT


def _parse(source: str) -> ast.Module:
    """``ast.parse`` on a thread of its own: CPython 3.11.7 can leave a thread's AST recursion counter wrong after
    other tests (the engine's threads), and every later parse on that thread then fails with a SystemError."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(ast.parse, source).result()


def _inside(dotted: str) -> Module | None:
    """``pulumi_openai_billing.resources.top_up`` as a module of the package; None for anything else."""
    if dotted != NAME and not dotted.startswith(NAME + "."):
        return None
    return tuple(dotted.split(".")[1:])


def _loaded(call: ast.Call, package: str) -> Module | None:
    """The module an ``import_module("…")`` (or ``__import__``) call names by a literal, relative names resolved
    against a literal anchor or ``__package__``."""
    func = call.func
    called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
    if called not in LOADERS or not call.args:
        return None
    first = call.args[0]
    if not isinstance(first, ast.Constant) or not isinstance(first.value, str):
        return None
    if not first.value.startswith("."):
        return _inside(first.value)
    anchor = call.args[1] if len(call.args) > 1 else next((k.value for k in call.keywords if k.arg == "package"), None)
    if isinstance(anchor, ast.Name) and anchor.id == "__package__":
        return _inside(resolve_name(first.value, package))
    if isinstance(anchor, ast.Constant) and isinstance(anchor.value, str):
        return _inside(resolve_name(first.value, anchor.value))
    return None


def _imported_from(base: Module, name: str) -> Module:
    """``from base import name``: the submodule ``name`` when there is one, else ``base`` (the package root for
    ``from .. import get_costs``)."""
    submodule = (*base, name)
    return submodule if submodule in MODULES else base


def _arrows(module: Module, tree: ast.Module, *, is_package: bool) -> set[Module]:
    """The package's modules ``module`` imports, wherever the import stands (in a function too: a deferred import
    is still an arrow). Importing ``a.b.c`` also runs ``a`` and ``a.b``, so those are arrows too, except the
    packages ``module`` lies in (they are already running)."""
    package = ".".join((NAME, *(module if is_package else module[:-1])))
    named: set[Module] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            named.update(m for alias in node.names if (m := _inside(alias.name)) is not None)
        elif isinstance(node, ast.ImportFrom):
            source = "." * node.level + (node.module or "")
            base = _inside(resolve_name(source, package) if node.level else source)
            if base is not None:
                named.update(_imported_from(base, alias.name) for alias in node.names)
        elif isinstance(node, ast.Call) and (loaded := _loaded(node, package)) is not None:
            named.add(loaded)
    arrows = set(named)
    for target in named:
        arrows.update(target[:i] for i in range(1, len(target)) if module[:i] != target[:i])
    return arrows - {module}


@functools.cache
def _graph() -> Mapping[str, frozenset[str]]:
    """Every module of the package, by name, and the names of the modules it imports."""
    return {
        _name(module): frozenset(
            _name(target) for target in _arrows(module, _parse(path.read_text()), is_package=path.name == "__init__.py")
        )
        for module, path in MODULES.items()
    }


def _within(module: str, tree: str) -> bool:
    return module == tree or module.startswith(tree + ".")


def _shortest_cycle(graph: Mapping[str, frozenset[str]], start: str) -> list[str] | None:
    """A shortest cycle from ``start`` back to it, or None; an arrow to no module (the graph test names it) leads
    nowhere."""
    paths = {start: [start]}
    todo = deque([start])
    while todo:
        module = todo.popleft()
        for target in sorted(graph.get(module, ())):
            if target == start:
                return [*paths[module], start]
            if target not in paths:
                paths[target] = [*paths[module], target]
                todo.append(target)
    return None


def _cycles(graph: Mapping[str, frozenset[str]]) -> list[list[str]]:
    """A shortest cycle through each module that lies on one (a knot may tie several), each written once, from its
    first module in name order."""
    found = set()
    for module in graph:
        cycle = _shortest_cycle(graph, module)
        if cycle:
            ring = cycle[:-1]
            first = ring.index(min(ring))
            found.add((*ring[first:], *ring[:first]))
    return [[*ring, ring[0]] for ring in sorted(found, key=lambda ring: (len(ring), ring))]


def test_the_reader_sees_every_form_of_import() -> None:
    source = """
import importlib
import pulumi_openai_billing.sandbox.throttle as throttle
from pulumi_openai_billing import policy, __version__
from .. import get_costs, testing
from .._api import config
from ..model.config import BillingConfig
from . import _io

def later() -> None:
    from ..account import read_account
    importlib.import_module("pulumi_openai_billing.functions")
    importlib.import_module("..providers", __package__)
    importlib.import_module(".demo", package="pulumi_openai_billing.cli")
"""
    arrows = {_name(m) for m in _arrows(("cli", "export"), _parse(source), is_package=False)}
    assert arrows == {
        "sandbox.throttle", "sandbox", "policy", ROOT, "testing", "_api.config", "_api", "model.config", "model",
        "cli._io", "account", "functions", "providers", "cli.demo",
    }  # fmt: skip


def test_the_graph_holds_every_module_and_every_arrow_lands_on_one() -> None:
    graph = _graph()
    assert len(graph) == len(list(PACKAGE.rglob("*.py")))
    top = {"account", "functions", "providers", "testing", "policy", "errors", "_version", "_plugin_launcher"}
    assert {ROOT, "_api", "model", "resources", "cli", "sandbox", *top} <= set(graph)
    assert {f"{m} -> {t}" for m, targets in graph.items() for t in targets if t not in graph} == set()


def test_no_import_cycle() -> None:
    cycles = _cycles(_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


@pytest.mark.parametrize("layer", sorted(MAY_IMPORT))
def test_a_layer_imports_only_what_it_may(layer: str) -> None:
    """An arrow to a package whose module a layer may import is allowed: importing the module runs it."""
    graph = _graph()
    members = [m for m in graph if _within(m, layer)]
    assert members, f"no module {layer}"
    allowed = MAY_IMPORT[layer]
    wrong = {
        f"{m} -> {t}" for m in members for t in graph[m] if not any(_within(t, a) or _within(a, t) for a in allowed)
    }
    assert not wrong


def test_nothing_outside_the_commands_imports_them() -> None:
    graph = _graph()
    wrong = {f"{m} -> {t}" for m, targets in graph.items() if not _within(m, TOP) for t in targets if _within(t, TOP)}
    assert not wrong


def test_nothing_but_resources_spells_a_type_token() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "resources" not in path.parts:
            assert "dynamic/openai-billing" not in path.read_text(), path
