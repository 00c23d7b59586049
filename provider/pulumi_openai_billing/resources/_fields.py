"""The field types every kind's models share: strict closed models, described fields, exact dollar amounts,
ids, and the card-number guard that keeps a card out of a program, its state and its logs."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StringConstraints, ValidationError, ValidationInfo

from .._api.cards import is_card_number
from .._api.money import format_usd, parse_usd
from ..errors import ProviderError

SCHEMA_VERSION = 1


class InputModel(BaseModel):
    """Base of every resource's input model: strict, closed, canonical when dumped."""

    model_config = ConfigDict(extra="forbid", strict=True)


def field_problem(prop: str, error: Mapping[str, Any]) -> str:
    """An actionable sentence that starts with the property's name."""
    if error.get("type") == "missing":
        return f"{prop} is required"
    if error.get("type") == "extra_forbidden":
        return f"{prop} is not a property of this resource"
    message = str(error.get("msg", "is invalid"))
    for prefix in ("Value error, ", "Assertion failed, "):
        message = message.removeprefix(prefix)
    message = message.replace("Input should be", "must be").replace("String should", "must")
    if len(error.get("loc", ())) > 1:
        message = f"item {error['loc'][1]} {message}"
    return message if message.startswith(prop) else f"{prop} {message}"


class OutputModel(BaseModel):
    """Base of each kind's computed outputs: their types and descriptions (schema.json and the docs), and the
    one way a kind builds them (:meth:`of`), so a misnamed or mistyped output cannot reach state."""

    model_config = ConfigDict(extra="forbid", strict=True)

    @classmethod
    def of(cls, **values: Any) -> dict[str, Any]:
        try:
            return cls(**values).model_dump()
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join(str(part) for part in error.get("loc", ()))
            raise ProviderError(
                f"the API answered an unexpected {where}: {error.get('input')!r} ({error['msg']})"
            ) from None


class NoOutputs(OutputModel):
    """The computed outputs of a kind that has none: the setting is its inputs."""


def described(text: str) -> Any:
    """A field description: it reaches ``schema.json``, ``docs/reference.md`` and the CLI help."""
    return Field(description=text)


def usd_validator(minimum: Decimal) -> BeforeValidator:
    """Dollars (int, float, str or Decimal) -> the canonical two-decimal string, at least ``minimum``."""

    def validate(value: object, info: ValidationInfo) -> str:
        return format_usd(parse_usd(value, info.field_name or "amount", minimum=minimum))

    return BeforeValidator(validate)


UsdAmount = Annotated[str, usd_validator(Decimal("0"))]
"""A dollar amount ≥ 0 with at most two decimals, canonical as a two-decimal string."""

PositiveUsdAmount = Annotated[str, usd_validator(Decimal("0.01"))]
"""A dollar amount ≥ 0.01 with at most two decimals, canonical as a two-decimal string."""


def _whole_number(value: object) -> object:
    """Numbers reach the provider as floats (the engine's protobuf Struct has no integers): 3.0 is 3."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


WholeNumber = Annotated[int, BeforeValidator(_whole_number), Field(strict=True)]
"""An integer, given as a whole number (3 or 3.0, never "3", 3.5 or true)."""

ProjectId = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128, pattern=r"^[A-Za-z0-9_.:-]+$")
]

AcknowledgedMonth = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
"""A UTC calendar month as ``YYYY-MM``."""

CARD_NUMBER_MESSAGE = (
    "looks like a payment card number: card numbers never belong in a program, its state or its logs. "
    "Create a payment method token with your payment processor (such as pm_card_visa or pm_1Abc…) and pass "
    "the token instead"
)


def looks_like_card_number(value: object) -> bool:
    """13 to 19 digits (spaces and dashes allowed between them) that pass the Luhn check."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # a JSON number, as a card typed without quotes arrives through the engine
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        return False
    return is_card_number(str(value))


def contains_card_number(value: object) -> bool:
    if isinstance(value, dict):
        return any(contains_card_number(v) for v in value.values())
    if isinstance(value, list):
        return any(contains_card_number(v) for v in value)
    return looks_like_card_number(value)
