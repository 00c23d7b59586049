"""Print the Pulumi package schema (``schema.json``) or its Markdown reference (``docs/reference.md``). Both
are committed and checked current by the tests; ``scripts/regen`` also generates the SDKs from the first."""

from __future__ import annotations

import argparse
import sys

from ..schema import package_schema, reference_markdown, schema_json


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--format", choices=("json", "markdown"), default="json")


def run(args: argparse.Namespace) -> int:
    sys.stdout.write(schema_json() if args.format == "json" else reference_markdown(package_schema()))
    return 0
