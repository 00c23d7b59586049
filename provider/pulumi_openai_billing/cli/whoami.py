"""Show which API, organization and admin key the settings point at, and whether the key works.

Settings come from where the provider takes them outside a Pulumi program: OPENAI_ADMIN_KEY,
OPENAI_BILLING_BASE_URL and OPENAI_BILLING_ORGANIZATION. The key is only ever shown redacted.
Exit status: 0 when the key works, 1 when it does not, 2 when no key (or a malformed setting) is configured.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections import Counter
from dataclasses import asdict, dataclass

from .._api import config
from .._api.client import BillingClient
from ..errors import ConfigError, OpenAIError, RequestFailed

_NO_ORGANIZATION = "none: the key's default organization"


@dataclass
class _Report:
    """What ``whoami`` found; ``admin_key`` is already redacted."""

    base_url: str
    organization: str | None
    organization_binding: str
    admin_key: str
    key_works: bool = False
    status: int | None = None
    error: str | None = None
    projects: dict[str, int] | None = None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print one JSON object (for scripts)")


def run(args: argparse.Namespace) -> int:
    try:
        settings = config.resolve()
    except ConfigError as exc:
        return _fail(args.json, str(exc))
    report = _Report(
        base_url=settings.base_url,
        organization=settings.organization,
        organization_binding=settings.organization_binding,
        admin_key=config.redact(settings.admin_key),
    )
    if not settings.admin_key:
        report.error = config.MISSING_KEY_MESSAGE
        _print(report, args.json)
        print(f"openai-billing whoami: {report.error}", file=sys.stderr)
        return 2
    _probe(settings, report)
    _print(report, args.json)
    if not report.key_works:
        print(f"openai-billing whoami: the key does not work: {report.error}", file=sys.stderr)
    return 0 if report.key_works else 1


def _fail(as_json: bool, message: str) -> int:
    """A setting that prevents any request: say which, exit 2."""
    if as_json:
        print(json.dumps({"key_works": False, "error": message}, indent=2))
    else:
        print(f"openai-billing whoami: {message}", file=sys.stderr)
    return 2


def _probe(settings: config.Settings, report: _Report) -> None:
    """One cheap authenticated request (a one-project page), then count every project, archived ones too."""
    client = BillingClient(settings)
    try:
        client.get("organization/projects", {"limit": 1})
        report.key_works, report.status = True, 200
        statuses = Counter(
            str(p.get("status") or "active")
            for p in client.list_all("organization/projects", {"include_archived": "true"})
        )
        report.projects = {
            "active": statuses["active"],
            "archived": statuses["archived"],
            "total": sum(statuses.values()),
        }
    except OpenAIError as exc:
        report.key_works, report.status, report.error = False, exc.status, str(exc)
    except RequestFailed as exc:
        report.key_works, report.status, report.error = False, None, config.scrub(str(exc))
    finally:
        client.close()


def _origin(variable: str, otherwise: str) -> str:
    """Where a setting came from, for the text report."""
    return f"from {variable}" if os.environ.get(variable) else otherwise


def _print(report: _Report, as_json: bool) -> None:
    if as_json:
        print(config.scrub(json.dumps(asdict(report), indent=2)))
        return
    if report.key_works:
        works = f"yes (HTTP {report.status})"
    elif report.status is not None:
        works = f"no (HTTP {report.status}): {report.error}"
    else:
        works = f"no: {report.error}"
    rows = [
        ("API", f"{report.base_url} ({_origin('OPENAI_BILLING_BASE_URL', 'the default')})"),
        ("organization", report.organization or _NO_ORGANIZATION),
        ("binding", f"{report.organization_binding} (the organization resources record in state)"),
        ("admin key", f"{report.admin_key} ({_origin('OPENAI_ADMIN_KEY', 'OPENAI_ADMIN_KEY is not set')})"),
        ("key works", works),
    ]
    if report.projects is not None:
        counts = report.projects
        rows.append(
            ("projects", f"{counts['total']} visible: {counts['active']} active, {counts['archived']} archived")
        )
    width = max(len(label) for label, _ in rows) + 2
    text = "\n".join(f"{label + ':':<{width}}{value}" for label, value in rows)
    print(config.scrub(text))
