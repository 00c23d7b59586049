"""The sandbox account in SQLite: projects and their API keys, settings held once per scope (spend limits, the
auto-reload policy…), spend alerts, recorded usage and the billing ledger (payment methods, credit grants, charges,
invoices, purchases, alert notifications).

One connection (``check_same_thread=False``) guarded by a lock serves FastAPI's worker threads; every
write commits before the handler answers, so a dropped response never loses a change. ``None`` as the
path means a fresh in-memory account; a file path keeps the account across restarts.
"""

from __future__ import annotations

import json
import secrets
import sqlite3
import string
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

ORG = "organization"
_ALPHANUM = string.ascii_letters + string.digits
_SCHEMA = """
CREATE TABLE IF NOT EXISTS projects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    archived_at INTEGER,
    external_key_id TEXT,
    residency TEXT
);
CREATE TABLE IF NOT EXISTS scoped_settings (
    name TEXT NOT NULL,
    scope TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (name, scope)
);
CREATE TABLE IF NOT EXISTS spend_alerts (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    scope TEXT NOT NULL,
    threshold_amount INTEGER NOT NULL,
    currency TEXT NOT NULL,
    interval TEXT NOT NULL,
    notification_channel TEXT NOT NULL,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS spend_alerts_scope ON spend_alerts (scope, deleted, seq);
CREATE TABLE IF NOT EXISTS usage (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    project_id TEXT NOT NULL,
    line_item TEXT NOT NULL,
    amount_usd TEXT NOT NULL,
    timestamp INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS usage_time ON usage (timestamp);
CREATE TABLE IF NOT EXISTS api_keys (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    project_id TEXT NOT NULL,
    name TEXT NOT NULL,
    redacted_value TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    last_used_at INTEGER,
    expires_at INTEGER,
    owner TEXT NOT NULL,
    scopes TEXT NOT NULL DEFAULT '[]',
    spend_limit TEXT,
    deleted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS api_keys_project ON api_keys (project_id, deleted, seq);
CREATE TABLE IF NOT EXISTS payment_methods (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    token_hash TEXT NOT NULL,
    brand TEXT NOT NULL,
    last4 TEXT NOT NULL,
    exp_month INTEGER NOT NULL,
    exp_year INTEGER NOT NULL,
    fingerprint TEXT NOT NULL,
    declines INTEGER NOT NULL,
    created_at INTEGER NOT NULL,
    detached INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS credit_grants (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    source TEXT NOT NULL,
    amount INTEGER NOT NULL,
    remaining_usd TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    purchase_id TEXT
);
CREATE TABLE IF NOT EXISTS charges (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    amount INTEGER NOT NULL,
    status TEXT NOT NULL,
    failure_code TEXT,
    reason TEXT NOT NULL,
    payment_method_id TEXT NOT NULL,
    purchase_id TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS invoices (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    amount INTEGER NOT NULL,
    description TEXT NOT NULL,
    charge_id TEXT NOT NULL,
    purchase_id TEXT,
    created_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS credit_purchases (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    purchase_key TEXT NOT NULL UNIQUE,
    amount INTEGER NOT NULL,
    payment_method_id TEXT NOT NULL,
    credit_grant_id TEXT NOT NULL,
    invoice_id TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS notifications (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    alert_id TEXT NOT NULL,
    project_id TEXT,
    threshold_amount INTEGER NOT NULL,
    month TEXT NOT NULL,
    spend_usd TEXT NOT NULL,
    recipients TEXT NOT NULL,
    subject_prefix TEXT,
    created_at INTEGER NOT NULL,
    UNIQUE (alert_id, month)
);
"""
_LEGACY = {
    "settings": "SELECT name, 'organization', value FROM settings",
    "spend_limits": "SELECT 'spend_limit', scope, json_object('threshold_amount', threshold_amount, 'currency', "
    "currency, 'interval', interval) FROM spend_limits",
}
"""The tables of older sandbox files whose rows now live in ``scoped_settings``, and how to read them there."""
_ADDED_COLUMNS = (("usage", "api_key_id"), ("projects", "external_key_id"), ("projects", "residency"))
"""Text columns added since the first sandbox files, as ``(table, column)``."""
_TABLES = frozenset({"payment_methods", "credit_grants", "charges", "invoices", "credit_purchases", "notifications"})


def new_id(prefix: str, alphabet: str = _ALPHANUM, length: int = 24) -> str:
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


class Store:
    """Typed access to the account; rows come back as plain dicts in creation order."""

    def __init__(self, db_path: str | None = None) -> None:
        self._db = sqlite3.connect(db_path or ":memory:", check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._lock = threading.RLock()
        with self._lock:
            self._db.executescript(_SCHEMA)
            self._adopt_legacy_tables()
            self._add_missing_columns()

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Several writes committed together, or none of them if the block raises."""
        with self._write():
            yield

    @contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed transaction under the lock; inside ``transaction()`` it joins the open one."""
        with self._lock:
            if self._db.in_transaction:
                yield self._db
                return
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def _adopt_legacy_tables(self) -> None:
        """Moves the settings of a file an older sandbox wrote into ``scoped_settings``, so they survive the upgrade."""
        found = {row["name"] for row in self._all("SELECT name FROM sqlite_master WHERE type = 'table'")}
        for table in sorted(found & _LEGACY.keys()):
            with self._write() as db:
                db.execute(f"INSERT OR IGNORE INTO scoped_settings (name, scope, value) {_LEGACY[table]}")
                db.execute(f"DROP TABLE {table}")

    def _add_missing_columns(self) -> None:
        """Adds the columns newer sandboxes keep to a file an older one wrote (usage gained ``api_key_id``, projects
        ``external_key_id`` and ``residency``)."""
        for table, column in _ADDED_COLUMNS:
            columns = {row["name"] for row in self._all(f"PRAGMA table_info({table})")}
            if column not in columns:
                with self._write() as db:
                    db.execute(f"ALTER TABLE {table} ADD COLUMN {column} TEXT")

    def _all(self, sql: str, *args: Any) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(row) for row in self._db.execute(sql, args).fetchall()]

    def _one(self, sql: str, *args: Any) -> dict[str, Any] | None:
        rows = self._all(sql, *args)
        return rows[0] if rows else None

    # -- projects ---------------------------------------------------------------------------------------

    def create_project(
        self, name: str, now: int, *, external_key_id: str | None = None, residency: str | None = None
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": new_id("proj_"),
            "name": name,
            "created_at": now,
            "archived_at": None,
            "external_key_id": external_key_id,
            "residency": residency,
        }
        with self._write() as db:
            row["seq"] = db.execute(
                "INSERT INTO projects (id, name, created_at, external_key_id, residency) VALUES (?, ?, ?, ?, ?)",
                (row["id"], name, now, external_key_id, residency),
            ).lastrowid
        return row

    def project(self, project_id: str) -> dict[str, Any] | None:
        return self._one("SELECT * FROM projects WHERE id = ?", project_id)

    def projects(self, *, include_archived: bool = True) -> list[dict[str, Any]]:
        where = "" if include_archived else "WHERE archived_at IS NULL"
        return self._all(f"SELECT * FROM projects {where} ORDER BY seq")

    def update_project(self, project_id: str, **values: str | None) -> None:
        """Sets a project's ``name`` and/or ``external_key_id`` (None removes the key)."""
        assert values.keys() <= {"name", "external_key_id"}
        if not values:
            return
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self._write() as db:
            db.execute(f"UPDATE projects SET {assignments} WHERE id = ?", (*values.values(), project_id))

    def archive_project(self, project_id: str, now: int) -> None:
        with self._write() as db:
            db.execute(
                "UPDATE projects SET archived_at = ? WHERE id = ? AND archived_at IS NULL",
                (now, project_id),
            )

    # -- settings held once per scope: the spend limits, the auto-reload policy, the default payment method -------

    def setting(self, name: str, scope: str = ORG) -> Any:
        """The value of setting ``name`` in ``scope``, or None when it is not set."""
        row = self._one("SELECT value FROM scoped_settings WHERE name = ? AND scope = ?", name, scope)
        return None if row is None else json.loads(row["value"])

    def settings(self, name: str) -> dict[str, Any]:
        """Every scope's value of setting ``name``, ordered by scope."""
        rows = self._all("SELECT scope, value FROM scoped_settings WHERE name = ? ORDER BY scope", name)
        return {row["scope"]: json.loads(row["value"]) for row in rows}

    def put_setting(self, name: str, value: Any, scope: str = ORG) -> None:
        """Sets (creates or replaces) a scope's value; None removes it."""
        if value is None:
            self.delete_setting(name, scope)
            return
        with self._write() as db:
            db.execute(
                "INSERT INTO scoped_settings (name, scope, value) VALUES (?, ?, ?) "
                "ON CONFLICT (name, scope) DO UPDATE SET value = excluded.value",
                (name, scope, json.dumps(value)),
            )

    def delete_setting(self, name: str, scope: str = ORG) -> bool:
        """Removes a scope's value; False when it was not set."""
        with self._write() as db:
            return db.execute("DELETE FROM scoped_settings WHERE name = ? AND scope = ?", (name, scope)).rowcount > 0

    # -- spend alerts -----------------------------------------------------------------------------------

    def _listed(self, table: str, owner: str, value: str | None) -> list[dict[str, Any]]:
        """The live rows of a paged collection owned by ``value`` (every owner's when None), oldest first."""
        if value is None:
            return self._all(f"SELECT * FROM {table} WHERE deleted = 0 ORDER BY seq")
        return self._all(f"SELECT * FROM {table} WHERE {owner} = ? AND deleted = 0 ORDER BY seq", value)

    def _member(self, table: str, owner: str, value: str, id_: str) -> dict[str, Any] | None:
        return self._one(f"SELECT * FROM {table} WHERE id = ? AND {owner} = ? AND deleted = 0", id_, value)

    def _seq(self, table: str, owner: str, value: str, id_: str) -> int | None:
        """A row's position, deleted ones included, so a cursor survives a delete."""
        row = self._one(f"SELECT seq FROM {table} WHERE id = ? AND {owner} = ?", id_, value)
        return int(row["seq"]) if row else None

    def alerts(self, scope: str | None = None) -> list[dict[str, Any]]:
        """Live alerts of one scope (every scope when None), each with its ``seq`` and ``scope``."""
        return [_alert(row) for row in self._listed("spend_alerts", "scope", scope)]

    def alert(self, scope: str, alert_id: str) -> dict[str, Any] | None:
        row = self._member("spend_alerts", "scope", scope, alert_id)
        return _alert(row) if row else None

    def alert_seq(self, scope: str, alert_id: str) -> int | None:
        return self._seq("spend_alerts", "scope", scope, alert_id)

    def create_alert(self, scope: str, values: dict[str, Any]) -> dict[str, Any]:
        row = {**values, "id": new_id("alert_", "0123456789abcdef"), "scope": scope, "deleted": 0}
        with self._write() as db:
            row["seq"] = db.execute(
                "INSERT INTO spend_alerts (id, scope, threshold_amount, currency, interval, notification_channel) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (row["id"], scope, *_alert_values(values)),
            ).lastrowid
        return row

    def replace_alert(self, scope: str, alert_id: str, values: dict[str, Any]) -> dict[str, Any] | None:
        with self._write() as db:
            changed = db.execute(
                "UPDATE spend_alerts SET threshold_amount = ?, currency = ?, interval = ?, notification_channel = ? "
                "WHERE id = ? AND scope = ? AND deleted = 0",
                (*_alert_values(values), alert_id, scope),
            ).rowcount
        return self.alert(scope, alert_id) if changed else None

    def delete_alert(self, scope: str, alert_id: str) -> bool:
        with self._write() as db:
            return (
                db.execute(
                    "UPDATE spend_alerts SET deleted = 1 WHERE id = ? AND scope = ? AND deleted = 0", (alert_id, scope)
                ).rowcount
                > 0
            )

    # -- billing ledger rows (the extension); ``table`` is one of ``_TABLES`` ---------------------------------

    def insert(self, table: str, row: dict[str, Any]) -> dict[str, Any]:
        assert table in _TABLES
        columns = ", ".join(row)
        marks = ", ".join("?" for _ in row)
        with self._write() as db:
            seq = db.execute(f"INSERT INTO {table} ({columns}) VALUES ({marks})", tuple(row.values())).lastrowid
        return {**row, "seq": seq}

    def rows(self, table: str, where: str = "1", *args: Any) -> list[dict[str, Any]]:
        """Rows of ``table`` matching a fixed ``where`` clause (arguments bound), in creation order."""
        assert table in _TABLES
        return self._all(f"SELECT * FROM {table} WHERE {where} ORDER BY seq", *args)

    def row(self, table: str, where: str, *args: Any) -> dict[str, Any] | None:
        rows = self.rows(table, where, *args)
        return rows[0] if rows else None

    def set_fields(self, table: str, row_id: str, **values: Any) -> None:
        assert table in _TABLES
        assignments = ", ".join(f"{name} = ?" for name in values)
        with self._write() as db:
            db.execute(f"UPDATE {table} SET {assignments} WHERE id = ?", (*values.values(), row_id))

    # -- usage ------------------------------------------------------------------------------------------

    def add_usage(
        self, project_id: str, line_item: str, amount_usd: Decimal, timestamp: int, api_key_id: str | None = None
    ) -> dict[str, Any]:
        amount = format(amount_usd, "f")
        with self._write() as db:
            db.execute(
                "INSERT INTO usage (project_id, line_item, amount_usd, timestamp, api_key_id) VALUES (?, ?, ?, ?, ?)",
                (project_id, line_item, amount, timestamp, api_key_id),
            )
            if api_key_id is not None:
                db.execute("UPDATE api_keys SET last_used_at = ? WHERE id = ?", (timestamp, api_key_id))
        return {
            "project_id": project_id,
            "line_item": line_item,
            "amount_usd": amount,
            "timestamp": timestamp,
            "api_key_id": api_key_id,
        }

    def usage(self, start: int = 0, end: int = 2**62) -> list[dict[str, Any]]:
        """Usage records with ``start <= timestamp < end``, amounts as exact decimal strings."""
        return self._all(
            "SELECT project_id, line_item, amount_usd, timestamp, api_key_id FROM usage "
            "WHERE timestamp >= ? AND timestamp < ? ORDER BY timestamp, seq",
            start,
            end,
        )

    def spend(self, scope: str, start: int, end: int) -> Decimal:
        """Exact dollars spent in ``[start, end)``: one project's, or every project's for the organization."""
        rows = self.usage(start, end)
        return sum((Decimal(r["amount_usd"]) for r in rows if scope == ORG or r["project_id"] == scope), Decimal(0))

    def key_spend(self, api_key_id: str, start: int, end: int) -> Decimal:
        """Exact dollars spent with one API key in ``[start, end)``."""
        rows = self.usage(start, end)
        return sum((Decimal(r["amount_usd"]) for r in rows if r["api_key_id"] == api_key_id), Decimal(0))

    # -- project API keys (never a secret: only the redacted value is kept) ----------------------------------

    def create_api_key(self, project_id: str, name: str, owner: dict[str, Any], now: int) -> dict[str, Any]:
        key_id = new_id("key_", length=16)
        redacted = f"sk-proj-{new_id('', length=2)}****{new_id('', length=4)}"
        with self._write() as db:
            db.execute(
                "INSERT INTO api_keys (id, project_id, name, redacted_value, created_at, owner) "
                "VALUES (?, ?, ?, ?, ?, ?)",
                (key_id, project_id, name, redacted, now, json.dumps(owner)),
            )
        key = self.api_key(project_id, key_id)
        assert key is not None
        return key

    def api_keys(self, project_id: str | None = None) -> list[dict[str, Any]]:
        """Live keys of one project (every project's when None), in creation order, each with its ``seq``."""
        return [_api_key(row) for row in self._listed("api_keys", "project_id", project_id)]

    def api_key(self, project_id: str, key_id: str) -> dict[str, Any] | None:
        row = self._member("api_keys", "project_id", project_id, key_id)
        return _api_key(row) if row else None

    def api_key_seq(self, project_id: str, key_id: str) -> int | None:
        return self._seq("api_keys", "project_id", project_id, key_id)

    def update_api_key(self, project_id: str, key_id: str, **values: Any) -> None:
        """Sets ``spend_limit`` (None removes it), ``scopes`` and/or ``expires_at`` of a live key."""
        if not values:
            return
        stored = {
            k: json.dumps(v) if k in ("spend_limit", "scopes") and v is not None else v for k, v in values.items()
        }
        assignments = ", ".join(f"{name} = ?" for name in stored)
        with self._write() as db:
            db.execute(
                f"UPDATE api_keys SET {assignments} WHERE id = ? AND project_id = ? AND deleted = 0",
                (*stored.values(), key_id, project_id),
            )

    def delete_api_key(self, project_id: str, key_id: str) -> bool:
        with self._write() as db:
            return (
                db.execute(
                    "UPDATE api_keys SET deleted = 1 WHERE id = ? AND project_id = ? AND deleted = 0",
                    (key_id, project_id),
                ).rowcount
                > 0
            )


def _alert_values(values: dict[str, Any]) -> tuple[Any, ...]:
    return (
        values["threshold_amount"],
        values["currency"],
        values["interval"],
        json.dumps(values["notification_channel"]),
    )


def _alert(row: dict[str, Any]) -> dict[str, Any]:
    return {**row, "notification_channel": json.loads(row["notification_channel"])}


def _api_key(row: dict[str, Any]) -> dict[str, Any]:
    limit = row["spend_limit"]
    return {
        **row,
        "owner": json.loads(row["owner"]),
        "scopes": json.loads(row["scopes"]),
        "spend_limit": None if limit is None else json.loads(limit),
    }
