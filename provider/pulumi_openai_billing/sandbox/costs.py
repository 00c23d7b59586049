"""``GET /organization/costs``: recorded usage as daily cost buckets, in float dollars and lowercase ``usd``.

Buckets are UTC days (the first one holds ``start_time``); only usage in ``[start_time, end_time)`` counts.
Amounts are summed as exact Decimals and turned into floats only on the wire, as OpenAI sends them.
Array parameters are read in both spellings: ``group_by[]=x`` (the official SDK's) and ``group_by=x``.
"""

import base64
import binascii
from collections import defaultdict
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query

from . import answers
from .deps import ClockDep, StoreDep
from .errors import ApiError

router = APIRouter()
GroupBy = Literal["project_id", "line_item", "user_id", "api_key_id", "api_source"]
_DAY = 86400


def _repeated(name: str, item: Any) -> Any:
    """A dependency reading an array query parameter given as ``name[]=…`` and/or ``name=…``.

    Its annotations use ``item`` at definition time, which is why this module does without
    ``from __future__ import annotations``.
    """

    def read(
        brackets: Annotated[list[item] | None, Query(alias=f"{name}[]")] = None,
        plain: Annotated[list[item] | None, Query(alias=name)] = None,
    ) -> list[Any]:
        return [*(brackets or []), *(plain or [])]

    return Depends(read)


def _page_token(bucket_start: int) -> str:
    return base64.urlsafe_b64encode(f"costs:{bucket_start}".encode()).decode()


def _page_start(token: str) -> int:
    try:
        prefix, _, value = base64.urlsafe_b64decode(token.encode()).decode().partition(":")
        if prefix == "costs":
            return int(value)
    except (binascii.Error, UnicodeDecodeError, ValueError):
        pass
    raise ApiError(400, "Invalid 'page': not a next_page token of this endpoint.", param="page", code="invalid_value")


def _result(key: dict[str, Any], amount: Decimal) -> dict[str, Any]:
    return {
        "object": "organization.costs.result",
        "amount": {"value": float(amount), "currency": "usd"},
        "line_item": None,
        "project_id": None,
        **key,
    }


@router.get("/organization/costs", response_model=answers.CostPage, response_model_exclude_unset=True)
def costs(
    store: StoreDep,
    clock: ClockDep,
    start_time: Annotated[int, Query(ge=0)],
    group_by: Annotated[list[GroupBy], _repeated("group_by", GroupBy)],
    project_ids: Annotated[list[str], _repeated("project_ids", str)],
    line_items: Annotated[list[str], _repeated("line_items", str)],
    api_key_ids: Annotated[list[str], _repeated("api_key_ids", str)],
    end_time: Annotated[int | None, Query(ge=0)] = None,
    bucket_width: Literal["1d"] = "1d",
    limit: Annotated[int, Query(ge=1, le=180)] = 7,
    page: str | None = None,
) -> dict[str, Any]:
    """Daily cost buckets; usage recorded with an ``api_key_id`` groups and filters by it, and none carries a user."""
    end = clock.now() if end_time is None else end_time
    if end <= start_time:
        raise ApiError(400, "Invalid 'end_time': it must be after start_time.", param="end_time", code="invalid_value")
    first = start_time - start_time % _DAY
    begin = first if page is None else _page_start(page)
    if begin < first or begin >= end or (begin - first) % _DAY:
        raise ApiError(
            400, "Invalid 'page': it does not belong to this time range.", param="page", code="invalid_value"
        )
    starts = [s for s in range(begin, begin + limit * _DAY, _DAY) if s < end]
    stop = starts[-1] + _DAY
    fields = list(dict.fromkeys(group_by))
    sums: dict[int, dict[tuple[Any, ...], Decimal]] = defaultdict(lambda: defaultdict(Decimal))
    for row in store.usage(max(start_time, begin), min(end, stop)):
        if api_key_ids and row["api_key_id"] not in api_key_ids:
            continue
        if project_ids and row["project_id"] not in project_ids:
            continue
        if line_items and row["line_item"] not in line_items:
            continue
        key = tuple(_group_value(field, row) for field in fields)
        sums[row["timestamp"] - row["timestamp"] % _DAY][key] += Decimal(row["amount_usd"])
    data = [
        {
            "object": "bucket",
            "start_time": s,
            "end_time": s + _DAY,
            "results": [
                _result(dict(zip(fields, key, strict=True)), amount)
                for key, amount in sorted(sums[s].items(), key=lambda item: tuple(map(str, item[0])))
            ],
        }
        for s in starts
    ]
    has_more = stop < end
    return {"object": "page", "data": data, "has_more": has_more, "next_page": _page_token(stop) if has_more else None}


def _group_value(field: str, row: dict[str, Any]) -> Any:
    if field in ("project_id", "line_item", "api_key_id"):
        return row[field]
    return "unlabeled" if field == "api_source" else None
