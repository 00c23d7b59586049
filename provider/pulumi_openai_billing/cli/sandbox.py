"""Serve a local, wire-compatible billing API (SQLite) until Ctrl-C. The first line printed is its base URL.

It throttles each endpoint as OpenAI's Admin API does (7 requests, refilled over 60 s) unless told otherwise;
``--project NAME`` creates projects at start, so programs that look them up by name have something to find, and
``--api-key PROJECT/NAME`` creates project API keys (the project too, when missing); ``--model NAME`` adds a model to
the catalogue every project has a rate limit for.
"""

from __future__ import annotations

import argparse
import errno
import os
import sqlite3
from pathlib import Path
from typing import cast, get_args

from ._io import CommandError

SANDBOX_EXTRA = (
    "the sandbox needs FastAPI and uvicorn: pip install 'pulumi-openai-billing[sandbox]' "
    "(a Pulumi program needs neither)"
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--admin-key", help="the admin key clients must present (else OPENAI_ADMIN_KEY)")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="0 picks a free port (default)")
    parser.add_argument("--db", help="SQLite file; without it the account lives in memory")
    parser.add_argument("--org-id", default="org-sandbox")
    parser.add_argument(
        "--project",
        dest="projects",
        action="append",
        default=[],
        metavar="NAME",
        help="create a project of this name at start (repeatable; one already there by that name is kept)",
    )
    parser.add_argument(
        "--api-key",
        dest="api_keys",
        action="append",
        default=[],
        metavar="PROJECT/NAME",
        help="create a project API key of this name in the project of that name at start, the project too when "
        "missing (repeatable; a key already there by that name is kept; never a secret: keys are redacted)",
    )
    parser.add_argument(
        "--model",
        dest="models",
        action="append",
        default=[],
        metavar="NAME",
        help="add a model to the ones every project has a rate limit for (repeatable; 500 requests and 200,000 tokens "
        "a minute)",
    )
    parser.add_argument(
        "--empty-limit",
        choices=("404", "zero"),
        default="zero",
        help="how GET answers a scope with no limit: zero (OpenAI's reference example: 0, inactive) or 404",
    )
    parser.add_argument(
        "--rate-limit",
        default="7/60s",
        help="OpenAI's throttle per endpoint: N/Ms (N requests in a burst, refilled over M seconds) or off "
        "(default 7/60s, as measured on OpenAI's Admin API)",
    )
    parser.add_argument(
        "--rate-limit-retry-after",
        action="store_true",
        help="send Retry-After with a throttled 429 (OpenAI does not, as measured)",
    )
    parser.add_argument(
        "--no-billing-extension",
        action="store_true",
        help="serve the Admin API alone, as api.openai.com does (no payment methods, credits or auto-reload)",
    )
    parser.add_argument(
        "--fault-rate", type=float, default=0.0, help="share of requests answered with a random fault (0 to 1)"
    )
    parser.add_argument(
        "--fault-kinds",
        help="the faults drawn, comma-separated: 500, 503, 429 (with Retry-After), drop_after_commit (default: all)",
    )
    parser.add_argument("--fault-seed", type=int, default=0, help="seed of the fault draws (a run replays)")
    parser.add_argument("--latency-ms", type=int, default=0, help="latency added to every API request")


def run(args: argparse.Namespace) -> int:
    try:
        from ..sandbox import serve
        from ..sandbox.models import FaultKind, RandomFaultsIn
        from ..sandbox.rate_limits import bad_model_name
        from ..sandbox.throttle import RateLimit
    except ModuleNotFoundError as exc:
        if exc.name not in ("fastapi", "uvicorn", "starlette"):
            raise
        raise CommandError(SANDBOX_EXTRA) from None
    from pydantic import ValidationError

    admin_key = args.admin_key or os.environ.get("OPENAI_ADMIN_KEY")
    if not admin_key:
        raise CommandError("--admin-key (or OPENAI_ADMIN_KEY) is required: the key clients must present")
    known = get_args(FaultKind)
    given = args.fault_kinds if args.fault_kinds is not None else ",".join(known)
    kinds = cast("list[FaultKind]", [kind.strip() for kind in given.split(",") if kind.strip()])
    unknown = [kind for kind in kinds if kind not in known]
    if unknown or not kinds:
        named = ", ".join(unknown) or "none given"
        raise CommandError(f"--fault-kinds: {named} is no fault kind; choose from {', '.join(known)}")
    faults = None
    if args.fault_rate or args.latency_ms:
        try:
            faults = RandomFaultsIn(rate=args.fault_rate, kinds=kinds, seed=args.fault_seed, latency_ms=args.latency_ms)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise CommandError(f"bad fault options: {problems}") from None
    try:
        RateLimit.parse(args.rate_limit)
    except ValueError as exc:
        raise CommandError(f"--rate-limit: {exc}") from None
    bad = [name for name in args.projects if not 0 < len(name.strip()) <= 255]
    if bad:
        raise CommandError(f"--project {bad[0]!r}: a project name has 1 to 255 characters")
    for key in args.api_keys:
        project, _, name = key.rpartition("/")
        if not (0 < len(project.strip()) <= 255 and 0 < len(name.strip()) <= 255):
            raise CommandError(f"--api-key {key!r}: name a key PROJECT/NAME (a project name, a slash, a key name)")
    for model in args.models:
        problem = bad_model_name(model)
        if problem:
            raise CommandError(f"--model {model!r}: {problem}")
    folder = Path(args.db).resolve().parent if args.db else None
    if folder is not None and not folder.is_dir():
        raise CommandError(f"--db {args.db}: the folder {folder} does not exist")
    try:
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
            project_names=args.projects,
            api_key_names=args.api_keys,
            models=args.models,
        )
    except sqlite3.DatabaseError as exc:
        raise CommandError(
            f"--db {args.db} is not a sandbox database ({exc}): name a new file or one it made"
        ) from None
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            raise CommandError(
                f"port {args.port} on {args.host} is in use: choose another --port, or 0 for a free one"
            ) from None
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0
