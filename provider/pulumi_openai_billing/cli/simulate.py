"""Replay a month of the account's costs against a billing configuration: would a limit have blocked
traffic, and from which day; which alerts would have fired; what would auto-reload have charged.

Costs come from the configured account's costs endpoint (grouped by project, and by API key when the
configuration has key limits; every page followed) or from --costs FILE holding that endpoint's own JSON pages
(one page, or a list of pages), so a saved history replays offline. The configuration is --live (the account's
limits, alerts and auto-reload policy now; its API keys' limits with --api-key-limits) or --config FILE (the
YAML `openai-billing export --format yaml` writes), changed by --set NAME.FIELD=VALUE (NAME: a project's name in
the configuration, `PROJECT/KEY_ID` for one of its API keys, `organization` or `top_up`). The rules and their
assumptions are in `pulumi_openai_billing.model.simulate`.
Exit status: 0 replayed, 1 the API failed, 2 an option, a file or a setting is wrong.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from .._api import config
from .._api.client import BillingClient
from .._api.costs import CostResult, page_results, read_costs
from .._api.fields import ORGANIZATION
from .._api.money import format_usd, show_usd
from .._api.months import month_name, next_month, parse_month
from ..account import config_of, read_account
from ..errors import CostsError, OpenAIError, ProviderError, RequestFailed
from ..model.config import (
    ApiKeyConfig,
    BillingConfig,
    ConfigFileError,
    TopUpConfig,
    key_scope,
    load_config,
    validation_problems,
)
from ..model.simulate import Simulation, daily_costs, simulate
from ._io import CommandError, failure_status, read_input, write_atomically

if TYPE_CHECKING:
    from matplotlib.figure import Figure

_SCOPE_FIELDS = ("monthly_limit_usd",)
_TOP_UP_FIELDS = tuple(TopUpConfig.model_fields)


class WhatIfError(CommandError):
    """An option, file or setting that cannot be used; ``status`` is the exit status."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--month", required=True, metavar="YYYY-MM", help="the UTC calendar month to replay")
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--live", action="store_true", help="the account's configuration now")
    source.add_argument("--config", metavar="FILE", help="a configuration file (export --format yaml)")
    parser.add_argument(
        "--api-key-limits",
        action="store_true",
        help="with --live: also read the limits of each project's API keys (one more request per project)",
    )
    parser.add_argument("--costs", metavar="FILE", help="the costs endpoint's JSON pages (else read from the account)")
    parser.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="NAME.FIELD=VALUE",
        help=f"change the configuration, e.g. team-a.monthly_limit_usd=400 or team-a/key_abc.monthly_limit_usd=50 "
        f"(none removes a limit); top_up fields: {', '.join(_TOP_UP_FIELDS)}",
    )
    parser.add_argument("--json", action="store_true", help="print the results as JSON")
    parser.add_argument("--chart", metavar="FILE.png", help="draw spend, limits, alerts, blocks and credit")
    parser.add_argument(
        "--allow-empty", action="store_true", help="replay a month the costs hold no data for (else an error)"
    )


def run(args: argparse.Namespace) -> int:
    start, end = month_range(args.month)
    chart = Path(args.chart) if args.chart else None
    if chart is not None and chart.suffix.lower() != ".png":
        raise WhatIfError("--chart writes a PNG: name a .png file")
    if args.api_key_limits and not args.live:
        raise WhatIfError("--api-key-limits reads the live keys: use it with --live (a --config file names its own)")
    base = _live_config(args.api_key_limits) if args.live else _file_config(args.config)
    billing = apply_overrides(base, args.overrides)
    results = _file_costs(args.costs) if args.costs else _live_costs(start, end, by_key=billing.key_limits())
    costs = daily_costs(results)
    if not args.allow_empty and not any(start <= day < end for day in costs):
        source = args.costs or "the account's costs"
        held = sorted({month_name(day) for day in costs})
        covers = f"it holds {', '.join(held)}" if held else "it holds no costs at all"
        raise WhatIfError(
            f"no costs data for {args.month} in {source} ({covers}): choose a month it covers, or pass "
            "--allow-empty to replay a month without spend"
        )
    sim = simulate(billing, costs, start, end)
    if chart is not None:
        try:
            write_atomically(chart, lambda temporary: save_chart(sim, billing, temporary, title=_title(args)))
        except ImportError:
            raise WhatIfError("--chart needs matplotlib: pip install 'pulumi-openai-billing[simulate]'") from None
    if args.json:
        print(json.dumps({"month": args.month, "overrides": args.overrides, **sim.to_json()}, indent=2))
    else:
        print(render_table(sim, billing, _title(args)))
    if chart is not None:
        print(f"wrote {chart}", file=sys.stderr)
    return 0


def _title(args: argparse.Namespace) -> str:
    source = "the live configuration" if args.live else Path(args.config).name
    changes = f" with {', '.join(args.overrides)}" if args.overrides else ""
    return f"What if: {args.month} against {source}{changes}"


def month_range(text: str) -> tuple[date, date]:
    """``YYYY-MM`` -> its first day and the first day of the next month."""
    try:
        start = parse_month(text)
    except ValueError:
        raise WhatIfError(f"--month takes a month as YYYY-MM, such as 2026-10, not {text!r}") from None
    return start, next_month(start)


def _file_config(path: str) -> BillingConfig:
    try:
        return load_config(path)
    except ConfigFileError as exc:
        raise WhatIfError(str(exc)) from None


def _settings() -> config.Settings:
    settings = config.resolve()  # a malformed setting is main's to report, as for every command
    if not settings.admin_key:
        raise WhatIfError(config.MISSING_KEY_MESSAGE)
    return settings


def _live_config(api_keys: bool) -> BillingConfig:
    _settings()  # a missing key is refused before any request
    try:
        return config_of(read_account(top_up=True, api_keys=api_keys))
    except (OpenAIError, RequestFailed, ProviderError) as exc:
        raise WhatIfError(f"reading the account failed: {config.scrub(str(exc))}", failure_status(exc)) from None


def _file_costs(path: str) -> list[CostResult]:
    try:
        data = json.loads(read_input(path, "the costs file"))
    except ValueError as exc:
        raise WhatIfError(f"{path}: not JSON: {exc}") from None
    pages = data if isinstance(data, list) else [data]
    results: list[CostResult] = []
    for number, page in enumerate(pages, 1):
        try:
            results += page_results(page)
        except CostsError as exc:
            raise WhatIfError(f"{path}: page {number}: {exc}") from None
    return results


def _live_costs(start: date, end: date, *, by_key: bool) -> list[CostResult]:
    settings = _settings()
    moments = [datetime(d.year, d.month, d.day, tzinfo=timezone.utc) for d in (start, end)]
    group_by = ["project_id", "api_key_id"] if by_key else ["project_id"]
    try:
        return read_costs(BillingClient(settings), moments[0], moments[1], group_by=group_by)
    except (OpenAIError, RequestFailed, CostsError) as exc:
        raise WhatIfError(f"reading costs failed: {config.scrub(str(exc))}", failure_status(exc)) from None


def apply_overrides(billing: BillingConfig, overrides: list[str]) -> BillingConfig:
    """The configuration with each ``NAME.FIELD=VALUE`` applied, validated as a whole."""
    data: dict[str, Any] = billing.model_dump(mode="python")
    for override in overrides:
        target, equals, value = override.partition("=")
        name, dot, field = target.strip().rpartition(".")
        if not equals or not dot or not name or not field:
            raise WhatIfError(f"--set takes NAME.FIELD=VALUE, such as team-a.monthly_limit_usd=400, not {override!r}")
        value = value.strip()
        if name == "top_up":
            if field not in _TOP_UP_FIELDS:
                raise WhatIfError(f"--set {override}: top_up has the fields {', '.join(_TOP_UP_FIELDS)}")
            data["top_up"] = {**(data.get("top_up") or {}), field: value}
            continue
        if field not in _SCOPE_FIELDS:
            raise WhatIfError(f"--set {override}: a scope's field is one of {', '.join(_SCOPE_FIELDS)}")
        scope = _scope_data(data, name, override)
        scope[field] = None if value.lower() == "none" else value
    try:
        return BillingConfig.model_validate(data)
    except ValidationError as exc:
        raise WhatIfError(f"--set: {validation_problems(exc)}") from None


def _scope_data(data: dict[str, Any], name: str, override: str) -> dict[str, Any]:
    """The part of the configuration ``name`` stands for; ``PROJECT/KEY_ID`` adds the key when it has none."""
    if name == ORGANIZATION:
        scope: dict[str, Any] = data["organization"]
        return scope
    if name in data["projects"]:
        scope = data["projects"][name]
        return scope
    project, slash, key = name.rpartition("/")
    if slash and project in data["projects"] and key:
        keys: dict[str, Any] = data["projects"][project]["api_keys"]
        scope = keys.setdefault(key, ApiKeyConfig().model_dump(mode="python"))
        return scope
    known = ", ".join(repr(n) for n in data["projects"]) or "none"
    raise WhatIfError(f"--set {override}: no project named {name!r} in the configuration (projects: {known})")


# -- output ----------------------------------------------------------------------------------------------


def _day(day: date | None) -> str:
    return day.isoformat() if day else "-"


def render_table(sim: Simulation, billing: BillingConfig, title: str) -> str:
    """A compact report: one row per scope, then auto-reload and totals."""
    scopes = billing.scopes()
    rows = [("scope", "spend", "limit", "first block", "refused", "alerts fired")]
    for scope in sim.scopes:
        spent = sum((d.spend_usd for d in sim.spend[scope]), Decimal(0))
        outcomes = sim.limit_of(scope)
        first = next((o.first_blocked_on for o in outcomes if o.first_blocked_on), None)
        refused = sum((o.refused_usd for o in outcomes), Decimal(0))
        fired = [f"{format_usd(a.threshold_usd)} on {a.day.isoformat()[5:]}" for a in sim.alerts if a.scope == scope]
        limit = scopes[scope].monthly_limit_usd
        rows.append(
            (
                scope,
                _money(spent),
                _money(limit) if limit is not None else "none",
                _day(first),
                _money(refused),
                ", ".join(fired) or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    numeric = {1, 2, 4}
    lines = [title, ""]
    for row in rows:
        cells = [
            cell.rjust(w) if i in numeric else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(row, widths, strict=True))
        ]
        lines.append("  ".join(cells).rstrip())
    lines.append("")
    lines += _credit_lines(sim, billing)
    totals = sim.totals
    lines.append(
        f"totals: demand {_money(totals.demand_usd)} USD, spend {_money(totals.spend_usd)} USD, refused "
        f"{_money(totals.refused_usd)} USD, {totals.alerts_fired} alert e-mail(s)"
    )
    lines += sim.notes
    return "\n".join(lines)


def _credit_lines(sim: Simulation, billing: BillingConfig) -> list[str]:
    if not sim.balance:
        return ["auto-reload: none configured"]
    lines = []
    made = [r for r in sim.reloads if not r.stopped_by_monthly_limit]
    stopped = [r for r in sim.reloads if r.stopped_by_monthly_limit]
    if billing.top_up is None:
        lines.append("auto-reload: none configured")
    else:
        charges = ", ".join(f"{r.day.isoformat()[5:]} {_money(r.amount_usd)}" for r in made) or "none"
        lines.append(f"auto-reload: {len(made)} reload(s) charging {_money(sim.totals.reloaded_usd)} USD ({charges})")
        for r in stopped:
            lines.append(
                f"  stopped on {r.day}: a {_money(r.amount_usd)} USD reload would have taken the month's reloads "
                f"past the monthly limit of {_money(billing.top_up.monthly_reload_limit_usd)} USD "
                f"({_money(r.month_total_usd)} USD already reloaded)"
            )
    lowest_day, lowest = min(sim.balance, key=lambda entry: entry[1])
    lines.append(
        f"credit balance: {_money(sim.balance[-1][1])} USD at the end, lowest {_money(lowest)} USD on {lowest_day}; "
        f"spend not covered by credit: {_money(sim.totals.uncovered_usd)} USD"
    )
    return lines


def _money(value: Decimal) -> str:
    return show_usd(value)


_ALERT_COLORS = ("tab:orange", "tab:purple", "tab:brown", "tab:pink", "tab:olive", "tab:cyan")
REFUSED_LABEL = "refused that day (USD, below the axis)"


def draw_chart(sim: Simulation, billing: BillingConfig, title: str = "") -> Figure:
    """One panel per scope: month-to-date spend (and, dashed, had nothing been refused), its limit, each alert
    line labelled with its threshold and the day it fired (a dot there), and the dollars refused each blocked
    day as bars below the axis. Then the credit balance with its reloads, and spend the credit did not cover."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    panels = len(sim.scopes) + (1 if sim.balance else 0)
    figure = Figure(figsize=(10, 2.8 * panels), layout="constrained")
    axes = figure.subplots(panels, 1, sharex=True, squeeze=False)[:, 0]
    scopes = billing.scopes()
    for ax, scope in zip(axes, sim.scopes, strict=False):
        days = sim.spend[scope]
        x = [d.day for d in days]
        ax.plot(x, [float(d.month_to_date_usd) for d in days], color="tab:blue", label="month-to-date spend")
        demand, running, month = [], Decimal(0), ""
        for d in days:
            if month_name(d.day) != month:
                month, running = month_name(d.day), Decimal(0)
            running += d.spend_usd + d.refused_usd
            demand.append(float(running))
        if any(d.refused_usd for d in days):
            ax.plot(x, demand, color="tab:blue", linestyle="--", alpha=0.5, label="had nothing been refused")
        limit = scopes[scope].monthly_limit_usd
        if limit is not None:
            ax.axhline(float(limit), color="tab:red", linewidth=1.5, label=f"limit {show_usd(limit)} USD")
        for index, alert in enumerate(scopes[scope].alerts):
            color = _ALERT_COLORS[index % len(_ALERT_COLORS)]
            fired = [f.day for f in sim.alerts if f.scope == scope and f.threshold_usd == alert.threshold_usd]
            when = f"fired {', '.join(f'{d:%b} {d.day}' for d in fired)}" if fired else "never fired"
            ax.axhline(
                float(alert.threshold_usd),
                color=color,
                linestyle=":",
                label=f"alert {show_usd(alert.threshold_usd)} USD, {when}",
            )
            if fired:
                ax.plot(fired, [float(alert.threshold_usd)] * len(fired), "o", color=color, label="_fired")
        blocked = [d for d in days if d.refused_usd > 0]
        if blocked:
            ax.bar(
                [d.day for d in blocked],
                [-float(d.refused_usd) for d in blocked],
                color="tab:red",
                alpha=0.45,
                label=REFUSED_LABEL,
            )
            for d in blocked:
                ax.annotate(
                    f"-{show_usd(d.refused_usd)}",
                    (d.day, -float(d.refused_usd)),
                    xytext=(0, -2),
                    textcoords="offset points",
                    ha="center",
                    va="top",
                    fontsize="x-small",
                    rotation=90,
                    color="tab:red",
                )
            ax.axhline(0, color="black", linewidth=0.6)
            deepest = max(float(d.refused_usd) for d in blocked)
            ax.set_ylim(bottom=min(ax.get_ylim()[0], -2.2 * deepest))  # room for the amounts under the bars
        ax.set_title(_panel_title(billing, scope))
        ax.set_ylabel("spend (USD)")
        ax.legend(loc="upper left", fontsize="x-small")
    if sim.balance:
        ax = axes[-1]
        ax.plot(
            [d for d, _ in sim.balance], [float(b) for _, b in sim.balance], color="tab:green", label="credit balance"
        )
        at = dict(sim.balance)
        for stopped, marker, color, label in (
            (False, "^", "tab:green", "auto-reload"),
            (True, "v", "tab:red", "reload stopped (monthly limit)"),
        ):
            reload_days = [r.day for r in sim.reloads if r.stopped_by_monthly_limit is stopped]
            if reload_days:
                ax.plot(
                    reload_days,
                    [float(at[d]) for d in reload_days],
                    linestyle="none",
                    marker=marker,
                    color=color,
                    label=label,
                )
        if billing.top_up is not None:
            ax.axhline(
                float(billing.top_up.balance_threshold_usd),
                color="tab:gray",
                linestyle=":",
                label=f"reload below {show_usd(billing.top_up.balance_threshold_usd)} USD",
            )
        if sim.totals.uncovered_usd > 0:
            ax.plot(
                [d for d, _ in sim.uncovered],
                [float(u) for _, u in sim.uncovered],
                color="tab:red",
                linestyle="--",
                label=f"spend not covered by credit ({show_usd(sim.totals.uncovered_usd)} USD in all)",
            )
        ax.set_title("credit balance")
        ax.set_ylabel("credit (USD)")
        ax.legend(loc="upper right", fontsize="x-small")
    axes[-1].set_xlabel("day (UTC)")
    figure.autofmt_xdate()
    if title:
        figure.suptitle(title)
    return figure


def _panel_title(billing: BillingConfig, scope: str) -> str:
    if scope == ORGANIZATION:
        return scope
    if scope in billing.projects:
        return f"project {scope} ({billing.projects[scope].project_id})"
    project = next(name for name, p in billing.projects.items() for key in p.api_keys if key_scope(name, key) == scope)
    return f"API key {scope.removeprefix(project + '/')} of project {project}"


def save_chart(sim: Simulation, billing: BillingConfig, path: Path, title: str = "") -> None:
    draw_chart(sim, billing, title).savefig(path, dpi=100, format="png")
