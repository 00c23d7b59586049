"""The dynamic-provider plugin server in a subprocess, driven over gRPC as the engine drives it.

For plugin-level tests: one call at a time (Check, Diff, Create, Read, Update, Delete), with the exact olds and
news a test needs. Programs run under the real engine through ``pulumi_openai_billing.testing.Stack``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import struct_pb2

from pulumi_openai_billing._api.config import scrub

UNKNOWN = "04da6b54-80e4-46f7-96ec-b56ff0331ba9"


class PluginError(RuntimeError):
    """A provider operation failed; the message is the provider's error, without the plugin's traceback."""


def _struct(values: Mapping[str, Any]) -> struct_pb2.Struct:
    result = struct_pb2.Struct()
    result.update(dict(values))
    return result


def _plain(struct: struct_pb2.Struct) -> dict[str, Any]:
    from pulumi.runtime import rpc

    return _unknowns_as_sentinel(rpc.deserialize_properties(struct, keep_unknowns=True))


def _unknowns_as_sentinel(value: Any) -> Any:
    from pulumi.output import Unknown

    if isinstance(value, Unknown):
        return UNKNOWN
    if isinstance(value, dict):
        return {k: _unknowns_as_sentinel(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_unknowns_as_sentinel(v) for v in value]
    return value


def _error_text(exc: grpc.RpcError) -> str:
    """The last exception line of the plugin's traceback (the provider's own message)."""
    details = exc.details() or str(exc) if isinstance(exc, grpc.Call) else str(exc)
    lines = [line for line in details.strip().splitlines() if line.strip()]
    for index in range(len(lines) - 1, -1, -1):
        if not lines[index].startswith(" "):
            return scrub("\n".join(lines[index:]))
    return scrub(details)


@dataclass
class Diff:
    changes: bool | None
    replaces: list[str]
    delete_before_replace: bool


class Plugin:
    """The dynamic-provider plugin server in a subprocess, driven over gRPC as the engine does."""

    def __init__(
        self,
        config: Mapping[str, str] | None = None,
        env: Mapping[str, str] | None = None,
        *,
        log_file: str | os.PathLike[str] | None = None,
        command: Sequence[str] = (sys.executable, "-m", "pulumi.dynamic"),
    ) -> None:
        """``log_file`` collects the server's standard error (appended); without it a temporary file holds it
        while the server runs and is removed on close. ``command`` starts the server (the dynamic-provider host
        unless told otherwise: ``pulumi-resource-openai-billing`` is driven the same way)."""
        self._command = list(command)
        self._config = dict(config or {})
        self._env = env
        self._log_file = log_file
        self._process: subprocess.Popen[bytes] | None = None
        self._channel: grpc.Channel | None = None
        self.stderr_path: str | None = None

    def __enter__(self) -> Plugin:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def start(self) -> None:
        from pulumi.runtime.proto import provider_pb2, provider_pb2_grpc

        if self._log_file is not None:
            self._stderr = open(self._log_file, "ab")  # noqa: SIM115 (closed in close())
        else:
            self._stderr = tempfile.NamedTemporaryFile(prefix="openai-billing-plugin-", suffix=".log", delete=False)  # noqa: SIM115
        self.stderr_path = self._stderr.name
        env = {**os.environ, **(self._env or {})}
        self._process = subprocess.Popen(
            self._command,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            stdin=subprocess.DEVNULL,
            env=env,
        )
        assert self._process.stdout is not None
        port = self._process.stdout.readline().decode().strip()
        if not port.isdigit():
            self.close()
            raise PluginError(f"the plugin server did not start (see {self.stderr_path})")
        self._channel = grpc.insecure_channel(f"127.0.0.1:{port}")
        grpc.channel_ready_future(self._channel).result(timeout=30)
        self._stub = provider_pb2_grpc.ResourceProviderStub(self._channel)
        self._pb = provider_pb2
        self._stub.Configure(provider_pb2.ConfigureRequest(args=_struct(self._config), acceptSecrets=False))

    def close(self) -> None:
        if self._channel is not None:
            self._channel.close()
            self._channel = None
        if self._process is not None:
            self._process.terminate()
            try:
                self._process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self._process.kill()
                self._process.wait()
            if self._process.stdout:
                self._process.stdout.close()
            self._process = None
            self._stderr.close()
            if self._log_file is None and self.stderr_path:
                Path(self.stderr_path).unlink(missing_ok=True)

    def kill(self) -> None:
        """End the server abruptly (SIGKILL), as a crash would: for crash-consistency tests."""
        if self._process is not None:
            self._process.kill()
            self._process.wait()

    def _call(self, method: str, request: Any) -> Any:
        try:
            return getattr(self._stub, method)(request)
        except grpc.RpcError as exc:
            raise PluginError(_error_text(exc)) from None

    def check(
        self, urn: str, olds: Mapping[str, Any], news: Mapping[str, Any]
    ) -> tuple[dict[str, Any], list[tuple[str, str]]]:
        resp = self._call("Check", self._pb.CheckRequest(urn=urn, olds=_struct(olds), news=_struct(news)))
        return _plain(resp.inputs), [(f.property, f.reason) for f in resp.failures]

    def diff(self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> Diff:
        resp = self._call("Diff", self._pb.DiffRequest(urn=urn, id=id_, olds=_struct(olds), news=_struct(news)))
        changes = {self._pb.DiffResponse.DIFF_SOME: True, self._pb.DiffResponse.DIFF_NONE: False}.get(resp.changes)
        return Diff(changes, list(resp.replaces), resp.deleteBeforeReplace)

    def create(self, urn: str, props: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
        resp = self._call("Create", self._pb.CreateRequest(urn=urn, properties=_struct(props)))
        return resp.id, _plain(resp.properties)

    def read(
        self, urn: str, id_: str, props: Mapping[str, Any], inputs: Mapping[str, Any] | None = None
    ) -> tuple[str, dict[str, Any], dict[str, Any] | None]:
        request = self._pb.ReadRequest(urn=urn, id=id_, properties=_struct(props), inputs=_struct(inputs or {}))
        resp = self._call("Read", request)
        return resp.id, _plain(resp.properties), (_plain(resp.inputs) if resp.HasField("inputs") else None)

    def update(self, urn: str, id_: str, olds: Mapping[str, Any], news: Mapping[str, Any]) -> dict[str, Any]:
        resp = self._call("Update", self._pb.UpdateRequest(urn=urn, id=id_, olds=_struct(olds), news=_struct(news)))
        return _plain(resp.properties)

    def delete(self, urn: str, id_: str, props: Mapping[str, Any]) -> None:
        self._call("Delete", self._pb.DeleteRequest(urn=urn, id=id_, properties=_struct(props)))
