"""``pulumi-resource-openai-billing``: the provider plugin that serves every kind to programs in any language.

One more adapter over :data:`~pulumi_openai_billing.resources.KINDS`: each call is translated into the same
:class:`~pulumi_openai_billing.resources._provider.BillingProvider` the Python dynamic resources use (check,
diff, CRUD, guardrails, pacing, exactly-once creates), with the schema's camelCase names on the wire and the
model's snake_case names inside. The read functions are served as invokes (``schema.INVOKES``).

The CLI finds the plugin on ``PATH`` (``pip install pulumi-openai-billing`` puts it there) or through a
``plugins.providers`` entry with a ``path`` in ``Pulumi.yaml``. Python programs need none of it.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import os
import sys
import threading
import time
from collections.abc import Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

import grpc
import grpc.aio
import pulumi
from pulumi.provider.experimental import provider as api
from pulumi.provider.experimental.property_value import Computed, PropertyValue
from pulumi.provider.experimental.server import ProviderServicer
from pulumi.resource import DependencyResource
from pulumi.runtime._grpc_settings import _GRPC_CHANNEL_OPTIONS
from pulumi.runtime.proto import provider_pb2_grpc
from pulumi.runtime.rpc import UNKNOWN

from ._api import config
from ._api.client import report_waits_on_stderr
from ._version import __version__
from .errors import BillingError, ProviderError
from .resources import KINDS, Kind, schema_names, wire_names
from .resources._provider import PLUGIN_WORKERS, BillingProvider, provider_class
from .resources.budget import Budget, BudgetInputs
from .schema import INVOKES, PACKAGE, Invoke, schema_json, schema_words

__all__ = ["BillingPlugin", "main", "spoken"]

T = TypeVar("T")
PARENT_POLL_SECONDS = 0.5


class _Names:
    """One kind's two spellings: the schema's (``monthlyLimitUsd``) and the model's (``monthly_limit_usd``)."""

    def __init__(self, kind: Kind) -> None:
        self.to_model = schema_names(kind)
        self.to_wire = {name: wire for wire, name in self.to_model.items()}

    def model(self, values: Mapping[str, PropertyValue]) -> tuple[dict[str, Any], set[str]]:
        """The values under the model's names, and the names of those that arrived secret."""
        plain = {self.to_model.get(key, key): _plain(value) for key, value in values.items()}
        secret = {self.to_model.get(key, key) for key, value in values.items() if value.contains_secret()}
        return plain, secret

    def wire(self, values: Mapping[str, Any], secret: set[str]) -> dict[str, PropertyValue]:
        return {self.to_wire.get(key, key): _wire(value, key in secret) for key, value in values.items()}


def spoken(message: str) -> str:
    """A message as programs in every language read it (fields named as the schema names them), any secret
    scrubbed."""
    return schema_words(config.scrub(message))


def _plain(value: PropertyValue) -> Any:
    """A property value as the machinery reads it: unknowns as the engine's sentinel, whole numbers as ints
    (the wire has only floats), secrets unwrapped (the caller remembers which)."""
    inner = value.value
    if isinstance(inner, Computed):
        return UNKNOWN
    if isinstance(inner, float) and inner.is_integer():
        return int(inner)
    if isinstance(inner, Mapping):
        return {key: _plain(item) for key, item in inner.items()}
    if isinstance(inner, (tuple, list)):
        return [_plain(item) for item in inner]
    return inner


def _wire(value: Any, secret: bool = False) -> PropertyValue:
    """A value for the wire. An unknown stays the engine's sentinel string: the SDK cannot marshal its own
    ``PropertyValue.computed()``."""
    if isinstance(value, bool) or value is None or isinstance(value, str):  # an unknown is its sentinel string
        wrapped = PropertyValue(value)
    elif isinstance(value, (int, float)):
        wrapped = PropertyValue(float(value))
    elif isinstance(value, Mapping):
        wrapped = PropertyValue({str(key): _wire(item) for key, item in value.items()})
    elif isinstance(value, (list, tuple)):
        wrapped = PropertyValue([_wire(item) for item in value])
    else:
        wrapped = PropertyValue(str(value))
    return wrapped.with_secret(True) if secret else wrapped


def _settings(args: Mapping[str, PropertyValue]) -> dict[str, str]:
    """The provider's settings as stack config (``openai-billing:adminKey`` → text), read from ``args`` (where a
    secret arrives marked secret). The plain-text ``variables`` copy is never read, so never logged."""
    known = {setting.key: setting for setting in config.SETTINGS}
    result = {}
    for key, value in args.items():
        plain = _plain(value)
        if key in known and plain is not None and plain != UNKNOWN:
            result[known[key].stack_key] = str(plain).lower() if isinstance(plain, bool) else str(plain)
    return result


class BillingPlugin(api.Provider):
    """The engine's calls for ``openai-billing:index:<Kind>`` onto that kind's :class:`BillingProvider`."""

    def __init__(self, workers: int = PLUGIN_WORKERS) -> None:
        self._kinds = {f"{PACKAGE}:index:{kind.name}": kind for kind in KINDS}
        self._providers: dict[str, BillingProvider] = {
            token: provider_class(kind)() for token, kind in self._kinds.items()
        }
        self._names = {token: _Names(kind) for token, kind in self._kinds.items()}
        self._invokes: dict[str, Invoke] = {invoke.token: invoke for invoke in INVOKES}
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="openai-billing")
        """Each operation may wait its turn under the throttle: waits run here, never on the event loop."""

    async def _run(self, call: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        return await asyncio.get_running_loop().run_in_executor(self._pool, functools.partial(call, *args, **kwargs))

    def _of(self, qualified_type: str) -> tuple[Kind, BillingProvider, _Names]:
        resource_type = qualified_type.rsplit("$", 1)[-1]  # a child's URN type starts with its parents'
        if resource_type not in self._kinds:
            raise ProviderError(f"{resource_type} is not a resource of {PACKAGE} (see its schema)")
        return self._kinds[resource_type], self._providers[resource_type], self._names[resource_type]

    async def get_schema(self, request: api.GetSchemaRequest) -> api.GetSchemaResponse:
        return api.GetSchemaResponse(schema=schema_json())

    async def configure(self, request: api.ConfigureRequest) -> api.ConfigureResponse:
        settings = _settings(request.args)
        for provider in self._providers.values():
            await self._run(provider.configure_with, settings)
        return api.ConfigureResponse(accept_secrets=True, supports_preview=False, accept_outputs=False)

    async def check(self, request: api.CheckRequest) -> api.CheckResponse:
        kind, provider, names = self._of(request.type)
        olds, _ = names.model(request.old_inputs)
        news, secret = names.model(request.new_inputs)
        result = await self._run(provider.check, olds, news)
        failures = [
            api.CheckFailure(names.to_wire.get(f.property, f.property), spoken(f.reason)) for f in result.failures
        ]
        inputs = names.wire(result.inputs or {}, secret | kind.secret_inputs)
        return api.CheckResponse(inputs=inputs, failures=failures)

    async def diff(self, request: api.DiffRequest) -> api.DiffResponse:
        kind, provider, names = self._of(request.type)
        olds, _ = names.model(request.old_state)
        news, _ = names.model(request.new_inputs)
        changed, replaces = provider.changes(olds, news)
        ignored = set(request.ignore_changes)
        changed = [name for name in changed if names.to_wire.get(name, name) not in ignored]
        replaces = [name for name in replaces if name in changed]
        detail = {
            names.to_wire.get(name, name): api.PropertyDiff(
                api.PropertyDiffKind.UPDATE_REPLACE if name in replaces else api.PropertyDiffKind.UPDATE, True
            )
            for name in changed
        }
        return api.DiffResponse(
            changes=bool(changed),
            replaces=[names.to_wire.get(name, name) for name in replaces],
            diffs=list(detail),
            detailed_diff=detail,
            delete_before_replace=bool(replaces) and kind.delete_before_replace,
        )

    async def create(self, request: api.CreateRequest) -> api.CreateResponse:
        kind, provider, names = self._of(request.type)
        props, secret = names.model(request.properties)
        result = await self._run(provider.create, props)
        return api.CreateResponse(str(result.id), names.wire(result.outs or {}, secret | kind.secret_inputs))

    async def read(self, request: api.ReadRequest) -> api.ReadResponse:
        kind, provider, names = self._of(request.type)
        props, secret = names.model(request.properties)
        importing = not request.properties  # then only what a program would declare, so generated code is clean
        result = await self._run(provider.read, request.resource_id, props, whole=importing)
        if not result.id:
            return api.ReadResponse()
        inputs = dict(result.inputs or {})
        if importing:
            defaults = provider.defaults
            inputs = {k: v for k, v in inputs.items() if k in defaults and v is not None and v != defaults[k]}
        hidden = secret | kind.secret_inputs
        return api.ReadResponse(str(result.id), names.wire(result.outs or {}, hidden), names.wire(inputs, hidden))

    async def update(self, request: api.UpdateRequest) -> api.UpdateResponse:
        kind, provider, names = self._of(request.type)
        olds, old_secret = names.model(request.olds)
        news, secret = names.model(request.news)
        result = await self._run(provider.update, request.resource_id, olds, news)
        return api.UpdateResponse(names.wire(result.outs or {}, old_secret | secret | kind.secret_inputs))

    async def delete(self, request: api.DeleteRequest) -> None:
        _, provider, names = self._of(request.type)
        props, _ = names.model(request.properties)
        await self._run(provider.delete, request.resource_id, props)

    async def construct(self, request: api.ConstructRequest) -> api.ConstructResponse:
        """``Budget`` for every language: the same component, its children the plugin's resources."""
        if request.resource_type != f"{PACKAGE}:index:Budget":
            raise ProviderError(f"{request.resource_type} is not a component of {PACKAGE} (see its schema)")
        names = {wire: name for name, wire in wire_names(BudgetInputs.model_fields).items()}
        inputs: dict[str, Any] = {}
        for key, value in request.inputs.items():
            name = names.get(key, key)
            if name == "project_id" and (value.dependencies or isinstance(value.value, Computed)):
                inputs[name] = _output(value)  # a Project's id: the children wait for it
            elif value.value is not None:
                inputs[name] = _plain(value)
        try:
            budget = _PluginBudget(request.name, opts=request.options, **inputs)
        except (ValueError, TypeError) as exc:
            raise ProviderError(str(exc)) from None
        return api.ConstructResponse(await budget.urn.future() or "", {}, {})

    async def invoke(self, request: api.InvokeRequest) -> api.InvokeResponse:
        invoke = self._invokes.get(request.tok)
        if invoke is None:
            raise ProviderError(f"{request.tok} is not a function of {PACKAGE} (see its schema)")
        unknown = sorted(set(request.args) - set(invoke.args))
        if unknown:
            expected = ", ".join(invoke.args) or "no arguments"
            return api.InvokeResponse(failures=[api.CheckFailure(unknown[0], f"{invoke.name} takes {expected}")])
        given = {invoke.args[key][0]: _plain(value) for key, value in request.args.items()}
        kwargs = {keyword: value for keyword, value in given.items() if value is not None}
        found = await self._run(invoke.call, **kwargs)
        return api.InvokeResponse(return_value=_result(invoke, found))


class _PluginBudget(Budget):
    def _child(self, kind: str, resource_name: str, **inputs: Any) -> Any:
        opts = inputs.pop("opts", None)
        names = wire_names(inputs)
        props = {names[name]: value for name, value in inputs.items()}
        return pulumi.CustomResource(f"{PACKAGE}:index:{kind}", resource_name, props, opts)


def _output(value: PropertyValue) -> pulumi.Output[Any]:
    """An input that another resource's output decides, as an output depending on that resource."""
    known = not isinstance(value.value, Computed)
    futures: list[asyncio.Future[Any]] = []
    for result in (_plain(value) if known else None, known, value.is_secret):
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        future.set_result(result)
        futures.append(future)
    resources: set[pulumi.Resource] = {DependencyResource(urn) for urn in value.dependencies}
    return pulumi.Output(resources, futures[0], futures[1], futures[2])


def _fields(invoke: Invoke, item: Any) -> dict[str, PropertyValue]:
    names = wire_names(invoke.fields)
    return {names[key]: _wire(value) for key, value in dataclasses.asdict(item).items()}


def _result(invoke: Invoke, found: Any) -> dict[str, PropertyValue]:
    if invoke.many:
        return {invoke.many: PropertyValue([PropertyValue(_fields(invoke, item)) for item in found])}
    if not invoke.optional:
        return _fields(invoke, found)
    if found is None:
        return {"exists": PropertyValue(False)}
    return {**_fields(invoke, found), "exists": PropertyValue(True)}


def _own_errors(method: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(method)
    async def wrapper(self: ProviderServicer, request: Any, context: grpc.aio.ServicerContext) -> Any:
        try:
            return await method(self, request, context)
        except Exception as exc:
            cause = exc if isinstance(exc, BillingError) else exc.__context__
            if isinstance(cause, BillingError):
                await context.abort(grpc.StatusCode.UNKNOWN, spoken(str(cause)))
            raise

    return wrapper


_Servicer = type(
    "_Servicer",
    (ProviderServicer,),
    {
        name: _own_errors(getattr(ProviderServicer, name))
        for name in ("Check", "Diff", "Create", "Read", "Update", "Delete", "Invoke", "Configure", "Construct")
    },
)
"""The SDK's servicer, but a failure of this package reaches the user as its message alone (scrubbed of any
secret), not as a Python traceback: the SDK wraps every error with its stack."""


def _end_with(parent: int) -> None:
    """Stop once the engine that started the plugin is gone (a CLI killed mid-step does not stop it)."""
    while os.getppid() == parent:
        time.sleep(PARENT_POLL_SECONDS)
    os._exit(1)


async def _serve(engine: str) -> None:
    server = grpc.aio.server(options=_GRPC_CHANNEL_OPTIONS)
    servicer = _Servicer(sys.argv[1:], __version__, BillingPlugin(), engine_address=engine)
    provider_pb2_grpc.add_ResourceProviderServicer_to_server(servicer, server)
    port = server.add_insecure_port("127.0.0.1:0")
    await server.start()
    sys.stdout.write(f"{port}\n")
    sys.stdout.flush()
    await server.wait_for_termination()


def main() -> None:
    """The plugin's entry point: the engine runs it with its own address, reads the port from standard output."""
    engine = next((arg for arg in sys.argv[1:] if not arg.startswith("-")), "")
    report_waits_on_stderr()
    threading.Thread(target=_end_with, args=(os.getppid(),), daemon=True).start()
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(_serve(engine))
