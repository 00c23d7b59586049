"""Errors in OpenAI's wire shape: ``{"error": {"message", "type", "param", "code"}}``, for every 4xx/5xx.

FastAPI's own answers (422 validation, 404 route, 405 method) are rewritten here so a client sees exactly
what the real API would send.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

INVALID_REQUEST = "invalid_request_error"
_JSON_HINT = (
    "We could not parse the JSON body of your request. (HINT: This likely means you aren't using your HTTP "
    "library correctly. The OpenAI API expects a JSON payload, but what was sent was not valid JSON.)"
)


class ApiError(Exception):
    """An answer in OpenAI's error shape; raised anywhere in a handler, rendered by the app."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        type: str = INVALID_REQUEST,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.param = param
        self.type = type
        self.headers = dict(headers or {})

    def response(self) -> JSONResponse:
        body = {"error": {"message": self.message, "type": self.type, "param": self.param, "code": self.code}}
        return JSONResponse(body, status_code=self.status, headers=self.headers)


def project_not_found(project_id: str) -> ApiError:
    return ApiError(404, f"No project found with id '{project_id}'.", code="project_not_found")


def validation_error(errors: Sequence[Mapping[str, Any]]) -> ApiError:
    """The first pydantic/FastAPI error as a 400 naming the field in ``param`` (dotted, ``[i]`` for items)."""
    first = errors[0] if errors else {"type": "value_error", "loc": (), "msg": "Invalid request"}
    kind = str(first.get("type", ""))
    if kind == "json_invalid":
        return ApiError(400, _JSON_HINT)
    param = _param(first.get("loc", ()))
    if kind == "extra_forbidden":
        return ApiError(400, f"Unrecognized request argument supplied: {param}", param=param)
    if kind == "missing":
        if param is None:
            return ApiError(400, "A JSON request body is required.")
        return ApiError(400, f"Missing required parameter: '{param}'.", param=param, code="missing_required_parameter")
    message = str(first.get("msg", "Invalid value")).removeprefix("Value error, ")
    if param is None:
        return ApiError(400, f"Invalid request body: {message}.")
    return ApiError(400, f"Invalid value for '{param}': {message}.", param=param, code="invalid_value")


def _param(loc: Sequence[Any]) -> str | None:
    """``("body", "notification_channel", "recipients", 0)`` -> ``notification_channel.recipients[0]``."""
    parts = list(loc)
    if parts and parts[0] in ("body", "query", "path", "header"):
        parts = parts[1:]
    text = ""
    for part in parts:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            name = str(part).removesuffix("[]")
            text += f".{name}" if text else name
    return text or None


def install_error_handlers(app: FastAPI) -> None:
    """Route every error FastAPI or a handler raises through OpenAI's error shape."""

    async def on_api_error(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, ApiError)
        return exc.response()

    async def on_validation(_: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_error(exc.errors()).response()

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, StarletteHTTPException)
        where = f"({request.method} {request.url.path})"
        if exc.status_code == 404:
            error = ApiError(404, f"Invalid URL {where}")
        elif exc.status_code == 405:
            error = ApiError(405, f"Method not allowed {where}", headers=exc.headers)
        else:
            error = ApiError(exc.status_code, str(exc.detail), headers=exc.headers)
        return error.response()

    app.add_exception_handler(ApiError, on_api_error)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(StarletteHTTPException, on_http)
