"""Property-based: every resource's ``check`` over arbitrary JSON-like inputs never raises, and either returns
canonical inputs (which check again to themselves) or names each failing field; it never writes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import ADMIN_KEY, Api
from pulumi_openai_billing import providers, resources
from pulumi_openai_billing._api import config
from pulumi_openai_billing.resources.hosted_tools import TOOLS
from pulumi_openai_billing.resources.rate_limits import MAXIMA
from pulumi_openai_billing.sandbox import Sandbox

KINDS = {kind.name: kind for kind in resources.KINDS}

_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**12), max_value=10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=30),
    st.sampled_from(["100", "99.99", "0", "-1", "1e3", "a@example.com", "pm_card_visa", "4242424242424242", "2026-11"]),
)
_json = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=8,
)


_amounts = st.one_of(
    st.integers(min_value=0, max_value=5000),
    st.decimals(min_value=0, max_value=5000, places=2).map(str),
    st.floats(min_value=0, max_value=5000).map(lambda f: round(f, 2)),
)
_PLAUSIBLE: dict[str, st.SearchStrategy[Any]] = {
    "recipients": st.lists(st.sampled_from(["a@example.com", "B@Example.COM", " c@x.io", "bad"]), max_size=3),
    "project_id": st.sampled_from(["proj_missing", "proj bad"]),
    "on_delete": st.sampled_from(["retain", "remove", "archive", "restore", "keep"]),
    "name": st.text(min_size=0, max_size=20),
    "residency": st.sampled_from([None, "EU_STORAGE_PROCESSING", "MARS"]),
    "external_key_id": st.sampled_from([None, "ek_1", ""]),
    "mode": st.sampled_from(["allow_list", "deny_list", "maybe"]),
    "model_ids": st.lists(st.sampled_from(["gpt-4o", "o3", " gpt-4o ", "", 5]), max_size=3),
    "model": st.sampled_from(["gpt-4o", "gpt-9", ""]),
    "default": st.sampled_from([None, "standard", "scale", "turbo"]),
    "enabled_tiers": st.sampled_from([None, "all", [], ["flex", "fast"], ["all", "flex"], ["turbo"]]),
    "subject_prefix": st.one_of(st.none(), st.text(max_size=20)),
    "acknowledge_until": st.sampled_from(["2026-11", "2020-01", "soon", None]),
    "token": st.sampled_from(["pm_card_visa", "pm_card_mastercard", "4242 4242 4242 4242", "x"]),
    "purchase_key": st.text(alphabet="abc-123", min_size=1, max_size=10),
    "payment_method_id": st.sampled_from([None, "pm_missing"]),
    "adopt_alert_id": st.sampled_from([None, "alert_missing", "bad id"]),
}


def _plausible(name: str) -> st.SearchStrategy[Any]:
    if name.endswith("_usd"):
        return _amounts
    if name in ("adopt_existing", "allow_above_limit", "enabled", *TOOLS):
        return st.one_of(st.none(), st.booleans())
    if name in MAXIMA:
        return st.one_of(st.none(), st.integers(min_value=-1, max_value=10**6))
    return _PLAUSIBLE.get(name, _json)


def _props(kind: str) -> st.SearchStrategy[dict[str, Any]]:
    model = KINDS[kind].inputs
    fields = list(model.model_fields)
    arbitrary = st.dictionaries(st.sampled_from([*fields, "colour"]), _json, max_size=len(fields) + 1)
    required = {n: _plausible(n) for n, f in model.model_fields.items() if f.is_required()}
    optional = {n: _plausible(n) for n, f in model.model_fields.items() if not f.is_required()}
    return st.one_of(arbitrary, st.fixed_dictionaries(required, optional=optional))


@pytest.fixture(scope="module")
def account() -> Iterator[Sandbox]:
    with Sandbox(ADMIN_KEY, rate_limit="off") as sandbox:
        config.set_process_config(
            {
                "openai-billing:baseUrl": sandbox.base_url,
                "openai-billing:adminKey": ADMIN_KEY,
                "openai-billing:maxRetries": "0",
            }
        )
        yield sandbox
        config.set_process_config({})


@pytest.mark.parametrize("kind", sorted(KINDS))
def test_check_never_raises_and_names_what_it_refuses(account: Sandbox, kind: str) -> None:
    provider = providers.PROVIDERS[kind]()
    fields = set(provider.kind.inputs.model_fields)
    api = Api(account)
    writes_before = api.writes()

    accepted = []

    @settings(
        max_examples=80, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.function_scoped_fixture]
    )
    @given(news=_props(kind))
    def run(news: dict[str, Any]) -> None:
        result = provider.check({}, news)
        if result.failures:
            for failure in result.failures:
                # Reported for the resource, the reason naming its property first (or the setting at fault).
                named = failure.reason.split(" ", 1)[0].rstrip(":")
                assert failure.property == "" and named in fields | {"colour", "openai-billing"}, failure
            return
        canonical = {k: v for k, v in result.inputs.items() if k != "organization"}
        assert set(canonical) <= fields
        accepted.append(canonical)
        again = provider.check({}, canonical)
        assert again.failures == [] and {k: v for k, v in again.inputs.items() if k != "organization"} == canonical

    run()
    fields = provider.kind.inputs.model_fields
    if not any(fields[name].is_required() for name in provider.kind.references):  # else a live id is needed
        assert accepted, "the strategy must also reach valid inputs"
    assert api.writes() == writes_before, "check never writes"
