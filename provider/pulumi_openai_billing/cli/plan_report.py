"""Summarise a ``pulumi preview --json`` (or ``pulumi_openai_billing.testing``'s
``StepResult.to_preview_json()``) as Markdown for a pull request: per changed scope the old and new limit,
month-to-date and last month's spend, and alerts added, changed or removed; then the projects and their controls
(models added and removed, tools switched on or off, tiers and rate-limit maxima old → new).

Spend figures are read live from the account's costs endpoint when the report is written (never from
state), so the nightly ``--expect-no-changes`` check never sees them.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from typing import Any

from .._api.fields import ORGANIZATION
from .._api.money import show_usd
from ..resources import ALERT_KINDS as _ALERTS
from ..resources import KINDS, SPEND_MARGIN, SPEND_MARGIN_PERCENT, kind_of, model_props
from ..resources import LIMIT_KINDS as _LIMITS
from ..resources.hosted_tools import TOOLS
from ..resources.rate_limits import MAXIMA
from ._io import CommandError, read_input, write_output

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"
_OPS = {"create": "create", "update": "update", "delete": "delete", "replace": "replace"}
"""Steps worth a line; ``create-replacement``/``delete-replaced`` repeat a ``replace``, ``same`` changes nothing."""
_CONTROL_FAMILIES = ("project", "model_policy", "tools", "tiers", "rate_limit")
_CONTROLS = {k.name: k.family for k in KINDS if k.family in _CONTROL_FAMILIES}
"""Projects and their controls: a section of their own, by project."""


@dataclass
class _Step:
    op: str
    kind: str
    name: str
    old: dict[str, Any]
    new: dict[str, Any]
    id: str | None = None
    """The live id (from the old state), when there is one."""

    def value(self, key: str, *, old: bool = False) -> Any:
        source = self.old if old else self.new
        return source.get(key)


@dataclass
class _Scope:
    key: str
    limit: list[_Step] = field(default_factory=list)
    alerts: list[_Step] = field(default_factory=list)


@dataclass(frozen=True)
class LiveFigures:
    """What the report shows next to the plan: spend so far and last month, per scope."""

    month: str
    month_to_date: dict[str, Decimal]
    last_month: dict[str, Decimal]
    names: dict[str, str]


def _steps(preview: dict[str, Any]) -> list[_Step]:
    steps = []
    for raw in preview.get("steps") or []:
        op = _OPS.get(str(raw.get("op")))
        old_state, new_state = raw.get("oldState") or {}, raw.get("newState") or {}
        type_ = str(new_state.get("type") or old_state.get("type") or "")
        kind = kind_of(type_)
        if not op or kind is None:
            continue
        old = dict(model_props(type_, {**(old_state.get("inputs") or {}), **(old_state.get("outputs") or {})}))
        new = dict(model_props(type_, new_state.get("inputs") or {})) if op != "delete" else {}
        name = str(raw.get("urn", "")).rsplit("::", 1)[-1]
        steps.append(_Step(op, kind, name, old, new, old_state.get("id") or None))
    return steps


def _scope_of(step: _Step) -> str:
    project = step.new.get("project_id") or step.old.get("project_id")
    return str(project) if project else ORGANIZATION


def _show(value: Any) -> str:
    if value is None:
        return "none"
    if value == UNKNOWN:
        return "(known after apply)"
    if isinstance(value, list):
        return ", ".join(_show(v) for v in value) or "none"
    return str(value)


def _usd(value: Any) -> str:
    if value is None:
        return "none"
    if value == UNKNOWN:
        return "(known after apply)"
    try:
        return f"{show_usd(Decimal(str(value)))} USD"
    except ArithmeticError:
        return str(value)


def _moved(step: _Step) -> str:
    """A replacement that moves a resource to another project says where from."""
    before, after = step.old.get("project_id"), step.new.get("project_id")
    return f" (moved from `{before}`)" if step.op == "replace" and before and before != after else ""


def _limit_line(step: _Step) -> str:
    old, new = step.old.get("monthly_limit_usd"), step.new.get("monthly_limit_usd")
    if step.op == "create":
        adopt = " (adopting the live limit)" if step.new.get("adopt_existing") else ""
        return f"none → **{_usd(new)}**{adopt}"
    if step.op == "delete":
        kept = step.old.get("on_delete", "retain") != "remove"
        return f"{_usd(old)} → " + ("unmanaged (the live limit is retained)" if kept else "**removed: no cap**")
    return f"{_usd(old)} → **{_usd(new)}**{_moved(step)}"


def _alert_text(values: dict[str, Any]) -> str:
    prefix = values.get("subject_prefix")
    return f"{_usd(values.get('threshold_usd'))} to {_show(values.get('recipients'))}" + (
        f" (subject prefix `{prefix}`)" if prefix else ""
    )


def _alert_line(step: _Step) -> str:
    if step.op == "create":
        return f"added: {_alert_text(step.new)}"
    if step.op == "delete":
        return f"removed: {_alert_text(step.old)}"
    return f"changed: {_alert_text(step.old)} → {_alert_text(step.new)}{_moved(step)}"


def _other_line(step: _Step) -> str:
    if step.kind == "CreditPurchase" and step.op in ("create", "replace"):
        return (
            f"- **{step.name}**: buys **{_usd(step.new.get('amount_usd'))}** of credits "
            f"(purchase key `{_show(step.new.get('purchase_key'))}`, charged once)"
        )
    if step.kind == "CreditTopUpPolicy" and step.op != "delete":
        return (
            f"- **{step.name}** ({step.op}): below {_usd(step.new.get('balance_threshold_usd'))} reload to "
            f"{_usd(step.new.get('target_balance_usd'))}, at most {_usd(step.new.get('monthly_reload_limit_usd'))} "
            "a month"
        )
    return f"- **{step.name}** ({step.kind}): {step.op}"


# -- projects and their controls -------------------------------------------------------------------------


def _number(value: Any) -> str:
    """A maximum as people read it: ``10,000`` (a whole float, as the engine sends numbers, is an integer)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return "unmanaged" if value is None else _show(value)


def _switch(value: Any) -> str:
    if value is None or value == UNKNOWN:
        return _number(value)
    return "on" if value else "off"


def _tiers(value: Any) -> str:
    if value is None:
        return "unmanaged"
    if value in ("all", ["all"]):
        return "all"
    return "none (standard only)" if value == [] else _show(value)


def _changes(step: _Step, fields: tuple[str, ...], shown: Any) -> list[str]:
    """``field old → **new**`` for each of ``fields`` the step sets or changes (all it declares, on a create)."""
    found = []
    for name in fields:
        old, new = (None if step.op == "create" else step.old.get(name)), step.new.get(name)
        if new is None or (old == new and step.op != "create"):
            continue
        found.append(f"{name} **{shown(new)}**" if step.op == "create" else f"{name} {shown(old)} → **{shown(new)}**")
    return found


_MODES = {"allow_list": "allow-list", "deny_list": "deny-list"}


def _mode(value: Any) -> str:
    return _MODES.get(str(value), _show(value))


def _models(step: _Step) -> str:
    if step.op == "delete":
        if step.old.get("on_delete") == "remove":
            return "policy **removed**: the project may call every model"
        return "unmanaged (the live policy is retained)"
    mode, models, before = step.new.get("mode") or "allow_list", step.new.get("model_ids"), step.old.get("model_ids")
    if step.op == "create" or not isinstance(models, list) or not isinstance(before, list):
        adopt = " (adopting the live policy)" if step.new.get("adopt_existing") else ""
        return f"{_mode(mode)} of {_show(models)}{adopt}"
    parts = [f"{_mode(step.old.get('mode'))} → **{_mode(mode)}**"] if step.old.get("mode") != mode else []
    added, removed = sorted(set(models) - set(before)), sorted(set(before) - set(models))
    if added:
        parts.append(f"added {', '.join(added)}")
    if removed:
        parts.append(f"removed {', '.join(removed)}")
    return f"{_mode(mode)}: " + ("; ".join(parts) or "unchanged")


def _control_detail(step: _Step) -> str:
    family = _CONTROLS[step.kind]
    if family == "model_policy":
        return _models(step)
    if family == "project":
        if step.op == "delete":
            return "**archived**" if step.old.get("on_delete") == "archive" else "unmanaged (the project is retained)"
        if step.op == "create":
            how = "adopted" if step.new.get("adopt_existing") else "new project"
            return f"{how} `{_show(step.new.get('name'))}`"
        parts = _changes(step, ("name", "external_key_id", "on_delete"), _show)
        return ", ".join(parts) or "unchanged"
    if step.op == "delete":
        if family == "rate_limit" and step.old.get("on_delete") == "restore" and step.old.get("restore_to"):
            restore = step.old["restore_to"]
            put_back = ", ".join(f"{name} **{_number(restore[name])}**" for name in MAXIMA if name in restore)
            return f"`{_show(step.old.get('model'))}` restored: {put_back}"
        return "unmanaged (the live settings stay as they are)"
    if family == "tools":
        return ", ".join(_changes(step, TOOLS, _switch)) or "unchanged"
    if family == "tiers":
        parts = [*_changes(step, ("default",), _show), *_changes(step, ("enabled_tiers",), _tiers)]
        return ", ".join(parts) or "unchanged"
    return f"`{_show(step.new.get('model'))}` " + (", ".join(_changes(step, MAXIMA, _number)) or "unchanged")


def _control_project(step: _Step) -> str:
    """The project a control step is about: its id, or ``UNKNOWN`` for a project the plan makes."""
    if _CONTROLS[step.kind] == "project":
        return step.id or UNKNOWN
    return str(step.new.get("project_id") or step.old.get("project_id") or UNKNOWN)


def _control_lines(steps: list[_Step], figures: LiveFigures | None) -> list[str]:
    lines = []
    for step in steps:
        project = _control_project(step)
        where = "a new project" if project == UNKNOWN else _scope_title(project, figures).replace("**", "")
        lines.append(f"- **{step.name}** ({step.kind}, {where}): {step.op}: {_control_detail(step)}{_moved(step)}")
    return lines


def read_live_figures(now: datetime | None = None) -> LiveFigures:
    """Spend this month and last month per scope, and project names, from the configured account."""
    from .._api.costs import spend_by_project
    from .._api.months import month_bounds, month_name, previous_month_bounds
    from ..functions import list_projects
    from ..resources._step import current_step

    step = current_step()
    step.settings.require_key()
    now = now or datetime.now(timezone.utc)
    this_start, this_end = month_bounds(now)
    last_start, last_end = previous_month_bounds(now)

    def by_scope(spend: dict[str | None, Decimal]) -> dict[str, Decimal]:
        result = {str(k): v for k, v in spend.items() if k}
        result[ORGANIZATION] = sum(spend.values(), Decimal(0))
        return result

    return LiveFigures(
        month_name(this_start),
        by_scope(spend_by_project(step.client, this_start, this_end)),
        by_scope(spend_by_project(step.client, last_start, last_end)),
        {p.id: p.name for p in list_projects(include_archived=True)},
    )


def render(preview: dict[str, Any], figures: LiveFigures | None, *, note: str = "") -> str:
    """The Markdown report of ``preview``; ``figures`` None leaves the spend columns out."""
    scopes: dict[str, _Scope] = {}
    others: list[_Step] = []
    controls: list[_Step] = []
    for step in _steps(preview):
        if step.kind in _LIMITS | _ALERTS:
            scope = scopes.setdefault(_scope_of(step), _Scope(_scope_of(step)))
            (scope.limit if step.kind in _LIMITS else scope.alerts).append(step)
        elif step.kind in _CONTROLS:
            controls.append(step)
        else:
            others.append(step)
    lines = ["## OpenAI billing plan", ""]
    refusals = _refusals(preview)
    if refusals:
        lines += [
            f"⛔ **The preview failed**: {len(refusals)} refusal(s). Nothing is applied until they are fixed; the "
            "plan below is as far as the preview got.",
            "",
            *refusals,
            "",
        ]
    if not scopes and not others and not controls:
        lines.append("No billing changes.")
    if scopes:
        spend_heads = " Month-to-date | Last month |" if figures else ""
        lines += [
            f"{len(scopes)} scope(s) change"
            + (f"; spend as of {figures.month} from the costs endpoint." if figures else "."),
            "",
            f"| Scope | Limit |{spend_heads} Alerts |",
            "|---|---|" + ("---|---|" if figures else "") + "---|",
        ]
        ordered = sorted(scopes.values(), key=lambda s: (s.key != ORGANIZATION, s.key))
        for scope in ordered:
            lines.append(_row(scope, figures))
        warnings = [w for scope in ordered for w in _warnings(scope, figures)]
        if warnings:
            lines += ["", *warnings]
    if controls:
        lines += ["", "### Projects and their controls", "", *_control_lines(controls, figures)]
    if others:
        lines += ["", "### Payment methods, auto-reload and credits", "", *(_other_line(s) for s in others)]
    if note:
        lines += ["", note]
    return "\n".join(lines) + "\n"


def _refusals(preview: dict[str, Any]) -> list[str]:
    """The errors the preview reported for resources (a guardrail, a bad input, a policy), one line each."""
    found = []
    for diagnostic in preview.get("diagnostics") or []:
        if diagnostic.get("severity") != "error" or not diagnostic.get("urn"):
            continue
        name = str(diagnostic["urn"]).rsplit("::", 1)[-1]
        message = " ".join(str(diagnostic.get("message", "")).split())
        for marker in (f"resource '{name}' has a problem: ", f"resource '{name}': "):
            message = message.split(marker, 1)[-1]
        found.append(f"- **{name}**: {message}")
    return found


def _scope_title(key: str, figures: LiveFigures | None) -> str:
    if key == ORGANIZATION:
        return "**organization**"
    if key == UNKNOWN:
        return "**a new project** (its id is known after apply)"
    name = figures.names.get(key) if figures else None
    return f"**{name}** (`{key}`)" if name else f"`{key}`"


def _row(scope: _Scope, figures: LiveFigures | None) -> str:
    limit = "<br>".join(_limit_line(s) for s in scope.limit) or "unchanged"
    alerts = "<br>".join(_alert_line(s) for s in scope.alerts) or "unchanged"
    spend = ""
    if figures:
        spend = (
            f" {_usd(figures.month_to_date.get(scope.key, Decimal(0)))} |"
            f" {_usd(figures.last_month.get(scope.key, Decimal(0)))} |"
        )
    return f"| {_scope_title(scope.key, figures)} | {limit} |{spend} {alerts} |"


def _warnings(scope: _Scope, figures: LiveFigures | None) -> list[str]:
    """Plain-language flags a reviewer should not miss."""
    found = []
    for step in scope.limit:
        if step.op == "delete" and step.old.get("on_delete") == "remove":
            found.append(f"- ⚠️ {_scope_title(scope.key, figures)}: the spend limit is **removed**; nothing caps spend")
        new = step.new.get("monthly_limit_usd")
        if figures is None or new in (None, UNKNOWN):
            continue
        try:
            declared = Decimal(str(new))
        except ArithmeticError:
            continue
        spent, last = figures.month_to_date.get(scope.key, Decimal(0)), figures.last_month.get(scope.key, Decimal(0))
        if declared < spent * SPEND_MARGIN:
            found.append(
                f"- ⚠️ {_scope_title(scope.key, figures)}: the new limit {_usd(declared)} is within "
                f"{SPEND_MARGIN_PERCENT} of month-to-date spend ({_usd(spent)}): traffic may be refused this month"
            )
        elif declared < last:
            found.append(
                f"- ⚠️ {_scope_title(scope.key, figures)}: the new limit {_usd(declared)} is below last month's "
                f"spend ({_usd(last)})"
            )
    return found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("preview", help="the JSON of `pulumi preview --json` (or `-` for standard input)")
    parser.add_argument("--output", "-o", help="write the Markdown to this file (default, or -: standard output)")
    parser.add_argument(
        "--no-live", action="store_true", help="leave out spend figures (no request to the account is made)"
    )


def run(args: argparse.Namespace) -> int:
    from .._api.config import scrub

    source = "standard input" if args.preview == "-" else args.preview
    text = read_input(args.preview, "the preview JSON")
    try:
        preview = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{source} is not JSON ({exc}): give it the output of `pulumi preview --json`") from None
    problem = preview_problem(preview)
    if problem:
        raise CommandError(f"{source} is not a `pulumi preview --json` document: {problem}")
    figures, note = None, ""
    if not args.no_live:
        try:
            figures = read_live_figures()
        except Exception as exc:  # a report without figures beats no report on the pull request
            note = f"_Spend figures unavailable: {scrub(str(exc))}_"
    written = write_output(args.output, render(preview, figures, note=note))
    if written:
        print(f"wrote {written}", file=sys.stderr)
    return 0


def preview_problem(preview: object) -> str | None:
    """What makes a JSON value other than Pulumi's preview document (naming the first bad element), else None."""
    if not isinstance(preview, dict):
        return f"it is a JSON {type(preview).__name__}, not an object"
    if not {"steps", "changeSummary", "diagnostics"} & preview.keys():
        keys = ", ".join(sorted(preview)[:5]) or "none"
        return f"it has none of steps, changeSummary, diagnostics (its keys: {keys})"
    steps = preview.get("steps", [])
    if not isinstance(steps, list):
        return "steps is not a list"
    for number, step in enumerate(steps):
        if not isinstance(step, dict):
            return f"steps[{number}] is not an object"
        for key in ("op", "urn"):
            if not isinstance(step.get(key), str):
                return f"steps[{number}] has no {key!r}"
    return None
