"""What every ``openai-billing`` command shares: mistakes as one line, files read with a clear error, and
output written whole (to a temporary file renamed into place) or to standard output for ``-``."""

from __future__ import annotations

import errno
import os
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path

from ..errors import BillingError

__all__ = ["CommandError", "describe_os_error", "failure_status", "read_input", "write_atomically", "write_output"]


class CommandError(BillingError):
    """A mistake the user can fix: ``main`` prints ``openai-billing <command>: <message>`` and exits ``status``."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status


def failure_status(exc: Exception) -> int:
    """2 when the API refused the settings (key, organization, base URL: the user's to fix), else 1 (the API or
    the network failed: running again may work)."""
    return 2 if getattr(exc, "status", None) in (401, 403, 404) else 1


def describe_os_error(exc: OSError, doing: str) -> str:
    """``cannot write out/report.md: the folder out does not exist`` rather than ``[Errno 2] …``."""
    where = f" {exc.filename}" if exc.filename else ""
    reasons = {
        errno.ENOENT: "it does not exist",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.EISDIR: "it is a folder",
        errno.ENOTDIR: "a part of the path is not a folder",
        errno.EROFS: "the file system is read-only",
        errno.ENOSPC: "the disk is full",
    }
    return f"cannot {doing}{where}: {reasons.get(exc.errno or 0, exc.strerror or str(exc))}"


def read_input(path: str, what: str) -> str:
    """The text of ``path`` (``-``: standard input); a file that cannot be read is a :class:`CommandError`."""
    if path == "-":
        return sys.stdin.read()
    try:
        return Path(path).read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise CommandError(f"{path}: {what} must be UTF-8 text") from None
    except OSError as exc:
        raise CommandError(describe_os_error(exc, f"read {what}")) from None


def write_atomically(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write`` on a temporary file beside ``path``, then rename it into place: a failure or Ctrl-C never
    leaves half a file, and nothing is left behind."""
    folder = path.parent
    if not folder.is_dir():
        raise CommandError(f"cannot write {path}: the folder {folder} does not exist")
    try:
        handle, temporary = tempfile.mkstemp(dir=folder, prefix=f".{path.name}.", suffix=".tmp")
    except OSError as exc:
        raise CommandError(describe_os_error(exc, f"write {path} in")) from None
    os.close(handle)
    try:
        write(Path(temporary))
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise CommandError(describe_os_error(exc, "write")) from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_output(target: str | None, text: str) -> str | None:
    """``text`` to ``target`` (None or ``-``: standard output). The file written, else None."""
    if target in (None, "-"):
        sys.stdout.write(text)
        return None
    path = Path(target)
    if path.is_dir():
        raise CommandError(f"cannot write {path}: it is a folder (name a file, or - for standard output)")
    write_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))
    return str(path)
