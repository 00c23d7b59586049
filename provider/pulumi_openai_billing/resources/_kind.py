"""A resource kind: its models, what replaces and what is create-only, and its CRUD against the API."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar

from ._fields import InputModel, OutputModel
from ._step import Step

REFERENCES = frozenset({"project_id", "payment_method_id"})
"""The inputs that name a live object of the account (a project, a payment method)."""


class Kind(ABC):
    """One resource kind: its input model and its CRUD against the API.

    ``create``/``read``/``update`` return the *live* values: for ``read``, the input fields the API holds
    (the machinery keeps the rest from the previous state) and the computed outputs.
    """

    name: ClassVar[str]
    family: ClassVar[str] = ""
    """What the kind sets in a scope (``limit``, ``alert``…): policy rules and reports group kinds by it."""
    inputs: ClassVar[type[InputModel]]
    outputs: ClassVar[type[OutputModel]]
    """The computed outputs (outputs also repeat every input, plus ``organization`` and ``schema_version``)."""
    computed: ClassVar[tuple[str, ...]] = ()
    replace_on: ClassVar[frozenset[str]] = frozenset()
    create_only: ClassVar[frozenset[str]] = frozenset()
    delete_before_replace: ClassVar[bool] = False
    capability: ClassVar[str | None] = None
    """The billing-extension capability the kind needs (None: a real Admin API endpoint)."""
    references: ClassVar[frozenset[str]] = frozenset()
    """Inputs that name a live object (:data:`REFERENCES`): check refuses one that is not there."""
    managed_when_declared: ClassVar[frozenset[str]] = frozenset()
    """Inputs managed only when declared: left out, the live value is never sent and never read back as drift."""
    one_of: ClassVar[tuple[str, ...]] = ()
    """Inputs of which at least one must be declared (a resource that would manage nothing is refused)."""
    secret_inputs: ClassVar[frozenset[str]] = frozenset()
    """Inputs the resource wraps as secrets; never echoed back when check fails."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "outputs" in cls.__dict__:
            cls.computed = tuple(cls.outputs.model_fields)
        if "inputs" in cls.__dict__:
            cls.references = frozenset(REFERENCES & set(cls.inputs.model_fields))
            cls.create_only = cls.create_only & frozenset(cls.inputs.model_fields)
            if cls.project_scoped():
                cls.replace_on = cls.replace_on | {"project_id"}

    @classmethod
    def project_scoped(cls) -> bool:
        """Whether it lives in a project its inputs name (``project_id``): moving it to another replaces it."""
        return hasattr(cls, "inputs") and "project_id" in cls.inputs.model_fields

    def kept(self, olds: dict[str, Any]) -> dict[str, Any]:
        """The previous computed outputs, for an update that sends nothing."""
        return {name: olds.get(name) for name in self.computed}

    def check_change(self, olds: dict[str, Any], news: dict[str, Any]) -> list[tuple[str, str]]:
        """Changes refused at preview, from the previous canonical inputs (empty on create)."""
        return []

    def check_live(self, step: Step, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        """Checks at preview that need settings or the API (e.g. the project exists); known values only.
        ``olds`` are the previous canonical inputs (empty on create)."""
        return []

    def check_unchanged(self, step: Step, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        """The check of a resource whose inputs are what state holds: nothing will be written, so nothing is read
        (a preview with nothing to change costs no request per resource); a kind may still tell the step what
        it declares here."""
        return []

    @abstractmethod
    def create(self, step: Step, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]: ...

    @abstractmethod
    def read(self, step: Step, id_: str, olds: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """``(live input values, computed outputs)``, or None when the resource is gone."""

    @abstractmethod
    def update(self, step: Step, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]: ...

    @abstractmethod
    def delete(self, step: Step, id_: str, olds: dict[str, Any]) -> None: ...


def unknown_scope(kind: Kind, inputs: dict[str, Any]) -> bool:
    """A project resource whose ``project_id`` is not known yet (preview): its scope cannot be checked."""
    return kind.project_scoped() and not inputs.get("project_id")
