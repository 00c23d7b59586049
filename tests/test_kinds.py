"""Each resource class says its kind's models again, for the reader and the type checker: these tests hold
the keywords and the output annotations equal to the models, so the two cannot drift."""

from __future__ import annotations

import inspect
import types
import typing
from typing import Any

import pytest

import pulumi_openai_billing as billing
from pulumi_openai_billing.resources import KINDS, Kind

ENGINE_OUTPUTS = {"organization", "schema_version"}


def _render(annotation: Any) -> str:
    """A model field's type as the class writes it inside ``pulumi.Output[...]`` (constraints dropped)."""
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _render(args[0])
    if origin is typing.Literal:
        return type(args[0]).__name__
    if origin in (typing.Union, types.UnionType):
        return " | ".join(_render(arg) for arg in args)
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_render(arg) for arg in args)}]"
    return "None" if annotation is type(None) else annotation.__name__


def _outputs(cls: type) -> dict[str, str]:
    annotations: dict[str, str] = {}
    for klass in reversed(cls.__mro__):
        annotations.update(vars(klass).get("__annotations__", {}))
    return {
        name: text.removeprefix("pulumi.Output[").removesuffix("]")
        for name, text in annotations.items()
        if isinstance(text, str) and text.startswith("pulumi.Output[")
    }


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_the_keywords_are_the_input_models_fields(kind: Kind) -> None:
    parameters = inspect.signature(getattr(billing, kind.name).__init__).parameters
    keywords = {name: p for name, p in parameters.items() if p.kind is p.KEYWORD_ONLY and name != "opts"}
    fields = kind.inputs.model_fields
    assert set(keywords) == set(fields)
    for name, field in fields.items():
        parameter = keywords[name]
        assert (parameter.default is parameter.empty) == field.is_required(), name
        if not field.is_required():
            assert parameter.default == field.default, name
            assert str(parameter.annotation).endswith("| None") == (field.default is None), name


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_the_output_annotations_are_the_models_fields_with_their_types(kind: Kind) -> None:
    outputs = _outputs(getattr(billing, kind.name))
    assert set(outputs) == {*kind.inputs.model_fields, *kind.computed, *ENGINE_OUTPUTS}
    for name in kind.computed:
        assert outputs[name] == _render(kind.outputs.model_fields[name].annotation), name
    for name, field in kind.inputs.model_fields.items():
        assert outputs[name].endswith("| None") == (field.default is None and not field.is_required()), name


def test_a_keyword_outside_the_model_is_refused_by_python_not_sent() -> None:
    with pytest.raises(TypeError, match="monthly_limit"):
        billing.OrganizationSpendLimit("cap", monthly_limit=100)  # type: ignore[call-arg]


def test_render_names_the_types_as_written() -> None:
    assert _render(int) == "int"
    assert _render(str | None) == "str | None"
    assert _render(list[typing.Annotated[str, "x"]]) == "list[str]"
    assert _render(typing.Optional[typing.Literal["a", "b"]]) == "str | None"  # noqa: UP045
