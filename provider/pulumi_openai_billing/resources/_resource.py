"""The ``pulumi.dynamic.Resource`` base of the public classes, and their type tokens."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar

import pulumi
import pulumi.dynamic

from ._kind import Kind
from ._provider import provider_class

TYPE_MODULE = "openai-billing"
TYPE_PREFIX = f"pulumi-python:dynamic/{TYPE_MODULE}:"
"""Every kind's type token is this plus its name (``pulumi.dynamic.Resource`` builds it from the class)."""


def _plain(value: Any) -> Any:
    """Decimals become strings before registration, so an exact amount never passes through a float."""
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, pulumi.Output):
        return value.apply(_plain)
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


class BillingResource(pulumi.dynamic.Resource):
    """Base of the public resources: registers inputs plus every output name with the kind's provider;
    secret inputs are wrapped as secrets and stay secret as outputs."""

    _kind: ClassVar[type[Kind]]

    organization: pulumi.Output[str]
    schema_version: pulumi.Output[int]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        """Every public class gets its type token from its kind: ``dynamic/openai-billing:<kind name>``."""
        kind = cls.__dict__.get("_kind")
        super().__init_subclass__(module=TYPE_MODULE, name=kind.name if kind else cls.__name__, **kwargs)

    def __init__(
        self, resource_name: str, arguments: Mapping[str, Any], opts: pulumi.ResourceOptions | None = None
    ) -> None:
        """``arguments`` may hold more than the inputs (a subclass passes its ``locals()``): only the kind's input
        model's fields are taken, so each keyword is written once, in the subclass's signature."""
        kind = self._kind
        fields = kind.inputs.model_fields
        props: dict[str, Any] = {k: _plain(v) for k, v in arguments.items() if k in fields and v is not None}
        for name in (*kind.inputs.model_fields, *kind.computed, "organization", "schema_version"):
            props.setdefault(name, None)
        secret = sorted(kind.secret_inputs)
        if secret:
            for name in secret:
                if props[name] is not None:
                    props[name] = pulumi.Output.secret(props[name])
            opts = pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(additional_secret_outputs=secret))
        super().__init__(provider_class(kind)(), resource_name, props, opts)
