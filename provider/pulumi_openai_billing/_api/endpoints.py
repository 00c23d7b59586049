"""What OpenAI's Admin API throttle counts as one endpoint: the method and the path with its ids replaced.

``GET organization/projects/proj_Ab3…/spend_alerts`` and ``GET /v1/organization/projects/proj_Zz9…/spend_alerts``
are both ``GET /organization/projects/{id}/spend_alerts``; a rate limit's id (``rl-`` and its model: ``rl-gpt-4o``,
``rl-text-embedding-3-small``) is an id too. Shared by the client (which paces each endpoint) and the sandbox (which
throttles each), so both count the same way. No dependency beyond the standard library.
"""

from __future__ import annotations

import functools
import re

__all__ = ["endpoint"]

_ID = re.compile(r"^(?:[a-z]+[_-][A-Za-z0-9]*[0-9A-Z][A-Za-z0-9]*|[0-9]+|[0-9a-fA-F-]{16,}|rl-.+)$")
_VERSION = re.compile(r"^v[0-9]+$")


@functools.lru_cache(maxsize=4096)
def endpoint(method: str, path: str) -> str:
    segments = [s for s in path.split("?", 1)[0].split("/") if s]
    if segments and _VERSION.match(segments[0]):
        segments = segments[1:]
    return f"{method.upper()} /" + "/".join("{id}" if _ID.match(s) else s for s in segments)
