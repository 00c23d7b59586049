"""The errors a program or script using this package may catch, in one place."""

from __future__ import annotations

from ._api.client import OpenAIError, OutcomeUnknown, RequestFailed, ThrottleWaitExceeded
from ._api.config import ConfigError
from .resources._base import ProviderError

__all__ = ["ConfigError", "OpenAIError", "OutcomeUnknown", "ProviderError", "RequestFailed", "ThrottleWaitExceeded"]
