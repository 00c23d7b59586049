"""The one HTTP client: auth, organization header, timeouts, pacing under the API's throttle, retries, error
mapping and paging.

One pooled ``httpx.Client`` per process and per settings, shared by the plugin server's worker threads. Each
request first takes its endpoint's turn (``pace``); a 429 is a throttle, waited out within its own budget
(``rateLimitWaitSeconds``), never counted against ``maxRetries``; other failures retry as before.
"""

from __future__ import annotations

import email.utils
import random
import sys
import threading
import time
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from .. import __version__
from .config import Settings, logger, scrub
from .endpoints import endpoint
from .pace import Pacer

USER_AGENT = f"pulumi-openai-billing/{__version__} (+python; httpx/{httpx.__version__})"
_RETRY_STATUSES = frozenset({500, 502, 503, 504})
_MAX_RETRY_AFTER_SECONDS = 60.0
_MIN_THROTTLE_WAIT = 0.05
"""A 429 always costs at least this much of the wait budget, so a server answering "retry now" forever ends."""
REPORT_WAITS_FROM = 5.0
REPORT_WAITS_EVERY = 60.0
"""A request's wait for the throttle is reported once it passes 5 s, then every further minute."""
_PAGE_SIZE = 100
RETRY_COUNT_HEADER = "X-Retry-Count"
"""Sent on every re-send with the number of earlier attempts, so a server log can tell retries apart."""


class OpenAIError(Exception):
    """An error answer from the API, carrying OpenAI's error object and the request id."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str | None = None,
        code: str | None = None,
        param: str | None = None,
        request_id: str | None = None,
        method: str = "",
        path: str = "",
    ) -> None:
        self.status = status
        self.message = scrub(message)
        self.type = type
        self.code = code
        self.param = param
        self.request_id = request_id
        self.method = method
        self.path = path
        self.gave_up = ""
        self.hint = ""
        """What to do about it, when the answer alone does not say (a project key, the wrong organization…)."""
        super().__init__(str(self))

    @property
    def unknown_path(self) -> bool:
        """The API has no such path at all ("Invalid URL"): the base URL is wrong, nothing is missing."""
        return self.status == 404 and self.message.startswith("Invalid URL")

    @property
    def gone(self) -> bool:
        """The object asked for does not exist (a 404 for a path the API knows)."""
        return self.status == 404 and not self.unknown_path

    def __str__(self) -> str:
        what = f" {self.code}" if self.code else f" {self.type}" if self.type else ""
        where = f" on {self.method} {self.path}" if self.method else ""
        rid = f" (request id {self.request_id})" if self.request_id else ""
        hint = f". {self.hint}" if self.hint else ""
        return f"OpenAI API error {self.status}{what}{where}: {self.message}{rid}{self.gave_up}{hint}"


class RequestFailed(Exception):
    """The request could not be completed (network failure after retries)."""


class OutcomeUnknown(RequestFailed):
    """A non-idempotent request was sent but no answer came back: it may or may not have taken effect."""


def transient(exc: Exception) -> bool:
    """A failure retries may have outlasted (429, 5xx, no answer), rather than a refusal of the request itself."""
    if isinstance(exc, OpenAIError):
        return exc.status == 429 or exc.status in _RETRY_STATUSES
    return isinstance(exc, RequestFailed)


_reporter: list[Any] = []


def set_wait_reporter(report: Any) -> None:
    """Call ``report(endpoint, seconds, remaining)`` when a request's wait for the throttle passes 5 s, then
    every further minute (``seconds``: its wait so far, this one included; ``remaining``: requests left as
    the API said, or None). The CLI commands and the provider's plugin print it on standard error."""
    _reporter[:] = [report]


def wait_line(key: str, seconds: float, remaining: str | None) -> str:
    """``openai-billing: waiting for OpenAI's rate limit on GET /organization/projects (9 s so far…)``."""
    left = f"; the API says {remaining} requests are left" if remaining is not None else ""
    return f"openai-billing: waiting for OpenAI's rate limit on {key} ({seconds:.0f} s so far{left})"


def report_waits_on_stderr() -> None:
    set_wait_reporter(lambda key, seconds, remaining: print(wait_line(key, seconds, remaining), file=sys.stderr))


def _report_wait(key: str, before: float, after: float, remaining: str | None) -> None:
    """Report when a request's total wait goes from ``before`` to ``after`` across 5 s, 65 s, 125 s…"""

    def mark(seconds: float) -> int:
        return -1 if seconds < REPORT_WAITS_FROM else int((seconds - REPORT_WAITS_FROM) // REPORT_WAITS_EVERY)

    if _reporter and mark(after) > mark(before):
        _reporter[0](key, after, remaining)


class ThrottleWaitExceeded(Exception):
    """The API kept throttling an endpoint for longer than ``rateLimitWaitSeconds``."""


class BillingClient:
    """Thin typed access to the Admin API with OpenAI's auth, errors and list paging."""

    def __init__(self, settings: Settings, *, transport: httpx.BaseTransport | None = None) -> None:
        self.settings = settings
        self.pacer = Pacer(settings.base_url, settings.organization, settings.requests_per_minute)
        headers = {
            "Authorization": f"Bearer {settings.require_key()}",
            "User-Agent": USER_AGENT,
            "Accept": "application/json",
        }
        if settings.organization:
            headers["OpenAI-Organization"] = settings.organization
        self._http = httpx.Client(
            base_url=settings.base_url + "/",
            headers=headers,
            timeout=httpx.Timeout(settings.timeout_seconds, connect=min(10.0, settings.timeout_seconds)),
            limits=httpx.Limits(max_connections=16, max_keepalive_connections=8),
            transport=transport,
        )

    def close(self) -> None:
        self._http.close()

    def get(self, path: str, params: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return self.request("GET", path, params=params)

    def delete(self, path: str) -> dict[str, Any]:
        return self.request("DELETE", path)

    def post(
        self, path: str, body: Mapping[str, Any], *, idempotent: bool, headers: Mapping[str, str] | None = None
    ) -> dict[str, Any]:
        """POST; ``idempotent`` says whether sending it twice is harmless (upserts, full replaces, or a
        request carrying an ``Idempotency-Key`` the server honours)."""
        return self.request("POST", path, json=body, idempotent=idempotent, headers=headers)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json: Mapping[str, Any] | None = None,
        idempotent: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> dict[str, Any]:
        """Send after the endpoint's turn; wait out throttling within ``rateLimitWaitSeconds``; retry other
        failures with backoff and jitter within ``maxRetries`` and ``retryBudgetSeconds`` (throttle waits apart).

        A non-idempotent request is re-sent only when it surely was not processed (refused with 429, or the
        connection was never made); otherwise :class:`OutcomeUnknown` lets the caller reconcile first.
        """
        started = time.monotonic()
        attempt = sends = 0
        key = endpoint(method, path)
        waited = 0.0
        remaining: str | None = None
        while True:
            wait = self.pacer.reserve(key)
            if wait > 0:
                if waited + wait > self.settings.rate_limit_wait_seconds:
                    raise _throttled_too_long(key, waited, wait, self.settings)
                _report_wait(key, waited, waited + wait, remaining)
                time.sleep(wait)
                waited += wait
            sent = {**(headers or {}), RETRY_COUNT_HEADER: str(sends)} if sends else headers
            sends += 1
            sent_at = self.pacer.clock()
            try:
                response = self._http.request(method, path.lstrip("/"), params=params, json=json, headers=sent)
            except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
                failure: Exception = RequestFailed(
                    f"{method} {path}: could not connect to {self.settings.base_url}: {scrub(str(exc))}"
                )
                delay = _backoff(attempt)
            except httpx.TransportError as exc:
                detail = f"{method} {path}: the connection failed after the request was sent ({type(exc).__name__})"
                if not idempotent:
                    raise OutcomeUnknown(detail) from None
                failure = RequestFailed(detail)
                delay = _backoff(attempt)
            else:
                logger.debug(
                    "%s %s -> %s (%s)", method, path, response.status_code, response.headers.get("x-request-id")
                )
                if response.status_code < 400:
                    self.pacer.succeeded(key, sent_at)
                    return _json(response)
                failure = _error(response, method, path)
                failure.hint = explain(failure, self.settings)
                if response.status_code == 429:
                    # Throttled: refused before it was processed, so even a create is sent again, after its turn.
                    retry_after = _retry_after(response)
                    self.pacer.throttled(key, retry_after, sent_at)
                    remaining = response.headers.get("x-ratelimit-remaining-requests")
                    waited += _MIN_THROTTLE_WAIT
                    if waited > self.settings.rate_limit_wait_seconds:
                        raise _throttled_too_long(key, waited, 0.0, self.settings, failure)
                    logger.debug("%s %s throttled (429); waiting for its turn", method, path)
                    continue
                if response.status_code in _RETRY_STATUSES:
                    if not idempotent:
                        raise OutcomeUnknown(f"{method} {path}: {failure}") from None
                    delay = _retry_after(response) or _backoff(attempt)
                else:
                    raise failure
            elapsed = time.monotonic() - started - waited
            if attempt >= self.settings.max_retries or elapsed + delay > self.settings.retry_budget_seconds:
                raise _gave_up(failure, attempt + 1, elapsed)
            attempt += 1
            logger.debug("retrying %s %s in %.2fs (attempt %d): %s", method, path, delay, attempt, failure)
            time.sleep(delay)

    def list_all(self, path: str, params: Mapping[str, Any] | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a cursor-paged list, 100 a page, following ``after=last_id``."""
        query: dict[str, Any] = {**(params or {}), "limit": _PAGE_SIZE}
        while True:
            page = self.get(path, query)
            data = page.get("data") or []
            yield from data
            last_id = page.get("last_id") or (data[-1].get("id") if data else None)
            if not page.get("has_more") or not last_id:
                return
            query["after"] = last_id


def _json(response: httpx.Response) -> dict[str, Any]:
    try:
        body = response.json()
    except ValueError:
        raise RequestFailed(
            f"{response.request.method} {response.request.url.path}: "
            f"the answer is not JSON (status {response.status_code})"
        ) from None
    if not isinstance(body, dict):
        raise RequestFailed(f"{response.request.method} {response.request.url.path}: unexpected answer shape")
    return body


def _error(response: httpx.Response, method: str, path: str) -> OpenAIError:
    try:
        err = response.json().get("error") or {}
    except (ValueError, AttributeError):
        err = {}
    if not isinstance(err, dict):
        err = {"message": str(err)}
    return OpenAIError(
        response.status_code,
        str(err.get("message") or response.reason_phrase or "request failed"),
        type=err.get("type"),
        code=err.get("code"),
        param=err.get("param"),
        request_id=response.headers.get("x-request-id"),
        method=method,
        path="/" + path.lstrip("/"),
    )


ADMIN_KEYS_PAGE = "https://platform.openai.com/settings/organization/admin-keys"


def explain(failure: OpenAIError, settings: Settings) -> str:
    """What an answer means for this provider's user, where OpenAI's message does not say it."""
    key = settings.admin_key or ""
    if failure.status == 401 and failure.code == "mismatched_organization":
        return (
            f"The admin key does not belong to {settings.organization} (openai-billing:organization or "
            "OPENAI_BILLING_ORGANIZATION): use that organization's admin key, or correct the setting"
        )
    if failure.status in (401, 403) and not key.startswith("sk-admin-"):
        kind = "a project key (sk-proj-…)" if key.startswith("sk-proj-") else "not an admin key"
        return (
            f"The key is {kind}: the Admin API takes only admin keys (sk-admin-…), which organization owners "
            f"create at {ADMIN_KEYS_PAGE}"
        )
    if failure.unknown_path:
        version = settings.base_url.rstrip("/").rsplit("/", 1)[-1]
        return (
            f"The API has no such path under {settings.base_url}: its base URL ends in /v1 "
            f"(https://api.openai.com/v1), not /{version}"
            if version != "v1"
            else f"The API at {settings.base_url} has no such path: is it OpenAI's Admin API or a gateway for it?"
        )
    return ""


def _gave_up(failure: Exception, attempts: int, elapsed: float) -> Exception:
    """The last failure, saying how hard the client tried."""
    note = f" (gave up after {attempts} attempt{'s' if attempts > 1 else ''} in {elapsed:.1f} s)"
    if isinstance(failure, OpenAIError):
        failure.gave_up = note if attempts > 1 else ""
        return failure
    return RequestFailed(f"{failure}{note}")


def _throttled_too_long(
    key: str, waited: float, wait: float, settings: Settings, failure: OpenAIError | None = None
) -> Exception:
    """The error when the throttle outlasts ``rateLimitWaitSeconds``: which endpoint, how long, what to raise."""
    note = (
        f"OpenAI's rate limit on {key} held this request for {waited:.0f} s"
        + (f" and wants {wait:.1f} s more" if wait else "")
        + f", more than openai-billing:rateLimitWaitSeconds ({settings.rate_limit_wait_seconds:g} s): raise it "
        "(or OPENAI_BILLING_RATE_LIMIT_WAIT_SECONDS), or run with fewer resources at once"
    )
    if failure is not None:
        failure.gave_up = f" ({note})"
        return failure
    return ThrottleWaitExceeded(note)


def _backoff(attempt: int) -> float:
    """Exponential (0.25 s doubling to at most 8 s) with "equal jitter": half fixed, half random."""
    return float(min(8.0, 0.25 * 2**attempt) * (0.5 + random.random() / 2))


def _retry_after(response: httpx.Response) -> float | None:
    """``retry-after-ms`` (read first, as the official SDK does), else ``Retry-After`` (seconds or a date)."""
    millis = response.headers.get("retry-after-ms")
    if millis:
        try:
            return max(0.0, min(float(millis) / 1000, _MAX_RETRY_AFTER_SECONDS))
        except ValueError:
            pass
    raw = response.headers.get("retry-after")
    if not raw:
        return None
    try:
        seconds = float(raw)
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(raw) if raw else None
        seconds = parsed.timestamp() - time.time() if parsed else 0.0
    return max(0.0, min(seconds, _MAX_RETRY_AFTER_SECONDS))


_clients: dict[tuple[Any, ...], BillingClient] = {}
_clients_lock = threading.Lock()
_transport: httpx.BaseTransport | None = None


def use_transport(transport: httpx.BaseTransport | None) -> None:
    """Send every pooled client's requests through ``transport`` (tests: an ``httpx.MockTransport`` in front of
    the sandbox's app, in this process); None goes back to the network. Clients pooled before are closed."""
    global _transport
    close_all()
    with _clients_lock:
        _transport = transport


def close_all() -> None:
    """Close and forget this process's pooled clients (a long-lived process whose accounts change: tests)."""
    with _clients_lock:
        for pooled in _clients.values():
            pooled.close()
        _clients.clear()


def get_client(settings: Settings) -> BillingClient:
    """The process's pooled client for these settings, created on first use."""
    key = (
        settings.base_url,
        settings.admin_key,
        settings.organization,
        settings.timeout_seconds,
        settings.max_retries,
        settings.retry_budget_seconds,
        settings.requests_per_minute,
        settings.rate_limit_wait_seconds,
    )
    with _clients_lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = BillingClient(settings, transport=_transport)
        return client
