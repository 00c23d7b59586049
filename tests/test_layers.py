"""The arrows between the package's layers point one way (docs/architecture.md): a test reads every module's
imports, so a new upward import fails here instead of growing a knot."""

from __future__ import annotations

import ast
import re
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "provider" / "pulumi_openai_billing"

API = "_api"
"""The library layer: settings, the HTTP client and its pacing, exact money, shared field rules, the costs reader."""
MODEL = "model"
"""The pure billing model (a configuration and the month it produces), low enough for the guardrails."""


def _parse(path: Path) -> ast.Module:
    """``ast.parse`` on a thread of its own: CPython 3.11.7 can leave a thread's AST recursion counter wrong after
    other tests (the engine's threads), and every later parse on that thread then fails with a SystemError."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        return pool.submit(ast.parse, path.read_text()).result()


def _imports(path: Path) -> set[str]:
    """The package modules a module imports (top level of the package: ``resources``, ``_api``…)."""
    module = path.relative_to(PACKAGE).with_suffix("").parts
    found: set[str] = set()
    for node in ast.walk(_parse(path)):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = list(module[: len(module) - node.level])
            if path.name == "__init__.py":
                base = list(module[: len(module) - node.level + 1])
            parts = [*base, *(node.module.split(".") if node.module else [])]
            if parts:
                found.add(parts[0])
            else:  # ``from . import config``; ``__version__`` is the package's own
                found.update("__init__" if alias.name == "__version__" else alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("pulumi_openai_billing"):
            found.add((node.module or "").split(".")[1] if "." in (node.module or "") else "")
        elif isinstance(node, ast.Call) and getattr(node.func, "attr", "") == "import_module":
            arg = node.args[0] if node.args else None
            if isinstance(arg, ast.Constant) and str(arg.value).startswith("pulumi_openai_billing."):
                found.add(str(arg.value).split(".")[1])
    return found - {""}


def _modules(package: str) -> list[Path]:
    return sorted((PACKAGE / package).glob("*.py"))


def test_the_library_layer_imports_nothing_above_it() -> None:
    assert _modules(API)
    for path in _modules(API):
        assert _imports(path) <= {API, "__init__"}, path.name


def test_the_model_imports_only_the_library() -> None:
    assert _modules(MODEL)
    for path in _modules(MODEL):
        assert _imports(path) <= {API, MODEL}, path.name


def test_resources_never_import_a_tool() -> None:
    for path in _modules("resources"):
        assert _imports(path) <= {API, MODEL, "resources", "providers"}, path.name


def test_nothing_below_the_commands_imports_them() -> None:
    """A command may use another command's module (``export`` reuses ``whoami``'s message), nothing may use a
    command: the commands are the top."""
    for path in PACKAGE.rglob("*.py"):
        if "cli" not in path.relative_to(PACKAGE).parts:
            assert "cli" not in _imports(path), path


def test_the_sandbox_imports_nothing_of_the_provider_but_the_endpoint_names() -> None:
    """``endpoints`` and ``cards`` (no dependency) are shared: the client paces what the sandbox throttles, and both
    refuse card numbers by one rule."""
    for path in (PACKAGE / "sandbox").glob("*.py"):
        assert _imports(path) - {"sandbox"} <= {API}, path.name
        assert set(re.findall(r"from \.\._api\.(\w+)", path.read_text())) <= {"endpoints", "cards"}, path.name


def test_nothing_but_resources_spells_a_type_token() -> None:
    for path in PACKAGE.rglob("*.py"):
        if "resources" not in path.parts:
            assert "dynamic/openai-billing" not in path.read_text(), path
