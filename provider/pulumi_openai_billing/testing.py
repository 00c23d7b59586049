"""Run billing programs under Pulumi's real engine: for your own tests (as moto is for AWS) and for the demo.

:class:`Stack` drives a program through Pulumi's Automation API on a local file backend with a passphrase
secrets provider. Every step is the Pulumi CLI's own: check, diff, resource options, dependency order,
pending operations, refresh and destroy. Nothing here plans or applies a deployment; it only reads the
engine's events and state to say what each step did, per resource, with old → new values.

Example (pytest)::

    stack = Stack("examples/quickstart", config={"openai-billing:baseUrl": url,
                                                 "openai-billing:adminKey": key})
    assert set(stack.up().ops().values()) == {"create"}
    assert stack.preview().changed() == {}

The program is a folder with a ``__main__.py`` (its ``Pulumi.yaml`` is used when present) or a Python
function: it runs in this process, as an Automation API inline program, and the provider in the plugin the
engine starts (``pulumi-resource-pulumi-python``, i.e. ``python -m pulumi.dynamic``). A folder whose
``Pulumi.yaml`` says ``runtime: yaml`` runs under the YAML language host, its resources served by
``pulumi-resource-openai-billing`` from beside this interpreter.
"""

from __future__ import annotations

import json
import os
import re
import runpy
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import weakref
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ._api.config import scrub
from .errors import BillingError

PULUMI_CLI_VERSION = "v3.276.0"
"""The Pulumi CLI the set-up builds when none is on PATH (scripts/_pulumi.sh reads it from here)."""
SECRET_MARKER = "[secret]"
DEFAULT_PASSPHRASE = "pulumi-openai-billing-testing"
"""Encrypts the secrets of test stacks: they live in a throwaway backend, never in a shared one."""
_PROVIDER_KEY = "__provider"
_SECRET_KEYS = ("openai-billing:adminKey",)
_STACK_TYPE = "pulumi:pulumi:Stack"
_REPLACE_OPS = frozenset({"replace", "create-replacement", "delete-replaced"})
_MARKER = "OPENAI_BILLING_TESTING_STACK"
ENGINE_EXIT_SECONDS = 30.0
"""How long a step cut short waits for the Pulumi CLI to cancel (and stop its plugins) before it is killed."""


class EngineNotFound(BillingError, RuntimeError):
    """No Pulumi CLI to run programs with; the message says how to get one."""


class DeploymentError(BillingError, RuntimeError):
    """A step failed; ``errors`` has one line per failed resource (or for the step), the engine's message."""

    def __init__(self, step: str, errors: list[str], result: StepResult | None = None) -> None:
        self.step = step
        self.errors = errors
        self.result = result
        super().__init__(f"{step} failed:\n" + "\n".join(f"  {e}" for e in errors))


def cache_root() -> Path:
    """Where the set-up builds the pinned Pulumi CLI: outside any checkout, so it outlives ``.venv``."""
    base = os.environ.get("OPENAI_BILLING_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.expanduser("~/.cache"), "pulumi-openai-billing"
    )
    return Path(base) / f"pulumi-{PULUMI_CLI_VERSION}"


def pulumi_root() -> Path:
    """The installation whose ``bin/pulumi`` runs programs: yours on PATH first, else the one the set-up
    built (``scripts/test`` and ``scripts/demo`` build it when neither exists)."""
    found = shutil.which("pulumi")
    if found:
        return Path(found).resolve().parent.parent
    built = cache_root()
    if (built / "bin" / "pulumi").exists():
        return built
    raise EngineNotFound(
        "no Pulumi CLI: install it (https://www.pulumi.com/docs/install/), or run scripts/test or scripts/demo "
        f"from a checkout of pulumi-openai-billing, which build {PULUMI_CLI_VERSION} with Go"
    )


@contextmanager
def sandbox_process(admin_key: str, *args: str) -> Iterator[str]:
    """A sandbox in a process of its own (``openai-billing sandbox`` with ``args``), as a user runs it: yields
    its base URL and stops it on the way out. The key reaches it through the environment, never the command
    line."""
    process = subprocess.Popen(
        [sys.executable, "-m", "pulumi_openai_billing.cli", "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env={**os.environ, "OPENAI_ADMIN_KEY": admin_key},
        text=True,
    )
    try:
        assert process.stdout is not None
        base_url = process.stdout.readline().strip()
        if not base_url.startswith("http"):
            raise RuntimeError(f"the sandbox did not start (it printed {base_url[:200]!r})")
        yield base_url
    finally:
        process.terminate()
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


# -- what a step did -------------------------------------------------------------------------------------


def _short(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, sort_keys=True)


@dataclass
class Change:
    """What a step did (or, for ``preview``, would do) to one resource.

    ``op`` is create, update, replace, delete, same (or the engine's read, import, discard). ``values`` maps each
    changed property to ``(old, new)``; secrets are ``"[secret]"`` on both sides. ``old`` and ``new`` are the
    engine's states (``id``, ``inputs``, ``outputs``, ``protect``, ``retain_on_delete``) before and after."""

    op: str
    type: str
    urn: str
    values: dict[str, tuple[Any, Any]] = field(default_factory=dict)
    replaced_by: list[str] = field(default_factory=list)
    old: dict[str, Any] | None = field(default=None, repr=False)
    new: dict[str, Any] | None = field(default=None, repr=False)

    @property
    def name(self) -> str:
        return self.urn.rsplit("::", 1)[-1]

    @property
    def kind(self) -> str:
        """The type's last part: ``OrganizationSpendLimit``, ``Budget``…"""
        return self.type.rsplit(":", 1)[-1].rsplit("/", 1)[-1]

    @property
    def properties(self) -> list[str]:
        """The changed property names, sorted."""
        return sorted(self.values)

    @property
    def retained(self) -> bool:
        """A delete that leaves the live object in place: ``on_delete="retain"`` or ``retain_on_delete``."""
        if self.op != "delete" or self.old is None:
            return False
        outputs = self.old.get("outputs") or {}
        on_delete = outputs.get("on_delete", outputs.get("onDelete"))  # Python's name, or the plugin's
        return bool(self.old.get("retain_on_delete")) or on_delete == "retain"

    @property
    def label(self) -> str:
        """The op as a person reads it: a retained delete says it keeps the live object, and why."""
        if not self.retained:
            return self.op
        return "kept (retain_on_delete)" if (self.old or {}).get("retain_on_delete") else "kept (on_delete=retain)"

    def describe(self) -> str:
        """One line: ``update OrganizationSpendLimit org-limit  monthly_limit_usd: 9000.00 → 5000.00``."""
        detail = ", ".join(f"{k}: {_short(old)} → {_short(new)}" for k, (old, new) in sorted(self.values.items()))
        return f"{self.label} {self.kind} {self.name}" + (f"  {detail}" if detail else "")


@dataclass(frozen=True)
class Violation:
    """One policy pack finding: the policy, its enforcement level, the resource (name) and the message."""

    policy: str
    enforcement: str
    resource: str
    message: str


@dataclass
class StepResult:
    """One step's changes by resource name (custom resources; components are in ``components``), the stack's
    exports, the engine's own counts, and every warning it printed."""

    step: str
    changes: dict[str, Change]
    exports: dict[str, Any] = field(repr=False)
    counts: dict[str, int] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list, repr=False)
    components: dict[str, Change] = field(default_factory=dict, repr=False)
    order: list[tuple[str, str]] = field(default_factory=list, repr=False)
    """``(op, name)`` of every completed step, components included, in the order the engine finished them."""
    preview_json: dict[str, Any] | None = field(default=None, repr=False)
    """For ``preview``: what ``pulumi preview --json`` printed (plan-report reads it)."""
    violations: list[Violation] = field(default_factory=list)
    """What policy packs (``policy_packs=[...]``) reported."""

    def ops(self) -> dict[str, str]:
        return {name: change.op for name, change in self.changes.items()}

    def changed(self) -> dict[str, Change]:
        """Only the resources the step changes (everything but ``same``)."""
        return {name: c for name, c in self.changes.items() if c.op != "same"}

    def to_preview_json(self) -> dict[str, Any]:
        if self.preview_json is None:
            raise ValueError(f"{self.step} has no preview JSON: only preview() records it")
        return self.preview_json

    def summary(self) -> str:
        """A line per changed resource with its old → new values, then the counts (``2 to create, 4 unchanged``)."""
        lines = [f"  {change.describe()}" for change in self.changed().values()]
        counts: dict[str, int] = {}
        for change in self.changes.values():
            op = "keep" if change.retained else change.op
            counts[op] = counts.get(op, 0) + 1
        words = [
            f"{n} to {op}" if self.step == "preview" else f"{n} {_PAST.get(op, op)}"
            for op, n in sorted(counts.items())
            if op != "same"
        ]
        lines.append("  " + ", ".join([*words, f"{counts.get('same', 0)} unchanged"]))
        return "\n".join(lines)


_PAST = {"create": "created", "update": "updated", "replace": "replaced", "delete": "deleted", "keep": "kept"}


def _state(meta: Any) -> dict[str, Any] | None:
    if meta is None:
        return None
    return {
        "id": meta.id,
        "inputs": dict(meta.inputs or {}),
        "outputs": dict(meta.outputs or {}),
        "protect": bool(meta.protect),
        "retain_on_delete": bool(meta.retain_on_delete),
        "parent": meta.parent,
    }


_SECRET_SIG = "4dabf18193072939515e22adb298388d"


def _shown(value: Any) -> Any:
    """Secret values as the engine prints them."""
    if isinstance(value, dict) and _SECRET_SIG in value:
        return SECRET_MARKER
    return value


def _revealed(value: Any) -> Any:
    """A value of ``stack export --show-secrets`` with its secrets decoded."""
    if isinstance(value, dict):
        if _SECRET_SIG in value and "plaintext" in value:
            return _revealed(json.loads(value["plaintext"]))
        return {k: _revealed(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_revealed(v) for v in value]
    return value


def _values(step: str, op: str, old: dict[str, Any] | None, new: dict[str, Any] | None) -> dict[str, tuple[Any, Any]]:
    """Changed properties with old and new values: declared inputs for a change the program asks for, every
    output for what refresh found."""
    if op in ("create", "delete", "same", "read") or old is None or new is None:
        return {}
    if step == "refresh":
        before, after = old["outputs"], new["outputs"]
    else:
        before = {**old["inputs"], **{k: v for k, v in old["outputs"].items() if k in new["inputs"]}}
        after = new["inputs"]
    keys = (set(before) | set(after)) - {_PROVIDER_KEY}
    return {
        k: (_shown(before.get(k)), _shown(after.get(k)))
        for k in sorted(keys)
        if _shown(before.get(k)) != _shown(after.get(k)) and (step == "refresh" or k in after)
    }


class _Recorder:
    """Collects one step's engine events (they arrive on the Automation API's reader thread)."""

    def __init__(self, step: str) -> None:
        self.step = step
        self.planned: dict[str, list[Any]] = {}
        self.done: dict[str, list[Any]] = {}
        self.order: list[tuple[str, str]] = []
        self.errors: list[tuple[str | None, str]] = []
        self.warnings: list[str] = []
        self.counts: dict[str, int] = {}
        self.violations: list[Violation] = []
        self.log: Any = None

    def __call__(self, event: Any) -> None:
        if self.log is not None and event.diagnostic_event is not None:
            self.log.write(f"{event.diagnostic_event.severity}: {event.diagnostic_event.message}")
        if event.resource_pre_event is not None:
            meta = event.resource_pre_event.metadata
            self.planned.setdefault(meta.urn, []).append(meta)
        elif event.res_outputs_event is not None:
            meta = event.res_outputs_event.metadata
            self.done.setdefault(meta.urn, []).append(meta)
            if not _engine_own(meta.type):
                self.order.append((_op(meta.op), _name(meta.urn)))
        elif event.diagnostic_event is not None:
            diag = event.diagnostic_event
            text = scrub(_plain_text(diag.message))
            if diag.severity == "error" and text:
                self.errors.append((diag.urn, text))
            elif diag.severity == "warning" and text:
                self.warnings.append(text)
        elif event.policy_event is not None:
            policy = event.policy_event
            self.violations.append(
                Violation(
                    policy.policy_name,
                    policy.enforcement_level,
                    _name(policy.resource_urn) if policy.resource_urn else "",
                    " ".join(_plain_text(policy.message).split()),
                )
            )
        elif event.summary_event is not None:
            self.counts = {_op(k): v for k, v in event.summary_event.resource_changes.items()}

    def result(self, exports: dict[str, Any], preview_json: dict[str, Any] | None = None) -> StepResult:
        steps = self.planned if self.step == "preview" else self.done
        changes: dict[str, Change] = {}
        components: dict[str, Change] = {}
        for urn, metas in steps.items():
            first = metas[0]
            if _engine_own(first.type):
                continue
            ops = [_op(m.op) for m in metas]
            op = "replace" if _REPLACE_OPS & set(ops) else ops[-1]
            old = next((_state(m.old) for m in metas if m.old is not None), None)
            new = next((_state(m.new) for m in reversed(metas) if m.new is not None), None)
            if self.step == "refresh" and op == "refresh":
                op = "same"
            keys = next((list(m.keys or []) for m in metas if m.keys and op == "replace"), [])
            change = Change(op, first.type, urn, _values(self.step, op, old, new), sorted(keys), old, new)
            (changes if _is_custom(metas) else components)[change.name] = change
        return StepResult(
            self.step,
            changes,
            exports,
            self.counts,
            self.warnings,
            components,
            self.order,
            preview_json,
            self.violations,
        )


def _json_or_none(printed: list[str]) -> dict[str, Any] | None:
    """What ``preview --json`` printed (when it failed: the steps so far and the diagnostics that stopped it)."""
    try:
        printed_json: dict[str, Any] = json.loads("\n".join(printed))
        return printed_json
    except ValueError:
        return None


def _cli_error(exc: Exception) -> str:
    """What the CLI printed from its first ``error:`` line on (a step that failed before any resource did)."""
    text = scrub(str(getattr(exc, "stderr", "") or exc))
    lines = [line for line in text.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.lstrip().startswith("error:")), 0)
    return "\n".join(lines[start:]).strip().removeprefix("error: ") or "the step failed"


def _engine_own(type_: str) -> bool:
    """The stack itself and providers: the engine's bookkeeping, not the program's resources."""
    return type_ == _STACK_TYPE or type_.startswith("pulumi:providers:")


def _op(op: Any) -> str:
    """An engine operation's name (the Automation API gives an ``OpType``, or a string it does not know)."""
    return str(getattr(op, "value", op))


def _is_custom(metas: list[Any]) -> bool:
    return any(bool((m.new or m.old) and (m.new or m.old).custom) for m in metas)


def _name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _plain_text(message: str) -> str:
    """A diagnostic without colour codes or trailing space."""
    return re.sub(r"<\{%[a-z]*%\}>|\x1b\[[0-9;]*m", "", message).strip()


def _forget_modules_under(directory: Path) -> None:
    """Drop the program's own modules after a run, so the next step runs their declarations again (as a new
    ``pulumi`` process would) and another program's same-named module never stands in for them."""
    root = directory.resolve()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().is_relative_to(root):
            del sys.modules[name]


# -- programs ----------------------------------------------------------------------------------------------


class Stack:
    """A program, its config and its stack on a local file backend, stepped by Pulumi's engine.

    ``backend_dir`` keeps the state (and the workspace) between :class:`Stack` objects: a second object for the
    same folder, project and stack continues where the first stopped, as ``pulumi`` does across runs. Without
    it, a temporary folder is used and removed by :meth:`close`. ``env`` is set for the engine, the provider
    plugin and, while a step runs, the program. ``secret_config_keys`` are set as secrets (encrypted in state).
    """

    def __init__(
        self,
        program: str | os.PathLike[str] | Callable[[], None],
        *,
        config: Mapping[str, str] | None = None,
        stack: str = "test",
        project: str | None = None,
        backend_dir: str | os.PathLike[str] | None = None,
        env: Mapping[str, str] | None = None,
        secret_config_keys: tuple[str, ...] = _SECRET_KEYS,
        passphrase: str = DEFAULT_PASSPHRASE,
        log_file: str | os.PathLike[str] | None = None,
    ) -> None:
        """``log_file``, when given, collects everything each step prints and every engine diagnostic."""
        from pulumi import automation as auto

        self.log_file = Path(log_file) if log_file else None
        self.backend_dir = Path(backend_dir or tempfile.mkdtemp(prefix="openai-billing-stack-")).resolve()
        self.backend_dir.mkdir(parents=True, exist_ok=True)
        # A temporary backend goes with the object (or at exit), even when nobody calls close().
        self._remove = weakref.finalize(self, shutil.rmtree, self.backend_dir, True) if backend_dir is None else None
        self.env = dict(env or {})
        self.stack_name = stack
        self._program: Callable[[], None] | None
        if callable(program):
            self.program_dir: Path | None = None
            self._program = program
            project_yaml = None
        else:
            self.program_dir = Path(program).resolve()
            found = self.program_dir / "Pulumi.yaml"
            project_yaml = found.read_text() if found.exists() else None
            if (self.program_dir / "__main__.py").exists():
                self._program = self._run_folder
            elif _project(project_yaml).get("runtime") == "yaml":
                self._program = None  # the CLI runs it, with the YAML language host
            else:
                raise FileNotFoundError(f"{self.program_dir} has no __main__.py (nor a Pulumi.yaml of runtime: yaml)")
        self.project = project or _project(project_yaml).get("name") or "openai-billing-test"
        work = self.backend_dir / "workspaces" / self.project
        work.mkdir(parents=True, exist_ok=True)
        if self._program is None and self.program_dir is not None:
            shutil.copytree(self.program_dir, work, dirs_exist_ok=True)
        if project_yaml is None or (project is not None and self._program is not None):
            project_yaml = f"name: {self.project}\nruntime: python\n"
        (work / "Pulumi.yaml").write_text(_with_plugins(project_yaml, self.project, self.backend_dir / "plugins"))
        root = pulumi_root()
        # Every process of this stack's engine carries it, so a step cut short ends exactly what it started.
        self._marker = secrets.token_hex(8)
        engine_env = {
            _MARKER: self._marker,
            "PULUMI_BACKEND_URL": f"file://{self.backend_dir / 'state'}",
            "PULUMI_CONFIG_PASSPHRASE": passphrase,
            "PULUMI_SKIP_UPDATE_CHECK": "true",
            "PULUMI_DISABLE_AUTOMATIC_PLUGIN_ACQUISITION": "true",
            "PULUMI_DIY_BACKEND_NO_LEGACY_WARNING": "true",
            # The launcher starts the dynamic-provider plugin with this interpreter, so it has this package.
            "PATH": os.pathsep.join([str(Path(sys.executable).parent), str(root / "bin"), os.environ.get("PATH", "")]),
            **({"PULUMI_RUNTIME_VIRTUALENV": sys.prefix} if sys.prefix != sys.base_prefix else {}),
            **self.env,
        }
        (self.backend_dir / "state").mkdir(exist_ok=True)
        self._workspace = auto.LocalWorkspace(
            work_dir=str(work),
            pulumi_home=str(self.backend_dir / "home"),
            program=self._program,
            env_vars=engine_env,
            secrets_provider="passphrase",
            pulumi_command=auto.PulumiCommand(root=str(root)),
        )
        with self._engine():
            self._stack = auto.Stack.create_or_select(stack, self._workspace)
        if config:
            self.set_config(config, secret_config_keys)

    # -- set-up ------------------------------------------------------------------------------------------
    def set_config(
        self, config: Mapping[str, str], secret_keys: tuple[str, ...] = ("openai-billing:adminKey",)
    ) -> None:
        """Set stack config, as ``pulumi config set [--secret]`` does; ``None`` removes a key."""
        from pulumi import automation as auto

        with self._engine():
            for key, value in config.items():
                if value is None:
                    self._stack.remove_config(key)
            self._stack.set_all_config(
                {k: auto.ConfigValue(str(v), secret=k in secret_keys) for k, v in config.items() if v is not None}
            )

    def close(self) -> None:
        """Remove the temporary backend now (a ``backend_dir`` you passed is left as it is)."""
        if self._remove is not None:
            self._remove()

    def __enter__(self) -> Stack:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _run_folder(self) -> None:
        assert self.program_dir is not None
        folder = str(self.program_dir)
        sys.path.insert(0, folder)
        try:
            runpy.run_path(str(self.program_dir / "__main__.py"), run_name="__main__")
        finally:
            sys.path.remove(folder)
            _forget_modules_under(self.program_dir)

    @contextmanager
    def _program_env(self) -> Iterator[None]:
        """The program runs in this process: it sees ``env`` while a step runs, as the plugin does."""
        saved = {k: os.environ.get(k) for k in self.env}
        os.environ.update(self.env)
        try:
            yield
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value

    @contextmanager
    def _engine(self) -> Iterator[None]:
        """Nothing a CLI call starts outlives it: when the call is cut short (Ctrl-C, a timeout, any exception),
        the Pulumi CLI is given :data:`ENGINE_EXIT_SECONDS` to cancel and stop its plugins (Ctrl-C already
        reached it from the terminal; otherwise it is interrupted here), then it and they are killed."""
        try:
            yield
        except BaseException as exc:
            _end_processes(self._marker, interrupt=not isinstance(exc, KeyboardInterrupt))
            raise

    # -- steps -------------------------------------------------------------------------------------------
    def preview(self, **options: Any) -> StepResult:
        """What ``up`` would do (``pulumi preview``); ``options`` are the Automation API's (``target=[urn]``…)."""
        return self._step("preview", options)

    def up(self, **options: Any) -> StepResult:
        return self._step("up", options)

    def refresh(self, **options: Any) -> StepResult:
        """Read every resource; what changed is reported with old → new values and recorded in state."""
        return self._step("refresh", options)

    def destroy(self, **options: Any) -> StepResult:
        return self._step("destroy", options)

    def _step(self, step: str, options: dict[str, Any]) -> StepResult:
        from pulumi.automation.errors import CommandError

        from .resources._step import forget_steps

        forget_steps()  # the program runs in this process: it must see the account as a new one would
        recorder = _Recorder(step)
        run = getattr(self._stack, step)
        if step == "preview":
            options.setdefault("json", True)
        log = self.log_file.open("a") if self.log_file else None
        printed: list[str] = []

        def on_output(line: str) -> None:
            printed.append(line)
            if log is not None:
                log.write(line + "\n")

        options.setdefault("on_output", on_output)
        if log is not None:
            options.setdefault("on_error", lambda line: log.write(line + "\n"))
            recorder.log = log
        try:
            with self._program_env(), self._engine():
                run(on_event=recorder, color="never", **options)
        except CommandError as exc:
            errors = self._errors(recorder, exc)
            raise DeploymentError(step, errors, recorder.result({}, _json_or_none(printed))) from None
        finally:
            if log is not None:
                log.close()
        preview_json = _json_or_none(printed) if step == "preview" and options.get("json") else None
        exports = self.exports() if step != "preview" else {}
        return recorder.result(exports, preview_json)

    @staticmethod
    def _errors(recorder: _Recorder, exc: Exception) -> list[str]:
        """One line per failed resource: the engine's message, without the resource's type and name prefix."""
        lines = []
        for urn, text in recorder.errors:
            if urn:
                name = _name(urn)
                for prefix in (f"resource '{name}' has a problem: ", f"resource '{name}': "):
                    if prefix in text:
                        text = text.split(prefix, 1)[1]
                lines.append(f"{name}: {text}")
        lines += [
            f"{v.resource or 'stack'}: {v.policy}: {v.message}"
            for v in recorder.violations
            if v.enforcement == "mandatory"
        ]
        if not lines:
            general = [text for urn, text in recorder.errors if not urn and text != "update failed"]
            lines = general or [_cli_error(exc)]
        return lines

    # -- state -------------------------------------------------------------------------------------------
    def export(self, *, show_secrets: bool = False) -> dict[str, Any]:
        """The stack's state, as ``pulumi stack export [--show-secrets]`` prints it."""
        args = ["stack", "export", "--stack", self.stack_name] + (["--show-secrets"] if show_secrets else [])
        with self._engine():
            result = self._workspace._run_pulumi_cmd_sync(args)
        state: dict[str, Any] = json.loads(result.stdout)
        return state

    def state_file(self) -> Path:
        """The backend's state file for this stack (what a file backend keeps on disk)."""
        return self.backend_dir / "state" / ".pulumi" / "stacks" / self.project / f"{self.stack_name}.json"

    def _resources(self, show_secrets: bool) -> list[dict[str, Any]]:
        deployment = self.export(show_secrets=show_secrets).get("deployment", {})
        return [r for r in deployment.get("resources") or [] if r.get("custom") and not _engine_own(r["type"])]

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """The outputs of every resource in state, by name, secrets in plaintext (for assertions)."""
        return {_name(r["urn"]): _revealed(r.get("outputs") or {}) for r in self._resources(show_secrets=True)}

    def ids(self) -> dict[str, str]:
        return {_name(r["urn"]): r.get("id", "") for r in self._resources(show_secrets=False)}

    def urn(self, name: str) -> str:
        """The URN of the resource called ``name`` in state (for ``target=``)."""
        for r in self._resources(show_secrets=False):
            if _name(r["urn"]) == name:
                return str(r["urn"])
        raise KeyError(name)

    def exports(self) -> dict[str, Any]:
        with self._engine():
            return {key: value.value for key, value in self._stack.outputs().items()}

    def cli(self, *args: str) -> str:
        """Run another ``pulumi`` command on this stack (``state delete``, ``cancel``…); returns its output."""
        with self._engine():
            return self._workspace._run_pulumi_cmd_sync([*args, "--stack", self.stack_name]).stdout


def _end_processes(marker: str, *, interrupt: bool) -> None:
    """End the processes whose environment carries ``marker`` (a stack's CLI and plugins), as Ctrl-C would,
    then for good once :data:`ENGINE_EXIT_SECONDS` have passed."""
    import psutil

    def marked(process: psutil.Process) -> bool:
        try:
            return process.pid != os.getpid() and process.environ().get(_MARKER) == marker
        except (psutil.Error, OSError):
            return False

    started = [p for p in psutil.process_iter() if marked(p)]
    if interrupt:  # the CLI, which cancels its step and stops its plugins; a second Ctrl-C would abandon them
        for process in started:
            with suppress(psutil.Error):
                if process.ppid() == os.getpid():
                    process.send_signal(signal.SIGINT)
    _, alive = psutil.wait_procs(started, timeout=ENGINE_EXIT_SECONDS)
    for process in alive:
        with suppress(psutil.Error):
            process.kill()
    psutil.wait_procs(alive, timeout=5)


def _with_plugins(project_yaml: str, name: str, folder: Path) -> str:
    """The project, with the engine told where this package's plugins are (whichever Pulumi CLI runs it): the
    launcher of dynamic providers, which ends the plugin when the engine is gone, so no step leaves one behind;
    and ``pulumi-resource-openai-billing`` beside this interpreter, for programs in other languages."""
    folder.mkdir(parents=True, exist_ok=True)
    launcher = folder / "pulumi-resource-pulumi-python"
    shutil.copyfile(Path(__file__).with_name("_plugin_launcher.py"), launcher)
    launcher.chmod(0o755)
    project = {**_project(project_yaml), "name": name}
    providers = project.setdefault("plugins", {}).setdefault("providers", [])
    providers.append({"name": "pulumi-python", "path": str(folder)})
    here = Path(sys.executable).parent
    if (here / "pulumi-resource-openai-billing").exists():
        providers.append({"name": "openai-billing", "path": str(here)})
    import yaml

    return str(yaml.safe_dump(project, sort_keys=False))


def _project(text: str | None) -> dict[str, Any]:
    import yaml

    return dict(yaml.safe_load(text) or {}) if text else {}
