"""Run billing programs without the Pulumi CLI: for your own tests (like moto for AWS) and for the demo.

Two layers:

* :class:`Plugin` starts ``python -m pulumi.dynamic`` (the very server the Pulumi CLI starts for dynamic
  providers) and replays the engine's gRPC calls: Configure, Check, Diff, Create, Read, Update, Delete.
* :class:`Stack` runs a program directory (``__main__.py``) in this process with ``pulumi.runtime.set_mocks``,
  forwards every registration to a fresh :class:`Plugin` per step, and keeps a small JSON state between
  ``preview``, ``up``, ``refresh`` and ``destroy``. Each step returns what it would change or changed per
  resource. Secret values are kept in memory only; the state file holds ``"[secret]"`` in their place.

Example (pytest)::

    stack = Stack("examples/quickstart", config={"openai-billing:baseUrl": url,
                                                 "openai-billing:adminKey": key})
    assert stack.up().ops() == {"org-limit": "create", ...}
    assert stack.preview().changed() == {}
"""

from __future__ import annotations

import json
import logging
import os
import runpy
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2

from .config import scrub

SECRET_MARKER = "[secret]"
UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_PROVIDER_KEY = "__provider"
PARALLEL = 8
"""Operations a step keeps in flight, as the engine does (the plugin server itself runs 4 at a time)."""


class PluginError(RuntimeError):
    """A provider operation failed; the message is the provider's error, without the plugin's traceback."""


class _ReportedOnce(logging.Filter):
    """A failed registration is reported in the step's DeploymentError; the SDK's futures that carried the
    same PluginError are never awaited, and asyncio would print each again when they are collected."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], PluginError))


logging.getLogger("asyncio").addFilter(_ReportedOnce())


class DeploymentError(RuntimeError):
    """A step stopped on failures (check failures or provider errors); ``errors`` names each resource."""

    def __init__(self, step: str, errors: list[str]) -> None:
        self.step = step
        self.errors = errors
        super().__init__(f"{step} failed:\n" + "\n".join(f"  {e}" for e in errors))


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(dict(values))
    return result


def _plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    from pulumi.runtime import rpc

    return _unknowns_as_sentinel(rpc.deserialize_properties(struct, keep_unknowns=True))


def _unknowns_as_sentinel(value: Any) -> Any:
    from pulumi.output import Unknown

    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _unknowns_as_sentinel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unknowns_as_sentinel(v) for v in value]
    return value


def _error_text(exc: grpc.RpcError) -> str:
    """The last exception line of the plugin's traceback (the provider's own message)."""
    details = exc.details() or str(exc) if isinstance(exc, grpc.Call) else str(exc)
    lines = [line for line in details.strip().splitlines() if line.strip()]
    for index in range(len(lines) - 1, -1, -1):
        if not lines[index].startswith(" "):
            return scrub("\n".join(lines[index:]))
    return scrub(details)


@dataclass
class Diff:
    changes: bool | None
    replaces: list[str]
    delete_before_replace: bool


class Plugin:
    """The dynamic-provider plugin server in a subprocess, driven over gRPC as the engine does."""

    def __init__(
        self,
        config: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        log_file: str | os.PathLike[str] | None = None,
    ) -> None:
        """``log_file`` collects the server's standard error (appended); without it a temporary file holds it
        while the server runs and is removed on close."""
        self._config = dict(config or {})
        self._env = env
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self.stderr_path: str | None = None

    def __enter__(self) -> Plugin:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

        if self._log_file is not None:
            self._stderr = open(self._log_file, "ab")  # noqa: SIM115 (closed in close())
        else:
            self._stderr = tempfile.NamedTemporaryFile(prefix="openai-billing-plugin-", suffix=".log", delete=False)  # noqa: SIM115
        self.stderr_path = self._stderr.name
        env = {**os.environ, **(self._env or {})}
        self._process = subprocess.Popen(
            [sys.executable, "-m", "pulumi.dynamic"],
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        assert self._process.stdout is not None
        port = self._process.stdout.readline().decode().strip()
        if not port.isdigit():
            self.close()
            raise PluginError(f"the plugin server did not start (see {self.stderr_path})")
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(self._channel).result(timeout=30)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        self._pb = provider_pb2
        self._stub.Configure(provider_pb2.ConfigureRequest(args=_struct(self._config), acceptSecrets=False))

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout:
                self._process.stdout.close()
            self._process = None
            self._stderr.close()
            if self._log_file is None and self.stderr_path:
                Path(self.stderr_path).unlink(missing_ok=True)

    def kill(self) -> None:
        """End the server abruptly (SIGKILL), as a crash would: for crash-consistency tests."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(request)
        except grpc.RpcError as exc:
            raise PluginError(_error_text(exc)) from None

    def check(
        self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        resp = self._call("Check", self._pb.CheckRequest(urn=urn, olds=_struct(olds), news=_struct(news)))
        return _plain(resp.inputs), [(f.property, f.reason) for f in resp.failures]

    def diff(self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Diff:
        resp = self._call("Diff", self._pb.DiffRequest(urn=urn, id=id_, olds=_struct(olds), news=_struct(news)))
        changes = {self._pb.DiffResponse.DIFF_SOME: True, self._pb.DiffResponse.DIFF_NONE: False}.get(resp.changes)
        return Diff(changes, list(resp.replaces), resp.deleteBeforeReplace)

    def create(self, urn: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        resp = self._call("Create", self._pb.CreateRequest(urn=urn, properties=_struct(props)))
        return resp.id, _plain(resp.properties)

    def read(
        self, urn: str, id_: str, props: Mapping[str, Any], inputs: Mapping[str, Any] | None = None
    ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        request = self._pb.ReadRequest(urn=urn, id=id_, properties=_struct(props), inputs=_struct(inputs or {}))
        resp = self._call("Read", request)
        return resp.id, _plain(resp.properties), (_plain(resp.inputs) if resp.HasField("inputs") else None)

    def update(self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        resp = self._call("Update", self._pb.UpdateRequest(urn=urn, id=id_, olds=_struct(olds), news=_struct(news)))
        return _plain(resp.properties)

    def delete(self, urn: str, id_: str, props: Mapping[str, Any]) -> None:
        self._call("Delete", self._pb.DeleteRequest(urn=urn, id=id_, properties=_struct(props)))


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
        process.wait(timeout=30)


# -- programs ----------------------------------------------------------------------------------------------


@dataclass
class Change:
    """What a step does to one resource: ``op`` is create, update, replace, delete or same.

    ``old`` (id, inputs, outputs) and ``new_inputs`` are the states :meth:`StepResult.to_preview_json` writes."""

    op: str
    type: str
    properties: list[str] = field(default_factory=list)
    urn: str = ""
    old: dict[str, Any] | None = None
    new_inputs: dict[str, Any] | None = None
    secrets: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        """Secret values never enter a change: it is printed, compared and written to preview JSON."""
        if self.old is not None:
            self.old = {k: _masked(v, self.secrets) if isinstance(v, dict) else v for k, v in self.old.items()}
        if self.new_inputs is not None:
            self.new_inputs = _masked(self.new_inputs, self.secrets)


@dataclass
class StepResult:
    """``outputs`` (every resource's, secrets included, for assertions) stay out of its ``repr``."""

    step: str
    changes: dict[str, Change]
    outputs: dict[str, dict[str, Any]] = field(repr=False)
    exports: dict[str, Any] = field(repr=False)

    def ops(self) -> dict[str, str]:
        return {name: change.op for name, change in self.changes.items()}

    def changed(self) -> dict[str, Change]:
        """Only the resources the step changes (everything but ``same``)."""
        return {name: c for name, c in self.changes.items() if c.op != "same"}

    def to_preview_json(self) -> dict[str, Any]:
        """The shape of ``pulumi preview --json`` (steps with old and new state, diff reasons, a change
        summary), so tools such as ``openai-billing plan-report`` read either. Secrets are ``"[secret]"``."""
        steps = []
        summary: dict[str, int] = {}
        for change in self.changes.values():
            summary[change.op] = summary.get(change.op, 0) + 1
            step: dict[str, Any] = {"op": change.op, "urn": change.urn}
            if change.old is not None:
                step["oldState"] = {
                    "urn": change.urn,
                    "type": change.type,
                    "custom": True,
                    "id": change.old.get("id", ""),
                    "inputs": _masked(change.old.get("inputs") or {}, change.secrets),
                    "outputs": _masked(change.old.get("outputs") or {}, change.secrets),
                }
            if change.new_inputs is not None:
                step["newState"] = {
                    "urn": change.urn,
                    "type": change.type,
                    "custom": True,
                    "inputs": _masked(change.new_inputs, change.secrets),
                }
            if change.op in ("update", "replace") and change.properties:
                step["diffReasons"] = list(change.properties)
            if change.op == "replace":
                step["replaceReasons"] = list(change.properties)
            steps.append(step)
        return {"steps": steps, "changeSummary": summary}

    def summary(self) -> str:
        lines = []
        for name, change in self.changes.items():
            if change.op == "same":
                continue
            props = f" [{', '.join(change.properties)}]" if change.properties else ""
            lines.append(f"  {change.op:8} {change.type.rsplit(':', 1)[-1]} {name}{props}")
        same = sum(1 for c in self.changes.values() if c.op == "same")
        lines.append(f"  {len(self.changes) - same} to change, {same} unchanged")
        return "\n".join(lines)


@dataclass
class _Resource:
    urn: str
    type: str
    name: str
    id: str
    inputs: dict[str, Any]
    outputs: dict[str, Any]
    secrets: list[str] = field(default_factory=list)


_STACK_TYPE = "pulumi:pulumi:Stack"


def _make_urn(stack: Stack, parent: str, type_: str, name: str, *, project: str = "", stack_name: str = "") -> str:
    """The engine's URN: a child's type is qualified by its parent's (the root stack qualifies nothing)."""
    if parent:
        parent_type = parent.split("::")[2]
        if parent_type != _STACK_TYPE:
            type_ = f"{parent_type}${type_}"
    return f"urn:pulumi:{stack_name or stack.stack}::{project or stack.project}::{type_}::{name}"


def _alias_urns(stack: Stack, request: Any) -> list[str]:
    """The URNs a registration's ``aliases`` stand for (full URNs, or specs resolved against the request)."""
    urns = []
    for alias in request.aliases:
        if alias.WhichOneof("alias") == "urn":
            urns.append(alias.urn)
            continue
        spec = alias.spec
        which = spec.WhichOneof("parent")
        parent = (
            "" if which == "noParent" and spec.noParent else spec.parentUrn if which == "parentUrn" else request.parent
        )
        urns.append(
            _make_urn(
                stack,
                parent,
                spec.type or request.type,
                spec.name or request.name,
                project=spec.project,
                stack_name=spec.stack,
            )
        )
    return urns


def _forget_modules_under(directory: Path) -> None:
    """Drop the program's own modules after a run, so the next step runs their declarations again (as a
    new ``pulumi`` process would) and another program's same-named module never stands in for them."""
    root = directory.resolve()
    for name, module in list(sys.modules.items()):
        path = getattr(module, "__file__", None)
        if path and Path(path).resolve().is_relative_to(root):
            del sys.modules[name]


def _masked(values: Mapping[str, Any], secrets: list[str]) -> dict[str, Any]:
    return {k: SECRET_MARKER if k in secrets else v for k, v in values.items() if k != _PROVIDER_KEY}


def _short_name(urn: str) -> str:
    return urn.rsplit("::", 1)[-1]


def _changed_props(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[str]:
    keys = (set(old) | set(new)) - {_PROVIDER_KEY}
    return sorted(k for k in keys if old.get(k) != new.get(k))


def _old(resource: _Resource) -> dict[str, Any]:
    return {"id": resource.id, "inputs": dict(resource.inputs), "outputs": dict(resource.outputs)}


class Stack:
    """A Pulumi program, its config and its state, stepped without the CLI (see the module docstring)."""

    def __init__(
        self,
        program: str | os.PathLike[str],
        *,
        config: Mapping[str, str] | None = None,
        state_file: str | os.PathLike[str] | None = None,
        project: str | None = None,
        stack: str = "test",
        secret_config_keys: tuple[str, ...] = ("openai-billing:adminKey",),
        env: Mapping[str, str] | None = None,
        log_file: str | os.PathLike[str] | None = None,
    ) -> None:
        """``log_file``, when given, collects the plugin servers' standard error (provider logs) of every step."""
        self.program = Path(program)
        self.log_file = log_file
        self.config = dict(config or {})
        self.secret_config_keys = secret_config_keys
        self.project = project or self._project_name()
        self.stack = stack
        self.env = env
        self.state_file = Path(state_file) if state_file else None
        self._secret_values: dict[tuple[str, str], Any] = {}
        self._save_lock = threading.Lock()
        self._resources: list[_Resource] = self._load()

    # -- state ------------------------------------------------------------------------------------------
    def _project_name(self) -> str:
        yaml = self.program / "Pulumi.yaml"
        if yaml.exists():
            for line in yaml.read_text().splitlines():
                if line.startswith("name:"):
                    return line.split(":", 1)[1].strip()
        return self.program.name

    def _load(self) -> list[_Resource]:
        if not self.state_file or not self.state_file.exists():
            return []
        data = json.loads(self.state_file.read_text())
        return [_Resource(**r) for r in data.get("resources", [])]

    def _save(self) -> None:
        if not self.state_file:
            return
        resources = []
        for r in list(self._resources):
            entry = {**r.__dict__}
            for part in ("inputs", "outputs"):
                entry[part] = {k: SECRET_MARKER if k in r.secrets else v for k, v in getattr(r, part).items()}
            resources.append(entry)
        text = json.dumps({"version": 1, "resources": resources}, indent=2, sort_keys=True)
        with self._save_lock:
            tmp = self.state_file.with_suffix(".tmp")
            tmp.write_text(text)
            tmp.replace(self.state_file)

    def _restore_secrets(self, resource: _Resource, part: str) -> dict[str, Any]:
        values = dict(getattr(resource, part))
        for key in resource.secrets:
            if values.get(key) == SECRET_MARKER and (resource.urn, key) in self._secret_values:
                values[key] = self._secret_values[(resource.urn, key)]
        return values

    @property
    def resources(self) -> dict[str, dict[str, Any]]:
        """The outputs of every resource in state, by resource name."""
        return {r.name: self._restore_secrets(r, "outputs") for r in self._resources}

    def ids(self) -> dict[str, str]:
        return {r.name: r.id for r in self._resources}

    # -- steps ------------------------------------------------------------------------------------------
    def _plugin(self) -> Plugin:
        return Plugin(self.config, self.env, log_file=self.log_file)

    def preview(self) -> StepResult:
        """What ``up`` would do: check and diff only, no write."""
        return self._run_program(preview=True)

    def up(self) -> StepResult:
        return self._run_program(preview=False)

    def refresh(self) -> StepResult:
        """Read every resource, :data:`PARALLEL` at a time as the engine does; drift is reported by property
        name and recorded in state."""
        changes: dict[str, Change] = {}
        errors: list[str] = []
        with self._plugin() as plugin:

            def read(r: _Resource) -> tuple[str, dict[str, Any], dict[str, Any] | None] | PluginError:
                try:
                    return plugin.read(
                        r.urn, r.id, self._restore_secrets(r, "outputs"), self._restore_secrets(r, "inputs")
                    )
                except PluginError as exc:
                    return exc

            with ThreadPoolExecutor(max_workers=PARALLEL) as pool:
                results = list(pool.map(read, self._resources))
            kept = []
            for r, result in zip(self._resources, results, strict=True):
                if isinstance(result, PluginError):
                    errors.append(f"{r.name}: {result}")
                    kept.append(r)
                    continue
                id_, outs, inputs = result
                if not id_:
                    changes[r.name] = Change("delete", r.type, urn=r.urn, old=_old(r), secrets=r.secrets)
                    continue
                outputs = self._restore_secrets(r, "outputs")
                props = _changed_props(outputs, outs)
                changes[r.name] = Change("update" if props else "same", r.type, props, r.urn, _old(r), outs, r.secrets)
                self._remember(r, "outputs", outs)
                if inputs is not None:
                    self._remember(r, "inputs", inputs)
                kept.append(r)
            self._resources = kept
        self._save()
        if errors:
            raise DeploymentError("refresh", errors)
        return StepResult("refresh", changes, self.resources, {})

    def destroy(self) -> StepResult:
        changes: dict[str, Change] = {}
        errors: list[str] = []
        with self._plugin() as plugin:
            for r in reversed(list(self._resources)):
                try:
                    plugin.delete(r.urn, r.id, self._restore_secrets(r, "outputs"))
                except PluginError as exc:
                    errors.append(f"{r.name}: {exc}")
                    break
                changes[r.name] = Change("delete", r.type, urn=r.urn, old=_old(r), secrets=r.secrets)
                self._resources.remove(r)
                self._save()
        if errors:
            raise DeploymentError("destroy", errors)
        return StepResult("destroy", changes, {}, {})

    def _rename(self, r: _Resource, urn: str, name: str) -> None:
        """An alias matched: the resource in state is the one now registered under ``urn``."""
        for key in r.secrets:
            if (r.urn, key) in self._secret_values:
                self._secret_values[(urn, key)] = self._secret_values.pop((r.urn, key))
        r.urn, r.name = urn, name

    def _remember(self, r: _Resource, part: str, values: dict[str, Any]) -> None:
        for key in r.secrets:
            if key in values:
                self._secret_values[(r.urn, key)] = values[key]
        setattr(r, part, values)

    # -- running the program ----------------------------------------------------------------------------
    def _run_program(self, *, preview: bool) -> StepResult:
        step = "preview" if preview else "up"
        with self._plugin() as plugin:
            engine = _Engine(self, plugin, preview=preview)
            exports = engine.run()
            engine.settle()
            if not engine.errors and not preview:
                engine.delete_unregistered()
            elif not engine.errors:
                for r in self._resources:
                    if r.urn not in engine.registered:
                        engine.changes[r.name] = Change(
                            "delete",
                            r.type,
                            urn=r.urn,
                            old=_old(r),
                            secrets=r.secrets,
                        )
        if not preview:
            self._save()
        if engine.errors:
            raise DeploymentError(step, engine.errors)
        return StepResult(step, engine.changes, self.resources, exports)


class _Engine:
    """One program run: the mock monitor's registrations become Check/Diff/Create/Update calls."""

    def __init__(self, stack: Stack, plugin: Plugin, *, preview: bool) -> None:
        self.stack = stack
        self.plugin = plugin
        self.preview = preview
        self.changes: dict[str, Change] = {}
        self.errors: list[str] = []
        self.registered: set[str] = set()
        self._lock = threading.Lock()
        self._settled = threading.Condition(self._lock)
        self._in_flight = 0

    def run(self) -> dict[str, Any]:
        import pulumi
        from pulumi.runtime import mocks, settings
        from pulumi.runtime.config import set_all_config
        from pulumi.runtime.stack import run_pulumi_func
        from pulumi.runtime.sync_await import _sync_await

        engine = self

        class Monitor(mocks.MockMonitor):
            def RegisterResource(self, request: Any) -> Any:
                from pulumi.runtime import rpc
                from pulumi.runtime.proto import resource_pb2
                from pulumi.runtime.sync_await import _ensure_event_loop

                urn = _make_urn(engine.stack, request.parent, request.type, request.name)
                if request.type == _STACK_TYPE or not request.custom:
                    return resource_pb2.RegisterResourceResponse(urn=urn)
                _ensure_event_loop()
                raw = rpc.deserialize_properties(request.object, keep_unknowns=True)
                secrets = sorted(
                    {k for k, v in raw.items() if rpc.is_rpc_secret(v)} | set(request.additionalSecretOutputs)
                )
                inputs = _unknowns_as_sentinel({k: rpc.unwrap_rpc_secret(v) for k, v in raw.items()})
                aliases = _alias_urns(engine.stack, request)
                id_, state = engine.register(urn, request.type, request.name, inputs, secrets, aliases)
                obj = _sync_await(rpc.serialize_properties(state, {}))
                return resource_pb2.RegisterResourceResponse(urn=urn, id=id_, object=obj)

        class _NoMocks(mocks.Mocks):
            def new_resource(self, args: mocks.MockResourceArgs) -> tuple[str | None, dict[str, Any]]:
                return None, {}

            def call(self, args: mocks.MockCallArgs) -> tuple[dict[str, Any], list[tuple[str, str]] | None]:
                return {}, None

        settings.SETTINGS.rpc_manager.clear()
        settings.SETTINGS.outputs.clear()
        settings.ROOT.set(None)
        set_all_config(dict(self.stack.config), list(self.stack.secret_config_keys))
        mocks.set_mocks(
            _NoMocks(),
            project=self.stack.project,
            stack=self.stack.stack,
            preview=self.preview,
            monitor=Monitor(_NoMocks()),
        )
        program = self.stack.program / "__main__.py"
        sys.path.insert(0, str(self.stack.program))
        old_env = {k: os.environ.get(k) for k in (self.stack.env or {})}
        os.environ.update(self.stack.env or {})
        try:
            _sync_await(run_pulumi_func(lambda: runpy.run_path(str(program), run_name="__main__")))
        except Exception as exc:
            if not self.errors:
                self.errors.append(f"program: {scrub(str(exc))}")
        finally:
            sys.path.remove(str(self.stack.program))
            _forget_modules_under(self.stack.program)
            for k, v in old_env.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
        root = settings.get_root_resource()
        exports: dict[str, Any] = {}
        for key, value in (getattr(root, "outputs", None) or {}).items():
            try:
                exports[key] = _sync_await(pulumi.Output.from_input(value).future())
            except Exception as exc:
                exports[key] = f"<error: {exc}>"
        set_all_config({}, [])  # the stack's config must not outlive its run in this process
        return exports

    def register(
        self, urn: str, type_: str, name: str, news: dict[str, Any], secrets: list[str], aliases: list[str] = ()
    ) -> tuple[str, dict[str, Any]]:
        stack = self.stack
        with self._lock:
            self.registered.add(urn)
            self._in_flight += 1
            old = next((r for r in stack._resources if r.urn == urn), None)
            if old is None:
                old = next((r for r in stack._resources if r.urn in aliases), None)
                if old is not None:
                    stack._rename(old, urn, name)
        try:
            return self._step(urn, type_, name, news, secrets, old)
        except PluginError as exc:
            with self._lock:
                self.errors.append(f"{name}: {exc}")
            raise
        finally:
            with self._settled:
                self._in_flight -= 1
                self._settled.notify_all()

    def settle(self, timeout: float = 120.0) -> None:
        """Wait for registrations still talking to the plugin (the program stops at its first failure while
        other resources' calls are in flight), so the plugin is never closed under them."""
        with self._settled:
            self._settled.wait_for(lambda: self._in_flight == 0, timeout)

    def _step(
        self, urn: str, type_: str, name: str, news: dict[str, Any], secrets: list[str], old: _Resource | None
    ) -> tuple[str, dict[str, Any]]:
        stack = self.stack
        old_inputs = stack._restore_secrets(old, "inputs") if old else {}
        inputs, failures = self.plugin.check(urn, old_inputs, news)
        if failures:
            raise PluginError(
                "; ".join(reason if reason.startswith(prop) else f"{prop}: {reason}" for prop, reason in failures)
            )
        unknown_outputs = {k: UNKNOWN for k, v in news.items() if v is None}
        if old is None:
            if self.preview:
                self.changes[name] = Change("create", type_, urn=urn, new_inputs=inputs, secrets=secrets)
                return "", {**unknown_outputs, **inputs}
            return self._create(urn, type_, name, inputs, secrets, op="create")
        old_outputs = stack._restore_secrets(old, "outputs")
        was = {"id": old.id, "inputs": old_inputs, "outputs": old_outputs}
        diff = self.plugin.diff(urn, old.id, old_outputs, inputs)
        props = [p for p in _changed_props(old_outputs, inputs) if p in inputs]
        if diff.replaces:
            if self.preview:
                self.changes[name] = Change("replace", type_, sorted(diff.replaces), urn, was, inputs, secrets)
                return "", {**unknown_outputs, **inputs}
            if diff.delete_before_replace:
                self.plugin.delete(urn, old.id, old_outputs)
                self._forget(old)
                return self._create(
                    urn, type_, name, inputs, secrets, op="replace", replaced=sorted(diff.replaces), was=was
                )
            id_, outs = self._create(
                urn, type_, name, inputs, secrets, op="replace", replaced=sorted(diff.replaces), was=was
            )
            self.plugin.delete(urn, old.id, old_outputs)
            self._forget(old)
            return id_, outs
        if not diff.changes:
            self.changes[name] = Change("same", type_, [], urn, was, inputs, secrets)
            if not self.preview:
                stack._remember(old, "inputs", inputs)
            return old.id, old_outputs
        self.changes[name] = Change("update", type_, props, urn, was, inputs, secrets)
        if self.preview:
            return old.id, {**old_outputs, **inputs}
        outs = self.plugin.update(urn, old.id, old_outputs, inputs)
        old.secrets = secrets
        stack._remember(old, "inputs", inputs)
        stack._remember(old, "outputs", outs)
        stack._save()
        return old.id, outs

    def _create(
        self,
        urn: str,
        type_: str,
        name: str,
        inputs: dict[str, Any],
        secrets: list[str],
        *,
        op: str,
        replaced: list[str] | None = None,
        was: dict[str, Any] | None = None,
    ) -> tuple[str, dict[str, Any]]:
        self.changes[name] = Change(op, type_, replaced or [], urn, was, inputs, secrets)
        id_, outs = self.plugin.create(urn, inputs)
        resource = _Resource(urn, type_, name, id_, {}, {}, secrets)
        self.stack._remember(resource, "inputs", inputs)
        self.stack._remember(resource, "outputs", outs)
        with self._lock:
            position = next((i for i, r in enumerate(self.stack._resources) if r.urn == urn), None)
            if position is None:
                self.stack._resources.append(resource)
            else:
                self.stack._resources.insert(position + 1, resource)
        self.stack._save()
        return id_, outs

    def _forget(self, resource: _Resource) -> None:
        with self._lock:
            self.stack._resources = [r for r in self.stack._resources if r is not resource]
        self.stack._save()

    def delete_unregistered(self) -> None:
        stack = self.stack
        for r in reversed(list(stack._resources)):
            if r.urn in self.registered:
                continue
            try:
                self.plugin.delete(r.urn, r.id, stack._restore_secrets(r, "outputs"))
            except PluginError as exc:
                self.errors.append(f"{r.name}: {exc}")
                return
            self.changes[r.name] = Change("delete", r.type, urn=r.urn, old=_old(r), secrets=r.secrets)
            self._forget(r)
