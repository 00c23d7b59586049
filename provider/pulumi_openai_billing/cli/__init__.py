"""The ``openai-billing`` command."""

from __future__ import annotations

import argparse
import importlib
import os
import sys

from .. import __version__
from .._api.client import report_waits_on_stderr

SANDBOX_EXTRA = (
    "the sandbox needs FastAPI and uvicorn: pip install 'pulumi-openai-billing[sandbox]' "
    "(a Pulumi program needs neither)"
)


def _sandbox(args: argparse.Namespace) -> int:
    try:
        from ..sandbox import serve
    except ModuleNotFoundError as exc:
        if exc.name not in ("fastapi", "uvicorn", "starlette"):
            raise
        print(f"openai-billing sandbox: {SANDBOX_EXTRA}", file=sys.stderr)
        return 2

    admin_key = args.admin_key or os.environ.get("OPENAI_ADMIN_KEY")
    if not admin_key:
        print("openai-billing sandbox: --admin-key (or OPENAI_ADMIN_KEY) is required", file=sys.stderr)
        return 2
    faults = None
    if args.fault_rate or args.latency_ms:
        from pydantic import ValidationError

        from ..sandbox.models import RandomFaultsIn

        try:
            faults = RandomFaultsIn(
                rate=args.fault_rate,
                kinds=args.fault_kinds.split(","),
                seed=args.fault_seed,
                latency_ms=args.latency_ms,
            )
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            print(f"openai-billing sandbox: bad fault options: {problems}", file=sys.stderr)
            return 2
    from ..sandbox.throttle import RateLimit

    try:
        RateLimit.parse(args.rate_limit)
    except ValueError as exc:
        print(f"openai-billing sandbox: --rate-limit: {exc}", file=sys.stderr)
        return 2
    serve(
        admin_key,
        host=args.host,
        port=args.port,
        db_path=args.db,
        org_id=args.org_id,
        empty_limit=args.empty_limit,
        billing_extension=not args.no_billing_extension,
        faults=faults,
        rate_limit=args.rate_limit,
        rate_limit_retry_after=args.rate_limit_retry_after,
    )
    return 0


def _demo(args: argparse.Namespace) -> int:
    from .demo import run_demo

    return run_demo()


_COMMANDS = (
    ("whoami", "whoami", "show which API, organization and key the settings point at, and whether the key works"),
    ("export", "export", "write a Pulumi program (or YAML) declaring every live spend limit and alert"),
    ("plan-report", "plan_report", "summarise a `pulumi preview --json` as Markdown, per changed scope"),
    ("schema", "schema", "print the Pulumi package schema (or its Markdown reference) to standard output"),
    ("simulate", "simulate", "replay a month of costs against a billing configuration (what if?)"),
)
"""Commands in their own modules: each has ``add_arguments(parser)`` and ``run(args) -> int``."""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="openai-billing", description="OpenAI billing as Pulumi resources")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)

    sandbox = commands.add_parser("sandbox", help="serve a local, wire-compatible billing API (SQLite)")
    sandbox.add_argument("--admin-key", help="the admin key clients must present (else OPENAI_ADMIN_KEY)")
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    sandbox.add_argument("--db", help="SQLite file; without it the account lives in memory")
    sandbox.add_argument("--org-id", default="org-sandbox")
    sandbox.add_argument(
        "--empty-limit",
        choices=("404", "zero"),
        default="zero",
        help="how GET answers a scope with no limit: zero (OpenAI's reference example: 0, inactive) or 404",
    )
    sandbox.add_argument(
        "--rate-limit",
        default="7/60s",
        help="OpenAI's throttle per endpoint: N/Ms (N requests in a burst, refilled over M seconds) or off "
        "(default 7/60s, as measured on OpenAI's Admin API)",
    )
    sandbox.add_argument(
        "--rate-limit-retry-after",
        action="store_true",
        help="send Retry-After with a throttled 429 (OpenAI does not, as measured)",
    )
    sandbox.add_argument(
        "--no-billing-extension",
        action="store_true",
        help="serve the Admin API alone, as api.openai.com does (no payment methods, credits or auto-reload)",
    )
    sandbox.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of requests answered with a random fault (0 to 1)"
    )
    sandbox.add_argument(
        "--fault-kinds",
        default="500,503,429,drop_after_commit",
        help="the faults drawn, comma-separated: 500, 503, 429 (with Retry-After), drop_after_commit",
    )
    sandbox.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws (a run replays)")
    sandbox.add_argument("--latency-ms", type=int, default=0, help="latency added to every API request")
    sandbox.set_defaults(func=_sandbox)

    demo = commands.add_parser(
        "demo", help="run the quickstart against a fresh sandbox, step by step, under the Pulumi engine"
    )
    demo.set_defaults(func=_demo)

    for name, module, help_ in _COMMANDS:
        command = importlib.import_module(f"{__package__}.{module}")
        sub = commands.add_parser(name, help=help_, description=command.__doc__)
        command.add_arguments(sub)
        sub.set_defaults(func=command.run)

    args = parser.parse_args(argv)
    report_waits_on_stderr()
    return int(args.func(args) or 0)
