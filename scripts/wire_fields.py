"""Field paths (``enforcement.status``) of wire objects: of a pydantic model, of the sandbox's OpenAPI answer
schemas, of a raw answer. Shared by scripts/upstream.py (newest SDK) and scripts/live_check.py (locked SDK);
it needs pydantic only."""

from __future__ import annotations

import typing
from typing import Any

from pydantic import BaseModel


def nested_models(annotation: Any) -> list[type[BaseModel]]:
    """The models an annotation holds, through Optional, Union, List, Annotated…"""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in nested_models(arg)]


def model_paths(model: type[BaseModel], prefix: str = "", depth: int = 4) -> list[str]:
    """Every field path of ``model``, a container field before its own fields."""
    paths: list[str] = []
    for name, info in model.model_fields.items():
        path = prefix + (info.alias or name)
        paths.append(path)
        if depth > 0:
            for inner in nested_models(info.annotation):
                paths += [p for p in model_paths(inner, path + ".", depth - 1) if p not in paths]
    return paths


def object_literal(model: type[BaseModel]) -> str | None:
    """The ``object`` a model answers (``organization.spend_limit``), when its field is one literal."""
    info = model.model_fields.get("object")
    values = typing.get_args(info.annotation) if info else ()
    return values[0] if len(values) == 1 and isinstance(values[0], str) else None


def _schema(doc: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    return _schema(doc, doc["components"]["schemas"][ref.rsplit("/", 1)[-1]]) if ref else schema


def schema_paths(doc: dict[str, Any], schema: dict[str, Any], prefix: str = "", depth: int = 4) -> set[str]:
    """Every field path an OpenAPI schema describes (through $ref, anyOf/oneOf/allOf and array items)."""
    schema = _schema(doc, schema)
    paths: set[str] = set()
    for part in schema.get("anyOf", []) + schema.get("oneOf", []) + schema.get("allOf", []):
        paths |= schema_paths(doc, part, prefix, depth)
    if "items" in schema:
        paths |= schema_paths(doc, schema["items"], prefix, depth)
    for name, inner in schema.get("properties", {}).items():
        paths.add(prefix + name)
        if depth > 0:
            paths |= schema_paths(doc, inner, f"{prefix}{name}.", depth - 1)
    return paths


def answer_objects(doc: dict[str, Any]) -> dict[str, set[str]]:
    """The sandbox's answer models by the ``object`` they answer: their field paths."""
    answers: dict[str, set[str]] = {}
    for schema in doc.get("components", {}).get("schemas", {}).values():
        obj = _schema(doc, schema.get("properties", {}).get("object", {}))
        for literal in obj.get("enum", []) + ([obj["const"]] if "const" in obj else []):
            answers.setdefault(literal, set()).update(schema_paths(doc, schema))
    return answers


def raw_paths(value: Any, prefix: str = "") -> set[str]:
    """Every field path of a raw JSON answer (list items merged)."""
    if isinstance(value, list):
        return {p for item in value for p in raw_paths(item, prefix)}
    if not isinstance(value, dict):
        return set()
    paths: set[str] = set()
    for name, inner in value.items():
        paths.add(prefix + name)
        paths |= raw_paths(inner, f"{prefix}{name}.")
    return paths
