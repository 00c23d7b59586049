"""The generic dynamic-provider machinery: one :class:`BillingProvider` translates the engine's calls into a
kind's model and CRUD, and :func:`provider_class` makes each kind's importable ``<Name>Provider``.

Every kind gets the same check (pydantic model, one failure per bad field, unknowns tolerated, organization
binding), diff (canonical values, exact replacements), complete outputs and canonical ``read`` inputs. The
classes hold no state: they are pickled into state by reference and configured in the plugin process.
"""

from __future__ import annotations

import gc
import sys
import traceback
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, cast

from pulumi.dynamic import (
    CheckFailure,
    CheckResult,
    ConfigureRequest,
    CreateResult,
    DiffResult,
    ReadResult,
    ResourceProvider,
    UpdateResult,
)
from pulumi.output import Unknown
from pulumi.runtime.rpc import UNKNOWN
from pydantic import ValidationError

from .._api import config
from .._api.client import report_waits_on_stderr
from ..errors import BillingError, ConfigError, OpenAIError, ProviderError
from ._fields import CARD_NUMBER_MESSAGE, SCHEMA_VERSION, InputModel, contains_card_number, field_problem
from ._kind import Kind
from ._step import Step, current_step

PROVIDER_KEY = "__provider"
_BOOKKEEPING = frozenset({PROVIDER_KEY, "organization", "schema_version"})


def _report_user_errors_alone() -> None:
    """The dynamic-provider server reports a failed operation as ``traceback.format_exc()``: under ``pulumi up``
    a user would read a Python traceback ending in a class path. For this package's own errors, report the
    message alone; every other exception (a bug, another dynamic provider's) keeps its traceback. Installed
    only inside that server process."""
    server = sys.modules.get("__main__")
    if getattr(server, "DynamicResourceProviderServicer", None) is None:
        return
    original = traceback.format_exc
    if getattr(original, "reports_user_errors_alone", False):
        return

    def format_exc(limit: int | None = None, chain: bool = True) -> str:
        error = sys.exc_info()[1]
        if isinstance(error, BillingError):  # its message is the whole story
            return config.scrub(str(error))
        return original(limit, chain)

    format_exc.reports_user_errors_alone = True  # type: ignore[attr-defined]
    traceback.format_exc = format_exc


PLUGIN_WORKERS = 64
"""Operations the dynamic-provider host serves at once (it starts with 4): under the throttle an operation waits
for its endpoint's turn, and 4 waits on one endpoint would otherwise hold up every request to the others. The
engine's ``--parallel`` still bounds what it sends."""


def _serve_more_at_once() -> None:
    """Raise the host's worker pool (a ``ThreadPoolExecutor`` its gRPC server made with 4 workers) to
    :data:`PLUGIN_WORKERS`; it starts threads as operations arrive. Installed only inside that server process."""
    for candidate in gc.get_objects():
        if isinstance(candidate, ThreadPoolExecutor) and getattr(candidate, "_max_workers", None) == 4:
            candidate._max_workers = PLUGIN_WORKERS


_report_user_errors_alone()
if getattr(sys.modules.get("__main__"), "DynamicResourceProviderServicer", None) is not None:
    report_waits_on_stderr()  # the engine shows the plugin's standard error (see README, "Rate limits")
    _serve_more_at_once()


def _has_unknown(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_unknown(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_unknown(v) for v in value)
    return isinstance(value, Unknown) or (isinstance(value, str) and value == UNKNOWN)


class BillingProvider(ResourceProvider):
    """Translates the engine's calls into one :class:`Kind`'s model and CRUD."""

    serialize_as_secret_always = False
    kind: ClassVar[Kind]
    defaults: ClassVar[dict[str, Any]]
    """Each input's value when it is not given (None for a required one), computed once per kind."""

    _configured: Step | ConfigError | None = None
    """The plugin's step, built once when the engine configures the provider (or why it could not be)."""

    def configure(self, req: ConfigureRequest) -> None:
        self.configure_with({setting.stack_key: req.config.get(setting.stack_key) for setting in config.SETTINGS})

    def configure_with(self, stack_config: Mapping[str, Any]) -> None:
        """Take the provider's settings (``openai-billing:<key>`` → value) and build the step they name."""
        config.set_process_config({k: v for k, v in stack_config.items() if v is not None})
        try:
            self._configured = current_step()
        except ConfigError as exc:
            self._configured = exc

    def _step(self) -> Step:
        """The configured step; outside the plugin (a program's own process, tests), the one for the settings
        in force."""
        if isinstance(self._configured, ConfigError):
            raise self._configured
        return self._configured or current_step()

    # -- inputs ---------------------------------------------------------------------------------------
    @property
    def _fields(self) -> dict[str, Any]:
        return self.kind.inputs.model_fields

    def _declared(self, props: dict[str, Any]) -> dict[str, Any]:
        """The user's input properties, without bookkeeping, output placeholders or nulls."""
        return {
            k: v for k, v in props.items() if k not in _BOOKKEEPING and k not in self.kind.computed and v is not None
        }

    def _inputs_of(self, props: dict[str, Any]) -> dict[str, Any]:
        return {name: props.get(name, default) for name, default in self.defaults.items()}

    def _outputs(self, inputs: dict[str, Any], computed: dict[str, Any], organization: str) -> dict[str, Any]:
        return {**self._inputs_of(inputs), **computed, "organization": organization, "schema_version": SCHEMA_VERSION}

    def check(self, olds: dict[str, Any], news: dict[str, Any]) -> CheckResult:
        declared = self._declared(news)
        unknown = {k for k, v in declared.items() if _has_unknown(v)}
        cards = {k for k, v in declared.items() if k not in unknown and contains_card_number(v)}
        failures = [CheckFailure(prop, f"{prop} {CARD_NUMBER_MESSAGE}") for prop in sorted(cards)]
        try:
            canonical = self.kind.inputs.model_validate(
                {k: v for k, v in declared.items() if k not in unknown | cards}
            ).model_dump(mode="json")
        except ValidationError as exc:
            canonical = None
            for error in exc.errors():
                prop = str(error["loc"][0]) if error["loc"] else "inputs"
                if prop not in unknown | cards:
                    failures.append(CheckFailure(prop, field_problem(prop, error)))

        one_of = self.kind.one_of
        if one_of and all(declared.get(name) is None for name in one_of):
            failures.append(CheckFailure("", f"{one_of[0]}: declare at least one of {', '.join(one_of)}"))
        try:
            step = self._step()
        except ConfigError as exc:
            failures.append(CheckFailure("openai-billing", str(exc)))
            return self._refused(news, failures)
        settings = step.settings
        if not settings.admin_key:
            failures.append(CheckFailure("adminKey", config.MISSING_KEY_MESSAGE))
        organization = settings.organization_binding
        previous: str | None = olds.get("organization")
        rebinding = bool(previous and previous != organization and settings.rebinds(previous))
        if previous and previous != organization and not rebinding:
            failures.append(CheckFailure("organization", _other_organization(previous, settings)))
        if failures:
            return self._refused(news, failures)
        if canonical is None:
            canonical = self._partial(declared, unknown)
        known = {k: v for k, v in canonical.items() if k not in unknown}
        missing = step.capability_problem(self.kind.capability) if self.kind.capability else None
        if missing:
            return self._refused(news, [CheckFailure("baseUrl", missing)])
        if rebinding:
            problem = _verify_organization(step)
            if problem:
                return self._refused(news, [CheckFailure("organization", problem)])
        old_inputs = self._inputs_of(olds) if olds else {}
        problems = self.kind.check_change(old_inputs, known) if olds else []
        unchanged = bool(olds) and not unknown and not self._changed(old_inputs, known)
        if not problems:
            try:
                if unchanged:
                    problems = self.kind.check_unchanged(step, known)
                else:
                    problems = self.kind.check_live(step, known, old_inputs)
            except BillingError as exc:
                problems = [("openai-billing", f"openai-billing: the check could not read the live account: {exc}")]
        failures = [CheckFailure(p, r if r.startswith(p) else f"{p}: {r}") for p, r in problems]
        if failures:
            return self._refused(news, failures)
        return CheckResult({**known, **{k: declared[k] for k in unknown}, "organization": organization}, [])

    def _changed(self, old_inputs: dict[str, Any], known: dict[str, Any]) -> bool:
        """Whether the canonical inputs differ from the previous ones (create-only inputs never count)."""
        return any(
            old_inputs.get(name) != known.get(name) for name in self._fields if name not in self.kind.create_only
        )

    def _refused(self, news: dict[str, Any], failures: list[CheckFailure]) -> CheckResult:
        """A failed check echoes no secret input and no card number back to the engine. Each reason already
        names its property, so the failure is reported for the resource: the engine then prints the reason
        once, instead of "property X value {…} has a problem: X …"."""
        safe = {k: v for k, v in news.items() if k not in self.kind.secret_inputs and not contains_card_number(v)}
        return CheckResult(safe, [CheckFailure("", failure.reason) for failure in failures])

    def _partial(self, declared: dict[str, Any], unknown: set[str]) -> dict[str, Any]:
        """Canonical values of the known fields when a required one is still unknown (preview)."""
        canonical: dict[str, Any] = {
            name: default for name, default in self.defaults.items() if not self._fields[name].is_required()
        }
        for name, value in declared.items():
            if name in unknown or name not in self._fields:
                continue
            assigned = cast(
                InputModel,
                self.kind.inputs.__pydantic_validator__.validate_assignment(
                    self.kind.inputs.model_construct(), name, value
                ),
            )
            canonical[name] = assigned.model_dump(mode="json")[name]
        return canonical

    # -- diff ------------------------------------------------------------------------------------------
    def diff(self, _id: str, olds: dict[str, Any], news: dict[str, Any]) -> DiffResult:
        """What changes, by the kind's rules (canonical values; create-only inputs never diff).

        When those rules agree with a plain comparison of the inputs, the answer is "changes unknown": the
        engine then compares the inputs itself and learns *which* keys changed, which a dynamic provider cannot
        tell it otherwise. That is what makes ``replace_on_changes`` work and what the CLI shows (only the
        changed inputs, not every output-only property as removed)."""
        changed, replaces = self.changes(olds, news)
        same_for_the_engine = (
            all(name in olds or self.defaults[name] is None for name in self._fields)
            and not any(self._differs(olds, news, name) for name in self.kind.create_only)
            and all(olds.get(key) == news.get(key) for key in (PROVIDER_KEY, "organization"))
        )
        return DiffResult(
            changes=None if changed and same_for_the_engine else bool(changed),
            replaces=replaces,
            delete_before_replace=bool(replaces) and self.kind.delete_before_replace,
        )

    def changes(self, olds: dict[str, Any], news: dict[str, Any]) -> tuple[list[str], list[str]]:
        """The inputs that change, by the kind's rules, and those of them that replace the resource."""
        changed = [
            name for name in self._fields if name not in self.kind.create_only and self._differs(olds, news, name)
        ]
        if news.get("organization") and olds.get("organization") != news.get("organization"):
            changed.append("organization")  # bindOrganization takes the resource into the named organization
        return changed, [name for name in changed if name in self.kind.replace_on]

    def _differs(self, olds: dict[str, Any], news: dict[str, Any], name: str) -> bool:
        return bool(olds.get(name, self.defaults[name]) != news.get(name, self.defaults[name]))

    # -- CRUD ------------------------------------------------------------------------------------------
    def _context(self, props: dict[str, Any]) -> Step:
        step = self._step()
        step.settings.require_key()
        recorded = props.get("organization")
        if recorded and recorded != step.organization and not step.settings.rebinds(recorded):
            raise ProviderError(
                f"this resource belongs to {recorded}, but the provider is configured for {step.organization}: "
                "refusing to act on another organization"
            )
        return step

    def create(self, props: dict[str, Any]) -> CreateResult:
        step = self._context(props)
        inputs = self._inputs_of(props)
        id_, computed = self.kind.create(step, inputs)
        return CreateResult(id_, self._outputs(inputs, computed, step.organization))

    def read(self, id_: str, props: dict[str, Any], *, whole: bool = False) -> ReadResult:
        """``whole``: the values of fields managed only when declared too, where the live object sets them (an
        import, which declares what it finds; an empty one stays undeclared, as a program leaves it)."""
        step = self._context(props)
        found = self.kind.read(step, id_, props)
        if found is None:
            return ReadResult("", {})
        live, computed = found
        unmanaged = {
            name
            for name in self.kind.managed_when_declared
            if props.get(name) is None and not (whole and live.get(name) not in (None, "", [], {}))
        }
        live = {name: value for name, value in live.items() if name not in unmanaged}
        inputs = {**self._inputs_of(props), **live, "organization": step.organization}
        return ReadResult(id_, self._outputs(inputs, computed, step.organization), inputs)

    def update(self, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> UpdateResult:
        step = self._context(olds)
        inputs = self._inputs_of(news)
        if not any(self._differs(olds, news, name) for name in self._fields if name not in self.kind.create_only):
            # Only the recorded organization changes (bindOrganization): nothing to write to the account.
            return UpdateResult(self._outputs(inputs, _computed_of(self.kind, olds), step.organization))
        computed = self.kind.update(step, id_, self._inputs_of(olds) | _computed_of(self.kind, olds), inputs)
        return UpdateResult(self._outputs(inputs, computed, step.organization))

    def delete(self, id_: str, props: dict[str, Any]) -> None:
        step = self._context(props)
        self.kind.delete(step, id_, props)


def _other_organization(previous: str, settings: config.Settings) -> str:
    message = (
        f"this resource belongs to {previous}, but the provider is configured for {settings.organization_binding}: "
        "one stack manages one organization; point openai-billing:organization / baseUrl back at "
        f"{previous}, or use another stack"
    )
    if previous == settings.host and settings.organization:
        message += (
            f". If this stack was made before it named its organization and its resources are in "
            f"{settings.organization}, bind them once: pulumi config set openai-billing:bindOrganization "
            f"{settings.organization}"
        )
    return message


def _verify_organization(step: Step) -> str | None:
    """Before resources are taken into the configured organization: the admin key must belong to it (the API
    refuses a request whose OpenAI-Organization names another organization than the key's)."""
    try:
        step.figures.get("organization-verified", lambda: step.client.get("organization/projects", {"limit": 1}))
    except OpenAIError as exc:
        if exc.status in (401, 403):
            return (
                f"openai-billing:bindOrganization: the admin key does not belong to {step.settings.organization} "
                f"({exc}); nothing was bound"
            )
        raise
    return None


def _computed_of(kind: Kind, props: dict[str, Any]) -> dict[str, Any]:
    return {name: props.get(name) for name in kind.computed}


def _provider_class(kind: Kind) -> type[BillingProvider]:
    """``<Name>Provider``, importable from this module: state pickles a provider by reference to it."""
    name = f"{kind.name}Provider"
    return type(name, (BillingProvider,), {"kind": kind, "__module__": __name__, "__qualname__": name})


_classes: dict[str, type[BillingProvider]] = {}


def provider_class(kind: Kind | type[Kind]) -> type[BillingProvider]:
    """``<Name>Provider``, made once per kind: state pickles a provider by reference to it in
    ``pulumi_openai_billing.providers``, which exports every kind's class. Kinds hold no state, so the class a
    resource made first serves every later use."""
    name = f"{kind.name}Provider"
    if name not in _classes:
        instance = kind if isinstance(kind, Kind) else kind()
        defaults = {
            field: None if info.is_required() else info.get_default(call_default_factory=True)
            for field, info in instance.inputs.model_fields.items()
        }
        attributes = {
            "kind": instance,
            "defaults": defaults,
            "__module__": "pulumi_openai_billing.providers",
            "__qualname__": name,
        }
        _classes[name] = type(name, (BillingProvider,), attributes)
    return _classes[name]
