"""What-if: replay daily costs against a billing configuration, day by day (UTC), as OpenAI's rules would.

A pure model: no I/O, no clock. Give it a configuration (limits and alerts per scope, optionally an
auto-reload policy and credit grants) and the costs per project per day, and it returns what would have
happened: month-to-date spend per scope, alert e-mails, the days each limit would have refused traffic and
how much, auto-reloads and the credit balance.

Assumptions (the README's "What if?" section repeats them):

* **Day granularity.** Costs come as one amount per project per UTC day; nothing is known within a day.
  Negative amounts (adjustments) are left out, which errs on the side of spending more.
* **A limit enforces from the day it is reached.** On that day, spend above the limit is refused; every
  later day of the month is refused in full. (OpenAI stops traffic shortly after the limit is reached: this
  errs on the side of refusing.) An API key's limit applies first, to the spend made with that key; then a
  project's limit; then the organization's, to what all projects spend together. On the day a limit is
  reached, each spender under it (a project's keys, the organization's projects) keeps the same share of its
  spend. Refused spend never happened: it counts toward no alert, no limit and no credit.
* **Key limits need costs grouped by key.** Spend without an ``api_key_id`` is subject to no key limit; a key's
  spend without a project is the project's the configuration gives the key.
* **Alerts** send one e-mail per month, on the first day with spend on which the scope's month-to-date spend
  is at or above the threshold.
* **Months roll over on the 1st** (UTC): month-to-date spend, alert e-mails, limit enforcement and the
  monthly reload total start again.
* **Credit** is consumed oldest grant first. A grant is usable from the day it is granted until it expires
  (365 days later unless given). After each day with spend, a balance below the policy's threshold reloads
  up to the target, in whole cents, unless that would take the month's reloads past the monthly limit (then
  no reload happens: reloads are never partial). Spend beyond the balance is reported as uncovered.
* **The costs endpoint lags** real usage by minutes to hours: the last day of a replay may be incomplete.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import ROUND_CEILING, ROUND_HALF_EVEN, Decimal
from typing import Any, NamedTuple

from .._api.costs import CostResult
from .._api.fields import ORGANIZATION
from .._api.months import month_name
from .config import BillingConfig, CreditGrantConfig, key_scope

GRANT_LIFETIME = timedelta(days=365)
_EXACT = Decimal("0.000001")
_CENT = Decimal("0.01")
_ZERO = Decimal(0)


class ApiKeySpend(NamedTuple):
    """Spend made with one project API key (``project_id`` None: the costs give no project for it)."""

    project_id: str | None
    api_key_id: str


Spender = str | ApiKeySpend | None
"""Who spent: a project id (None: no project), or an API key of a project when the costs group by key."""

DailyCosts = Mapping[date, Mapping[str | None, Decimal] | Mapping[Spender, Decimal]]
"""Spend per UTC day, per project id (None: spend the costs endpoint attributes to no project) or per
:class:`ApiKeySpend` (costs grouped by key)."""

_Who = tuple[str | None, str | None]
"""A spender inside the replay: ``(project id, API key id)``, either None when the costs do not say."""

NOT_BY_KEY = (
    "note: the configuration has API key limits but the costs do not group by api_key_id, so no key limit "
    "refused anything"
)


@dataclass(frozen=True)
class DaySpend:
    """One scope on one day: what it spent (allowed), what was refused, and month-to-date spend after it."""

    day: date
    spend_usd: Decimal
    refused_usd: Decimal
    month_to_date_usd: Decimal


@dataclass(frozen=True)
class AlertFired:
    scope: str
    threshold_usd: Decimal
    day: date


@dataclass(frozen=True)
class LimitOutcome:
    """One limit in one month: the day spend reached it, the days it refused spend, and how much."""

    scope: str
    month: str
    limit_usd: Decimal
    reached_on: date | None
    blocked_days: tuple[date, ...]
    refused_usd: Decimal

    @property
    def first_blocked_on(self) -> date | None:
        return self.blocked_days[0] if self.blocked_days else None


@dataclass(frozen=True)
class Reload:
    """An auto-reload: made (charged ``amount_usd``), or stopped because the month's reloads would pass the
    monthly limit (then ``month_total_usd`` is the total already reloaded)."""

    day: date
    amount_usd: Decimal
    month_total_usd: Decimal
    stopped_by_monthly_limit: bool


@dataclass(frozen=True)
class Totals:
    demand_usd: Decimal
    """Every cost in the input, as if no limit applied."""
    spend_usd: Decimal
    """What would have been spent: demand minus refused."""
    refused_usd: Decimal
    reloaded_usd: Decimal
    reloads: int
    alerts_fired: int
    uncovered_usd: Decimal
    """Spend no credit covered (only counted when credit grants or a top-up policy are configured)."""


@dataclass(frozen=True)
class Simulation:
    start: date
    end: date
    """The first day after the replay."""
    scopes: tuple[str, ...]
    """``organization`` first, then the configured projects by name, each followed by its keys
    (``project/key id``)."""
    spend: dict[str, tuple[DaySpend, ...]]
    alerts: tuple[AlertFired, ...]
    limits: tuple[LimitOutcome, ...]
    reloads: tuple[Reload, ...]
    balance: tuple[tuple[date, Decimal], ...]
    """End-of-day credit balance (empty when no credit is configured)."""
    totals: Totals
    uncovered: tuple[tuple[date, Decimal], ...] = ()
    """End-of-day spend the credit did not cover, cumulative from ``start`` (empty without credit)."""
    notes: tuple[str, ...] = ()
    """What the replay could not apply, one line each (key limits without costs grouped by key)."""

    def limit_of(self, scope: str) -> tuple[LimitOutcome, ...]:
        return tuple(outcome for outcome in self.limits if outcome.scope == scope)

    def to_json(self) -> dict[str, Any]:
        """Plain JSON values: dates as ISO strings, dollars as strings (exact)."""
        plain: dict[str, Any] = _plain(asdict(self))
        return plain


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, Decimal):
        return usd_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def usd_text(value: Decimal) -> str:
    """Exact dollars as text: at least two decimals, no trailing zeros beyond them (``12.50``, ``0.123456``)."""
    text = format(value.normalize(), "f")
    whole, _, fraction = text.partition(".")
    return f"{whole}.{fraction.ljust(2, '0')}"


def days(start: date, end: date) -> Iterable[date]:
    day = start
    while day < end:
        yield day
        day += timedelta(days=1)


@dataclass
class _Grant:
    remaining: Decimal
    granted_on: date
    expires_on: date

    def usable(self, day: date) -> bool:
        return self.granted_on <= day < self.expires_on and self.remaining > 0


@dataclass
class _Credit:
    grants: list[_Grant] = field(default_factory=list)
    uncovered: Decimal = _ZERO

    def balance(self, day: date) -> Decimal:
        return sum((g.remaining for g in self.grants if g.usable(day)), _ZERO)

    def consume(self, amount: Decimal, day: date) -> None:
        left = amount
        for grant in sorted((g for g in self.grants if g.usable(day)), key=lambda g: g.granted_on):
            used = min(grant.remaining, left)
            grant.remaining -= used
            left -= used
            if left <= 0:
                return
        self.uncovered += left


def _grant(config: CreditGrantConfig) -> _Grant:
    expires = config.expires_on or config.granted_on + GRANT_LIFETIME
    return _Grant(config.amount_usd, config.granted_on, expires)


def simulate(config: BillingConfig, costs: DailyCosts, start: date, end: date) -> Simulation:
    """Replay ``costs`` from ``start`` to ``end`` (exclusive) against ``config``."""
    if end <= start:
        raise ValueError(f"the replay must cover at least one day: {start} to {end}")
    project_scope: dict[str | None, str] = {p.project_id: name for name, p in config.projects.items()}
    key_scopes = {key: key_scope(name, key) for name, p in config.projects.items() for key in p.api_keys}
    key_project = {key: p.project_id for p in config.projects.values() for key in p.api_keys}
    scopes = tuple(config.scopes())

    def key_scope_of(who: _Who) -> str | None:
        return key_scopes.get(who[1]) if who[1] is not None else None

    def project_scope_of(who: _Who) -> str | None:
        return project_scope.get(who[0])

    limit_of = {scope: c.monthly_limit_usd for scope, c in config.scopes().items()}
    alerts_of = {scope: c.alerts for scope, c in config.scopes().items()}
    credit = _Credit([_grant(g) for g in config.credit_grants]) if config.credit_grants or config.top_up else None

    spend: dict[str, list[DaySpend]] = {scope: [] for scope in scopes}
    fired: list[AlertFired] = []
    limits: list[LimitOutcome] = []
    reloads: list[Reload] = []
    balance: list[tuple[date, Decimal]] = []
    uncovered: list[tuple[date, Decimal]] = []
    demand_total = refused_total = _ZERO
    by_key = False

    month = ""
    to_date: dict[str, Decimal] = {}
    reached: dict[str, date | None] = {}
    blocked: dict[str, list[date]] = {}
    refused: dict[str, Decimal] = {}
    sent: set[tuple[str, int]] = set()
    reloaded = _ZERO
    reload_stopped = False

    def close_month() -> None:
        for scope in scopes:
            cap = limit_of[scope]
            if cap is not None:
                limits.append(LimitOutcome(scope, month, cap, reached[scope], tuple(blocked[scope]), refused[scope]))

    for day in days(start, end):
        if month_name(day) != month:
            if month:
                close_month()
            month = month_name(day)
            to_date = dict.fromkeys(scopes, _ZERO)
            reached = dict.fromkeys(scopes)
            blocked = {scope: [] for scope in scopes}
            refused = dict.fromkeys(scopes, _ZERO)
            sent = set()
            reloaded, reload_stopped = _ZERO, False

        wanted: dict[_Who, Decimal] = {}
        for spender, amount in costs.get(day, {}).items():
            if amount > 0:
                who = _who(spender, key_project)
                wanted[who] = wanted.get(who, _ZERO) + amount
        demand_total += sum(wanted.values(), _ZERO)
        by_key = by_key or any(key is not None for _, key in wanted)
        refused_today = dict.fromkeys(scopes, _ZERO)

        allowed = _apply_limits(wanted, key_scope_of, limit_of, to_date, refused_today)
        allowed = _apply_limits(allowed, project_scope_of, limit_of, to_date, refused_today)
        asked = sum(allowed.values(), _ZERO)
        room = _within(limit_of[ORGANIZATION], to_date[ORGANIZATION], asked)
        if room < asked:
            share = room / asked
            allowed = {p: (a * share).quantize(_EXACT, ROUND_HALF_EVEN) for p, a in allowed.items()}
            refused_today[ORGANIZATION] = asked - sum(allowed.values(), _ZERO)

        spent_today = dict.fromkeys(scopes, _ZERO)
        for who, amount in allowed.items():
            spent_today[ORGANIZATION] += amount
            for scope in (project_scope_of(who), key_scope_of(who)):
                if scope is not None:
                    spent_today[scope] += amount
        for scope in scopes:
            to_date[scope] += spent_today[scope]
            refused[scope] += refused_today[scope]
            refused_total += refused_today[scope]
            spend[scope].append(DaySpend(day, spent_today[scope], refused_today[scope], to_date[scope]))
            limit = limit_of[scope]
            if limit is not None and reached[scope] is None and to_date[scope] >= limit:
                reached[scope] = day
            if refused_today[scope] > 0:
                blocked[scope].append(day)
            if spent_today[scope] > 0:
                for index, alert in enumerate(alerts_of[scope]):
                    key = (scope, index)
                    if key not in sent and to_date[scope] >= alert.threshold_usd:
                        sent.add(key)
                        fired.append(AlertFired(scope, alert.threshold_usd, day))

        if credit is not None:
            if spent_today[ORGANIZATION] > 0:
                credit.consume(spent_today[ORGANIZATION], day)
                policy = config.top_up
                now = credit.balance(day)
                if policy is not None and now < policy.balance_threshold_usd and not reload_stopped:
                    amount = (policy.target_balance_usd - now).quantize(_CENT, ROUND_CEILING)
                    if reloaded + amount > policy.monthly_reload_limit_usd:
                        reload_stopped = True
                        reloads.append(Reload(day, amount, reloaded, True))
                    else:
                        reloaded += amount
                        credit.grants.append(_Grant(amount, day, day + GRANT_LIFETIME))
                        reloads.append(Reload(day, amount, reloaded, False))
            balance.append((day, credit.balance(day)))
            uncovered.append((day, credit.uncovered))
    close_month()

    notes = (NOT_BY_KEY,) if config.key_limits() and demand_total > 0 and not by_key else ()
    made = [r for r in reloads if not r.stopped_by_monthly_limit]
    totals = Totals(
        demand_usd=demand_total,
        spend_usd=demand_total - refused_total,
        refused_usd=refused_total,
        reloaded_usd=sum((r.amount_usd for r in made), _ZERO),
        reloads=len(made),
        alerts_fired=len(fired),
        uncovered_usd=credit.uncovered if credit is not None else _ZERO,
    )
    return Simulation(
        start,
        end,
        scopes,
        {scope: tuple(rows) for scope, rows in spend.items()},
        tuple(fired),
        tuple(limits),
        tuple(reloads),
        tuple(balance),
        totals,
        tuple(uncovered),
        notes,
    )


def _who(spender: Spender, key_project: Mapping[str, str]) -> _Who:
    """A spender as ``(project id, key id)``; a key's spend without a project is its configured project's."""
    if isinstance(spender, ApiKeySpend):
        return (spender.project_id or key_project.get(spender.api_key_id), spender.api_key_id)
    return (spender, None)


def _apply_limits(
    wanted: dict[_Who, Decimal],
    scope_of: Callable[[_Who], str | None],
    limit_of: Mapping[str, Decimal | None],
    to_date: Mapping[str, Decimal],
    refused_today: dict[str, Decimal],
) -> dict[_Who, Decimal]:
    """What each spender keeps once the limit of its scope (``scope_of``; None: no scope here) applies; what a
    scope refuses is added to ``refused_today``. At the limit, a scope's spenders keep the same share."""
    grouped: dict[str, dict[_Who, Decimal]] = {}
    kept: dict[_Who, Decimal] = {}
    for who, amount in wanted.items():
        scope = scope_of(who)
        if scope is None:
            kept[who] = amount
        else:
            grouped.setdefault(scope, {})[who] = amount
    for scope, members in grouped.items():
        asked = sum(members.values(), _ZERO)
        room = _within(limit_of[scope], to_date[scope], asked)
        if room >= asked:
            kept.update(members)
            continue
        if len(members) == 1:
            shares = dict.fromkeys(members, room)
        else:
            shares = {who: (amount * room / asked).quantize(_EXACT, ROUND_HALF_EVEN) for who, amount in members.items()}
        kept.update(shares)
        refused_today[scope] += asked - sum(shares.values(), _ZERO)
    return kept


def _within(limit: Decimal | None, month_to_date: Decimal, amount: Decimal) -> Decimal:
    """How much of ``amount`` a scope with ``limit`` and ``month_to_date`` spend still lets through."""
    if limit is None:
        return amount
    return max(_ZERO, min(amount, limit - month_to_date))


def daily_costs(results: Iterable[CostResult]) -> dict[date, dict[Spender, Decimal]]:
    """Cost results (from the endpoint or its saved pages) as spend per UTC day per project id, or per
    :class:`ApiKeySpend` for results that name an API key."""
    daily: dict[date, dict[Spender, Decimal]] = {}
    for result in results:
        day = datetime.fromtimestamp(result.start_time, timezone.utc).date()
        spenders = daily.setdefault(day, {})
        who: Spender = result.project_id
        if result.api_key_id is not None:
            who = ApiKeySpend(result.project_id, result.api_key_id)
        spenders[who] = spenders.get(who, _ZERO) + result.amount_usd
    return daily
