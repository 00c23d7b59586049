"""Running a sandbox: ``serve`` in the foreground (the CLI) and ``Sandbox`` in a background thread (tests).

Both bind the socket first and listen on it before uvicorn starts, so the printed or returned base URL
accepts connections the moment it is known.
"""

from __future__ import annotations

import signal
import socket
import sys
import threading
import time
from types import FrameType, TracebackType
from typing import Any, TextIO

import uvicorn
from fastapi import FastAPI

from .app import create_app

_START_TIMEOUT_SECONDS = 10.0
_STOP_TIMEOUT_SECONDS = 10.0


def _bind(host: str, port: int) -> socket.socket:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # TCP proto: asyncio sets NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    return sock


def _base_url(host: str, sock: socket.socket) -> str:
    port = sock.getsockname()[1]
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/v1"


def _server(app: FastAPI) -> uvicorn.Server:
    """A quiet uvicorn: warnings only, no access log, no global logging configuration."""
    config = uvicorn.Config(
        app,
        http="h11",
        loop="asyncio",
        lifespan="on",
        log_config=None,
        log_level="warning",
        access_log=False,
        server_header=False,
        timeout_graceful_shutdown=2,
    )
    return uvicorn.Server(config)


def serve(admin_key: str, *, host: str = "127.0.0.1", port: int = 0, out: TextIO = sys.stdout, **options: Any) -> None:
    """Serve a sandbox until SIGINT/SIGTERM; the first line written to ``out`` is its base URL.

    ``port=0`` picks a free port; ``options`` are :func:`create_app`'s. Returns after a graceful shutdown, or
    raises ``KeyboardInterrupt`` once shut down when Ctrl-C (SIGINT) ended it.
    """
    app = create_app(admin_key, **options)
    server = _server(app)
    sock = _bind(host, port)
    out.write(_base_url(host, sock) + "\n")
    out.flush()
    received: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        """Stands in for the default handlers while serving (uvicorn re-raises the signal it shut down on), and
        stops a server that has not installed its own handlers yet."""
        received.append(signum)
        server.should_exit = True

    in_main_thread = threading.current_thread() is threading.main_thread()
    previous = {sig: signal.signal(sig, remember) for sig in (signal.SIGINT, signal.SIGTERM)} if in_main_thread else {}
    try:
        server.run(sockets=[sock])
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sock.close()
    if signal.SIGINT in received:
        raise KeyboardInterrupt


class Sandbox:
    """A sandbox on ``127.0.0.1`` (a free port) in a background thread, as a context manager.

    ``options`` are :func:`create_app`'s (``rate_limit="7/60s"``, OpenAI's throttle, is on unless set to
    ``"off"``). ``base_url`` is ``http://127.0.0.1:N/v1``; ``stop()`` (or leaving the ``with`` block) shuts the
    server down and joins its thread.
    """

    def __init__(self, admin_key: str, **options: Any) -> None:
        self.admin_key = admin_key
        self.options = options
        self.org_id: str = options.get("org_id", "org-sandbox")
        self.base_url = ""
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None

    def __repr__(self) -> str:
        return f"Sandbox(base_url={self.base_url!r}, org_id={self.org_id!r})"

    def start(self) -> Sandbox:
        """Start serving and return once the server accepts requests."""
        if self._server is not None:
            raise RuntimeError("this sandbox is already running")
        app = create_app(self.admin_key, **self.options)
        sock = _bind("127.0.0.1", 0)
        server = _server(app)
        thread = threading.Thread(
            target=server.run, kwargs={"sockets": [sock]}, name="openai-billing-sandbox", daemon=True
        )
        thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                server.should_exit = True
                thread.join(_STOP_TIMEOUT_SECONDS)
                sock.close()
                raise RuntimeError("the sandbox server did not start")
            time.sleep(0.002)
        self._server, self._thread = server, thread
        self.base_url = _base_url("127.0.0.1", sock)
        return self

    def stop(self) -> None:
        """Shut the server down (in-flight requests get a short grace period) and join its thread."""
        server, thread = self._server, self._thread
        self._server = self._thread = None
        if server is None or thread is None:
            return
        server.should_exit = True
        thread.join(_STOP_TIMEOUT_SECONDS)
        if thread.is_alive():
            server.force_exit = True
            thread.join(_STOP_TIMEOUT_SECONDS)

    def __enter__(self) -> Sandbox:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
