"""Every kind's importable ``<Name>Provider`` (state pickles providers by reference to this module's path, so it
stays where it is) and :data:`PROVIDERS`; the machinery itself is ``resources._provider``."""

from __future__ import annotations

from .resources import KINDS
from .resources._provider import PROVIDER_KEY, BillingProvider, provider_class

__all__ = ["PROVIDERS", "PROVIDER_KEY", "BillingProvider"]

PROVIDERS: dict[str, type[BillingProvider]] = {kind.name: provider_class(kind) for kind in KINDS}
"""Each kind's provider class by the kind's name; each is also this module's ``<Name>Provider``."""
globals().update({cls.__name__: cls for cls in PROVIDERS.values()})
