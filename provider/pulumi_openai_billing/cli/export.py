"""Write a Pulumi program (or a YAML description) declaring every live spend limit and spend alert, and each
project's cost controls that differ from a new project's.

It reads the account the settings point at (OPENAI_ADMIN_KEY, OPENAI_BILLING_BASE_URL,
OPENAI_BILLING_ORGANIZATION): the organization's limit and alerts and those of every active project
(archived projects are skipped), and each project's model policy, hosted-tool switches and service tiers where
they differ from what a project never changed has (no policy, every tool on, the Standard default with every tier
enabled); with `--rate-limits`, every maximum of every model's rate limit too (the API cannot tell a default from a
set value). Resources name their project by its id (no Project resource is declared). Each generated resource
adopts its live counterpart (limits and model policies with adopt_existing=True, alerts with adopt_alert_id; tool
switches, tiers and rate limits are set to the values they hold), so the first `pulumi up` writes nothing.
The program is Python by default (dynamic resources); `--language yaml|typescript|go` writes it for the provider
plugin instead (Pulumi YAML; TypeScript or Go over the SDKs generated from schema.json: camelCase names, type tokens
`openai-billing:index:<Kind>`), with import.json and import.sh, which import the same resources (`pulumi import`)
for a stack that would rather import than adopt them (Python's dynamic resources cannot be imported).
`--format yaml` writes the configuration file that `simulate --config` reads instead (spend only).
Exit status: 0 written, 1 refused (existing files) or the API failed, 2 a setting or an option is wrong.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlparse

import yaml

from .._api import config
from .._api.fields import ORGANIZATION
from .._version import __version__
from ..account import Account, ProjectControls, config_of, read_account
from ..errors import OpenAIError, ProviderError, RequestFailed
from ..functions import ProjectInfo, SpendAlert, SpendLimit
from ..model.config import dump_config
from ..resources import wire_names
from ..resources.service_tiers import ALL
from ._export_languages import (
    IMPORT_IDS,
    LANGUAGES,
    LINE,
    PULUMI_VERSION,
    Declaration,
    Program,
    Section,
    comment,
    import_id,
    render,
    text_width,
)
from ._io import CommandError, describe_os_error, failure_status, write_atomically

__all__ = ["IMPORT_IDS", "add_arguments", "import_id", "requirements", "run"]

# -- the live account -----------------------------------------------------------------------------------

"""The organization's slug: its resources are ``organization-limit``, ``organization-alert-<threshold>``…"""


@dataclass(frozen=True)
class _Scope:
    """The organization (``project`` None) or one active project, with its live limit and alerts."""

    slug: str
    project: ProjectInfo | None
    limit: SpendLimit | None
    alerts: tuple[SpendAlert, ...]
    controls: ProjectControls = field(default_factory=ProjectControls)
    rate_names: tuple[str, ...] = ()
    """The resource name of each of ``controls.rate_limits``, unique in the program."""

    @property
    def title(self) -> str:
        """``'Team A' (proj_…)`` for a project: the (shortened) name as a Python literal, safe in a comment."""
        if self.project is None:
            return "the organization"
        return f"{_shown(self.project.name)} ({self.project.id})"

    @property
    def empty(self) -> bool:
        return self.limit is None and not self.alerts and self.controls.empty

    def control_names(self) -> list[str]:
        """The names of the project's control resources but its rate limits (``<slug>-models``…)."""
        controls = self.controls
        present = (
            ("models", controls.model_policy),
            ("tools", controls.hosted_tools),
            ("tiers", controls.service_tiers),
        )
        return [f"{self.slug}-{suffix}" for suffix, found in present if found is not None]

    def above_limit(self, alert: SpendAlert) -> bool:
        """An alert the limit makes unreachable: declaring it needs ``allow_above_limit=True``."""
        return self.limit is not None and Decimal(alert.threshold_usd) > Decimal(self.limit.monthly_limit_usd)

    def alert_names(self) -> list[tuple[str, SpendAlert]]:
        """``<slug>-alert-<threshold>``, with ``-2``, ``-3``… for equal thresholds, in a stable order."""
        names: list[tuple[str, SpendAlert]] = []
        taken: set[str] = set()
        for alert in self.alerts:
            names.append((_unique(f"{self.slug}-alert-{_amount_label(alert.threshold_usd)}", taken), alert))
        return names


@dataclass(frozen=True)
class _Account:
    base_url: str
    organization: str | None
    binding: str
    exported_at: str
    org: _Scope
    projects: tuple[_Scope, ...]
    archived: tuple[ProjectInfo, ...]
    read: Account
    rate_limits: bool = False
    """Whether every rate limit was read (and is declared)."""


def _read_account(settings: config.Settings, *, controls: bool = False, rate_limits: bool = False) -> _Account:
    """The account (one read, shared with the other tools), each project under a unique slug."""
    read = read_account(controls=controls, rate_limits=rate_limits)
    taken = {ORGANIZATION}  # a project named Organization becomes organization-2
    scopes = []
    for scope in read.projects:
        assert scope.project is not None
        slug = _unique(_slug(scope.project.name) or _slug(scope.project.id), taken)
        scopes.append(_Scope(slug, scope.project, scope.limit, scope.alerts, scope.controls))
    scopes = _name_rate_limits(scopes)
    return _Account(
        base_url=settings.base_url,
        organization=settings.organization,
        binding=settings.organization_binding,
        exported_at=datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        org=_Scope(ORGANIZATION, None, read.organization.limit, read.organization.alerts),
        projects=tuple(scopes),
        archived=read.archived,
        read=read,
        rate_limits=rate_limits,
    )


def _name_rate_limits(scopes: list[_Scope]) -> list[_Scope]:
    """Each rate limit named ``<slug>-rate-<model>``, unique among every name of the program (model names are
    free text: ``-2``, ``-3``… where two would meet)."""
    taken = set()
    for scope in scopes:
        taken.update([f"{scope.slug}-limit", *(name for name, _ in scope.alert_names()), *scope.control_names()])
    named = []
    for scope in scopes:
        names = tuple(
            _unique(f"{scope.slug}-rate-{_slug(rate.model) or 'model'}", taken) for rate in scope.controls.rate_limits
        )
        named.append(replace(scope, rate_names=names))
    return named


def _shown(name: str, limit: int = 60) -> str:
    """A project name for a comment: a Python literal (newlines and all escaped), shortened past ``limit``."""
    return repr(name) if len(name) <= limit else repr(name[: limit - 1]) + "…"


def _slug(text: str) -> str:
    """Lower-case ASCII letters and digits joined by single hyphens, at most 48 characters."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")[:48].rstrip("-")


def _unique(name: str, taken: set[str]) -> str:
    """``name``, or ``name-2``, ``name-3``… when taken; records the result."""
    candidate, n = name, 1
    while candidate in taken:
        n += 1
        candidate = f"{name}-{n}"
    taken.add(candidate)
    return candidate


def _amount_label(usd: str) -> str:
    """``"500.00"`` -> ``500``; ``"12.50"`` stays ``12.50`` (a resource-name part)."""
    return usd.removesuffix(".00")


# -- Python emitter: literals through repr(), laid out as `ruff format` lays them out --------------------


def _string(value: str) -> str:
    """A string literal in the quotes ruff prefers: double, unless that needs more escapes than single."""
    if value.count('"') > value.count("'"):
        return repr(value)
    inner = "".join('\\"' if c == '"' else "'" if c == "'" else repr(c)[1:-1] for c in value)
    return f'"{inner}"'


def _literal(value: object) -> str:
    return _string(value) if isinstance(value, str) else repr(value)


def _argument(key: str, value: object, indent: int) -> list[str]:
    pad = " " * indent
    if not isinstance(value, (list, tuple)):
        return [f"{pad}{key}={_literal(value)},"]
    items = [_literal(v) for v in value]
    flat = f"{pad}{key}=[{', '.join(items)}],"
    if text_width(flat) <= LINE:
        return [flat]
    return [f"{pad}{key}=[", *(f"{pad}    {item}," for item in items), f"{pad}],"]


def _call(function: str, name: str, arguments: list[tuple[str, object]], indent: int) -> list[str]:
    """``function("name", key=value, ...)``, one argument a line with a trailing comma (ruff keeps it so)."""
    pad = " " * indent
    lines = [f"{pad}{function}(", f"{pad}    {_string(name)},"]
    for key, value in arguments:
        lines.extend(_argument(key, value, indent + 4))
    return [*lines, f"{pad})"]


def _comment(text: str, indent: int = 0) -> list[str]:
    """``text`` as comment lines within the line length, as ruff measures it (a wide character takes two)."""
    return comment(text, " " * indent)


# -- the resources to declare, whatever the language --------------------------------------------------------


def _declarations(scope: _Scope) -> list[Declaration]:
    """The limit, alerts and controls of one scope, each adopting (or set to) what it holds."""
    project = scope.project
    where: dict[str, object] = {} if project is None else {"project_id": project.id}
    kind = "Organization" if project is None else "Project"
    found: list[Declaration] = []
    if scope.limit is not None:
        inputs = {**where, "monthly_limit_usd": scope.limit.monthly_limit_usd}
        if scope.limit.notify_recipients:
            inputs["notify_recipients"] = list(scope.limit.notify_recipients)
        if scope.limit.notify_subject_prefix:
            inputs["notify_subject_prefix"] = scope.limit.notify_subject_prefix
        found.append(Declaration(f"{scope.slug}-limit", f"{kind}SpendLimit", {**inputs, "adopt_existing": True}))
    for name, alert in scope.alert_names():
        inputs = {**where, "threshold_usd": alert.threshold_usd, "recipients": list(alert.recipients)}
        if alert.subject_prefix is not None:
            inputs["subject_prefix"] = alert.subject_prefix
        if scope.above_limit(alert):
            inputs["allow_above_limit"] = True
        found.append(Declaration(name, f"{kind}SpendAlert", {**inputs, "adopt_alert_id": alert.id}))
    return found + _control_declarations(scope, where)


def _control_declarations(scope: _Scope, where: dict[str, object]) -> list[Declaration]:
    """A project's controls that differ from a new project's, and its rate limits."""
    controls, found = scope.controls, []
    if controls.model_policy is not None:
        policy = controls.model_policy
        inputs = {**where, "mode": policy.mode, "model_ids": list(policy.model_ids), "adopt_existing": True}
        found.append(Declaration(f"{scope.slug}-models", "ProjectModelPermissions", inputs))
    if controls.hosted_tools is not None:
        found.append(Declaration(f"{scope.slug}-tools", "ProjectHostedTools", {**where, **dict(controls.hosted_tools)}))
    if controls.service_tiers is not None:
        tiers = controls.service_tiers
        enabled: object = ALL if tiers.enabled_tiers == (ALL,) else list(tiers.enabled_tiers)
        inputs = {**where, "default": tiers.default, "enabled_tiers": enabled}
        found.append(Declaration(f"{scope.slug}-tiers", "ProjectServiceTiers", inputs))
    for name, rate in zip(scope.rate_names, controls.rate_limits, strict=True):
        found.append(Declaration(name, "ProjectRateLimit", {**where, "model": rate.model, **dict(rate.maxima)}))
    return found


def _sections(account: _Account) -> list[Section]:
    """The organization's declarations, then each project's, each under its heading (none for an empty one)."""
    scopes = [(account.org, "The organization"), *((s, f"Project {s.title}") for s in account.projects)]
    return [Section(title, tuple(_declarations(scope))) for scope, title in scopes if not scope.empty]


def _scope_resources(scope: _Scope, indent: int) -> list[str]:
    """The Python declarations of one scope."""
    lines: list[str] = []
    for declaration in _declarations(scope):
        lines += _call(f"billing.{declaration.kind}", declaration.name, list(declaration.inputs.items()), indent)
    return lines


def _header_sentences(account: _Account, field: Callable[[str], str] = str) -> list[str]:
    """What the program's header says, one sentence (or setting) a comment; ``field`` spells a model field as the
    program's language does."""
    sentences = [
        f"OpenAI spend limits and alerts exported by `openai-billing export` (pulumi-openai-billing "
        f"{__version__}) from {account.base_url} on {account.exported_at}.",
        f"Organization: {_organization(account)}.",
        f"Every resource adopts its live counterpart ({field('adopt_existing')}, {field('adopt_alert_id')}), so the "
        f'first `pulumi up` writes nothing. Limits keep {field("on_delete")}="retain": destroying the stack leaves '
        "them in place.",
    ]
    if any(s.control_names() or s.rate_names for s in account.projects):
        sentences.append(
            "A project's model policy, hosted-tool switches and service tiers are declared where they differ from a "
            "new project's (no policy, every tool on, the standard default tier with every tier enabled)"
            + (
                "; every maximum of every model's rate limit is declared (--rate-limits)."
                if account.rate_limits
                else "; rate limits are not (export with --rate-limits to declare them)."
            )
        )
    sentences += [f"Stack setting: pulumi config set openai-billing:{k} {v}" for k, v in _stack_settings(account)]
    if account.archived:
        skipped = ", ".join(f"{_shown(p.name)} ({p.id})" for p in account.archived)
        sentences.append(f"Skipped archived projects: {skipped}.")
    empty = [s for s in account.projects if s.empty]
    if empty:
        sentences.append(f"Projects with nothing to declare: {', '.join(s.title for s in empty)}.")
    return sentences


def _header(account: _Account) -> list[str]:
    return [line for sentence in _header_sentences(account) for line in _comment(sentence)]


def _stack_settings(account: _Account) -> list[tuple[str, str]]:
    """The settings a stack of the program needs to reach the same account (besides the key)."""
    settings = [] if account.base_url == config.DEFAULT_BASE_URL else [("baseUrl", account.base_url)]
    return settings + ([("organization", account.organization)] if account.organization else [])


def _organization(account: _Account) -> str:
    return account.organization or f"none configured, the key's default organization ({account.binding})"


def _module_name(scope: _Scope) -> str:
    return "project_" + scope.slug.replace("-", "_")


def _natural(name: str) -> list[Any]:
    """isort's (and ruff's) natural order: ``project_a2`` before ``project_a10``."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]


def _program(account: _Account, split: bool) -> dict[str, str]:
    """File name -> text of the program's Python modules."""
    declared = [s for s in account.projects if not s.empty]
    files: dict[str, str] = {}
    main = [*_header(account), ""]
    if not account.org.empty or (declared and not split):
        main += ["import pulumi_openai_billing as billing", ""]
    if split and declared:
        main += [f"import {m}" for m in sorted((_module_name(s) for s in declared), key=_natural)] + [""]
    if not account.org.empty:
        main += ["# The organization", *_scope_resources(account.org, 0), ""]
    for scope in declared:
        if split:
            files[f"{_module_name(scope)}.py"] = _project_module(account, scope)
        else:
            main += [*_comment(f"Project {scope.title}"), *_scope_resources(scope, 0), ""]
    if split and declared:
        main += ["# The projects, one module each", *(f"{_module_name(s)}.declare()" for s in declared), ""]
    while main and main[-1] == "":
        main.pop()
    files["__main__.py"] = "\n".join(main) + "\n"
    return files


def _project_module(account: _Account, scope: _Scope) -> str:
    lines = [
        *_comment(f"The spend limit, alerts and controls of project {scope.title}, exported on {account.exported_at}."),
        *_comment("__main__.py calls declare(); see its header."),
        "",
        "import pulumi_openai_billing as billing",
        "",
        "",
        "def declare() -> None:",
        '    """Declare the project limit, alerts and controls (each adopts its live one)."""',
        *_scope_resources(scope, 4),
    ]
    return "\n".join(lines) + "\n"


def _project_files(account: _Account, project_name: str, split: bool, language: str = "python") -> dict[str, str]:
    """File name -> text of everything the program's folder gets."""
    project = {
        "name": project_name,
        "runtime": {"name": "python", "options": {"toolchain": "pip", "virtualenv": "venv"}},
        "description": f"OpenAI spend limits and alerts of {account.organization or account.binding}, as code",
    }
    if language != "python":
        header = _header_sentences(account, lambda name: wire_names({name: None})[name])
        header.append(
            "To import the resources rather than adopt them: import.sh (or pulumi import --file import.json)."
        )
        checkout = _checkout()
        sdk_go = None if checkout is None else checkout / "sdk" / "go"
        program = Program(project, header, _sections(account), sdk_go if sdk_go and sdk_go.is_dir() else None)
        return render(language, program)
    return {
        "Pulumi.yaml": yaml.safe_dump(project, sort_keys=False, allow_unicode=True),
        "requirements.txt": requirements(),
        **_program(account, split),
    }


def _origin() -> dict[str, Any]:
    """Where the running package was installed from (pip's direct_url.json), or {} (an index)."""
    try:
        direct = metadata.distribution("pulumi-openai-billing").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        direct = None
    found = json.loads(direct) if direct else {}
    return found if isinstance(found, dict) else {}


def _checkout() -> Path | None:
    """The local folder the running package was installed from (a checkout), if it was."""
    origin = _origin()
    url = str(origin.get("url", ""))
    if origin.get("vcs_info") or not url.startswith("file://"):
        return None
    return Path(unquote(urlparse(url).path))


def requirements() -> str:
    """The generated program's requirements.txt: this package from where the running one was installed (a
    checkout or a git URL), since no public index serves it; a release pin when it came from an index."""
    requirement = f"pulumi-openai-billing=={__version__}"
    origin = _origin()
    url, vcs = origin.get("url"), origin.get("vcs_info")
    if url and vcs:
        requirement = f"pulumi-openai-billing @ {vcs.get('vcs', 'git')}+{url}@{vcs.get('commit_id', '')}".rstrip("@")
    elif url:
        requirement = f"pulumi-openai-billing @ {url}"
    return (
        "# Where the package came from when this program was exported (no public index serves it); pin a\n"
        "# release of your own (a git URL with a tag, or your package index) when you keep the program.\n"
        f"pulumi>={PULUMI_VERSION},<4\n{requirement}\n"
    )


# -- the command ----------------------------------------------------------------------------------------

_PROJECT_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,100}$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--output",
        "-o",
        metavar="PATH",
        help="a program: its directory (created); --format yaml: the file, or - for standard output (default)",
    )
    parser.add_argument(
        "--format",
        choices=("python", "yaml"),
        default="python",
        help="python (default): a Pulumi program, in --language; yaml: the configuration file `simulate --config` "
        "reads (spend only)",
    )
    parser.add_argument(
        "--language",
        choices=LANGUAGES,
        help="the program's language (default: python, dynamic resources): yaml (Pulumi YAML), typescript or go, "
        "for the provider plugin pulumi-resource-openai-billing, with import.json and import.sh to import the "
        "resources rather than adopt them; not with --format yaml",
    )
    parser.add_argument("--split", action="store_true", help="python: one module per project (project_<slug>.py)")
    parser.add_argument(
        "--rate-limits",
        action="store_true",
        help="a program: also declare every project's rate limits, every maximum of every model (one resource per "
        "model and project; the API cannot tell OpenAI's defaults from values someone set, so they are left out "
        "unless asked)",
    )
    parser.add_argument("--project-name", default="openai-billing", help="the Pulumi project's name (Pulumi.yaml)")
    parser.add_argument("--force", action="store_true", help="overwrite existing files")


def run(args: argparse.Namespace) -> int:
    problem = _option_problem(args)
    if problem:
        raise CommandError(problem)
    settings = config.resolve()
    if not settings.admin_key:
        raise CommandError(config.MISSING_KEY_MESSAGE)
    try:
        account = _read_account(settings, controls=args.format == "python", rate_limits=args.rate_limits)
    except (OpenAIError, RequestFailed, ProviderError) as exc:
        raise CommandError(f"reading the account failed: {exc}", failure_status(exc)) from None
    if args.format == "yaml":
        return _write_yaml(account, args)
    return _write_program(account, args)


def _option_problem(args: argparse.Namespace) -> str | None:
    if args.format == "yaml" and args.language:
        return "--language and --format yaml exclude each other: --language writes a program, --format yaml the file"
    if args.split and args.language not in (None, "python"):
        return "--split applies to --language python only"
    if args.format == "yaml" and args.split:
        return "--split applies to --format python only"
    if args.format == "yaml" and args.rate_limits:
        return "--rate-limits applies to --format python only (the YAML file describes spend)"
    if args.format == "python" and not args.output:
        return "--output DIR is required: the directory to write the program into"
    if args.format == "python" and args.output == "-":
        return "a program is several files: --output must name a directory (use --format yaml for standard output)"
    if not _PROJECT_NAME.match(args.project_name):
        return "--project-name may hold letters, digits, '_', '.' and '-' only (at most 100)"
    return None


def _summary(account: _Account) -> str:
    scopes = [account.org, *account.projects]
    limits = sum(1 for s in scopes if s.limit is not None)
    alerts = sum(len(s.alerts) for s in scopes)
    text = f"{limits} limit(s) and {alerts} alert(s) across the organization and {len(account.projects)} project(s)"
    controls = sum(len(s.control_names()) + len(s.rate_names) for s in account.projects)
    if controls:
        text += f"; {controls} project control(s)"
    if account.archived:
        text += f"; skipped {len(account.archived)} archived project(s)"
    return text


def _write_yaml(account: _Account, args: argparse.Namespace) -> int:
    header = [
        f"OpenAI spend limits and alerts exported by `openai-billing export` from {account.base_url}",
        f"(organization: {_organization(account)}) on {account.exported_at}.",
        *(f"Skipped archived project {_shown(p.name)} ({p.id})." for p in account.archived),
    ]
    text = dump_config(config_of(account.read), header)
    if not args.output or args.output == "-":
        sys.stdout.write(text)
        print(f"exported {_summary(account)}", file=sys.stderr)
        return 0
    target = Path(args.output)
    if target.is_dir():
        raise CommandError(f"{target} is a directory: --format yaml writes one file")
    if target.exists() and not args.force:
        raise CommandError(f"{target} exists; pass --force to overwrite it", 1)
    _make_folder(target.parent)
    write_atomically(target, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    print(f"wrote {target}: {_summary(account)}")
    return 0


def _make_folder(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CommandError(describe_os_error(exc, "create the folder")) from None


def _write_program(account: _Account, args: argparse.Namespace) -> int:
    directory = Path(args.output)
    if directory.exists() and not directory.is_dir():
        raise CommandError(f"{directory} exists and is not a directory")
    language = args.language or "python"
    files = _project_files(account, args.project_name, args.split, language)
    existing = sorted(name for name in files if (directory / name).exists())
    if existing and not args.force:
        raise CommandError(f"{directory} already holds {', '.join(existing)}; pass --force to overwrite them", 1)
    _make_folder(directory)
    for name, text in files.items():
        write_atomically(directory / name, partial(Path.write_text, data=text, encoding="utf-8"))
    print(f"wrote {directory}/ ({', '.join(files)}): {_summary(account)}")
    stale = sorted(p.name for p in directory.glob("project_*.py") if p.name not in files)
    if stale and language == "python":
        print(f"note: {', '.join(stale)} (an earlier export?) is not imported by __main__.py any more; delete it")
    print(f"next: cd {directory} && pulumi stack init")
    for line in _PREPARE.get(language, ()):
        print(f"      {line}")
    for setting, value in _stack_settings(account):
        print(f"      pulumi config set openai-billing:{setting} {value}")
    print("      pulumi config set --secret openai-billing:adminKey sk-admin-...   (or OPENAI_ADMIN_KEY)")
    print("      pulumi up   # every resource adopts its live counterpart: nothing is written")
    if language != "python":
        print("      (or import them instead of adopting: sh import.sh, or pulumi import --file import.json --yes)")
        print("the provider plugin pulumi-resource-openai-billing must be on PATH (pip install pulumi-openai-billing)")
    return 0


_PREPARE = {
    "typescript": (
        "npm install   # @pulumi-openai-billing/sdk is not on npm: `npm link` your build of sdk/nodejs first",
    ),
    "go": ("go mod tidy   # go.mod points the SDK at a checkout's sdk/go when this package came from one",),
}
"""The language's own steps before the stack's settings."""
