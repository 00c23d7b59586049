"""The ``openai-billing`` command: one module per subcommand, each with ``add_arguments(parser)`` and
``run(args) -> int``. A mistake ends with one line on stderr and exit status 2; Ctrl-C with 130; ``--debug``
shows the traceback instead."""

from __future__ import annotations

import argparse
import importlib
import signal
import sys
import threading
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import NoReturn

from .._api import config
from .._api.client import report_waits_on_stderr
from .._version import __version__
from ..errors import ConfigError
from ._io import CommandError, describe_os_error

_COMMANDS = (
    ("sandbox", "sandbox", "serve a local, wire-compatible billing API (SQLite)"),
    ("demo", "demo", "run the quickstart against a fresh sandbox, step by step, under the Pulumi engine"),
    ("whoami", "whoami", "show which API, organization and key the settings point at, and whether the key works"),
    ("export", "export", "write a Pulumi program (or YAML) declaring every live spend limit and alert"),
    ("plan-report", "plan_report", "summarise a `pulumi preview --json` as Markdown, per changed scope"),
    ("schema", "schema", "print the Pulumi package schema (or its Markdown reference) to standard output"),
    ("simulate", "simulate", "replay a month of costs against a billing configuration (what if?)"),
)


_DEBUG_HELP = "show the traceback of an error instead of its one line"


class _Parser(argparse.ArgumentParser):
    """argparse, but a usage mistake is one line that says where to look, not the usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see {self.prog} --help)", file=sys.stderr)
        sys.exit(2)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="openai-billing", description="OpenAI billing as Pulumi resources")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--debug", action="store_true", help=_DEBUG_HELP)
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, module_name, help_ in _COMMANDS:
        module = importlib.import_module(f"{__package__}.{module_name}")
        sub = commands.add_parser(name, help=help_, description=module.__doc__)
        sub.add_argument("--debug", action="store_true", default=argparse.SUPPRESS, help=_DEBUG_HELP)
        module.add_arguments(sub)
        sub.set_defaults(func=module.run)
    return parser


@contextmanager
def _quiet_after_ctrl_c(debug: bool) -> Iterator[None]:
    """Ctrl-C ends a command quietly: once it is pressed, what fails or warns in the background while things shut
    down (the Automation API's readers of the Pulumi CLI's output and events, the SDK's coroutines) prints
    nothing, unless ``--debug``."""
    interrupted = threading.Event()
    default_hook = threading.excepthook

    def on_interrupt(signum: int, frame: FrameType | None) -> None:
        interrupted.set()
        if not debug:
            warnings.simplefilter("ignore")
            sys.unraisablehook = lambda unraisable: None  # "Exception ignored in …" while the SDK's loop dies
        raise KeyboardInterrupt

    def on_thread_error(failure: threading.ExceptHookArgs) -> None:
        if debug or not interrupted.is_set():
            default_hook(failure)

    in_main_thread = threading.current_thread() is threading.main_thread()
    default_signal = signal.signal(signal.SIGINT, on_interrupt) if in_main_thread else None
    threading.excepthook = on_thread_error
    try:
        yield
    finally:
        if not interrupted.is_set():  # else threads may still fail while the process exits: stay quiet
            threading.excepthook = default_hook
        if in_main_thread:
            signal.signal(signal.SIGINT, default_signal)


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    prog = f"openai-billing {args.command}"
    try:
        with _quiet_after_ctrl_c(args.debug):
            report_waits_on_stderr()
            return int(args.func(args) or 0)
    except KeyboardInterrupt:
        return 130
    except (CommandError, ConfigError, OSError) as exc:
        if args.debug:
            raise
        if isinstance(exc, OSError):
            message, status = describe_os_error(exc, "use"), 2
        else:
            message, status = str(exc), getattr(exc, "status", 2)
        print(f"{prog}: {config.scrub(message)}", file=sys.stderr)
        return status
    except Exception as exc:
        if args.debug:
            raise
        print(
            f"{prog}: unexpected error ({type(exc).__name__}: {config.scrub(str(exc))}); "
            "run again with --debug for the traceback",
            file=sys.stderr,
        )
        return 1
