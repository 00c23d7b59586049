"""Spend alerts: e-mails sent when a scope's month-to-date spend crosses a threshold; many per scope."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Annotated, Any, ClassVar

import pulumi
from pydantic import AfterValidator, Field, StrictBool, StrictStr, field_validator

from .._api.fields import MAX_RECIPIENTS, canonical_recipients, check_recipients
from .._api.money import format_usd, to_cents
from ..errors import OpenAIError, OutcomeUnknown, ProviderError, RequestFailed
from ._fields import InputModel, OutputModel, ProjectId, UsdAmount, described
from ._kind import Kind, unknown_scope
from ._resource import BillingResource
from ._step import RUN_SECONDS, Step
from ._wire import MONTH, USD, cents_field, check_currency, usd_from_cents
from .spend_limits import declared_limit, scope_limit

ALERT_LIST_TTL = RUN_SECONDS
"""Seconds one scope's alert list serves that scope's reads and creates; this process's own writes are
applied to it, a failed write drops it."""
AlertsById = dict[str, dict[str, Any]]
AlertsChange = Callable[[AlertsById], AlertsById]


def _blank_to_none(value: str | None) -> str | None:
    return value if value else None


class OrganizationSpendAlertInputs(InputModel):
    threshold_usd: Annotated[
        UsdAmount,
        described("Month-to-date spend in US dollars (at most two decimals) that sends the e-mail (once a month)."),
    ]
    recipients: Annotated[
        list[StrictStr],
        AfterValidator(check_recipients),
        described(
            f"E-mail addresses (1 to {MAX_RECIPIENTS}); stored trimmed, with domains lower-cased, de-duplicated and "
            "sorted, so order and case never diff."
        ),
    ]
    subject_prefix: Annotated[
        StrictStr | None,
        Field(max_length=255),
        AfterValidator(_blank_to_none),
        described("Text put before the e-mail's subject, e.g. to route it with mail rules (empty means none)."),
    ] = None
    adopt_alert_id: Annotated[
        StrictStr | None,
        described(
            "Take over this live alert (alert_…) instead of creating one; it is set to the declared values. "
            "Create-only: never diffs."
        ),
    ] = None
    allow_above_limit: Annotated[
        StrictBool,
        described(
            "Allow a threshold above the scope's live spend limit (such an alert can never fire: traffic stops at "
            "the limit); preview refuses it otherwise. Never diffs."
        ),
    ] = False

    @field_validator("adopt_alert_id")
    @classmethod
    def _alert_id(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,128}", value):
            raise ValueError("adopt_alert_id must be a spend alert id such as alert_abc123")
        return value


class ProjectSpendAlertInputs(OrganizationSpendAlertInputs):
    project_id: Annotated[ProjectId, described("The project (proj_…) whose spend is watched; changing it replaces.")]


class SpendAlertOutputs(OutputModel):
    alert_id: Annotated[str, described("The live alert's id (alert_…).")]
    threshold_cents: Annotated[int, described("The live threshold in integer cents.")]
    currency: Annotated[str, described('Always "USD".')]
    interval: Annotated[str, described('Always "month" (UTC calendar months).')]


def _body(values: dict[str, Any]) -> dict[str, Any]:
    return {
        "threshold_amount": to_cents(Decimal(values["threshold_usd"])),
        "currency": USD,
        "interval": MONTH,
        "notification_channel": {
            "type": "email",
            "recipients": list(values["recipients"]),
            "subject_prefix": values.get("subject_prefix"),
        },
    }


def live_values(alert: dict[str, Any]) -> dict[str, Any]:
    channel = alert.get("notification_channel") or {}
    return {
        "threshold_usd": usd_from_cents(cents_field(alert)),
        "recipients": canonical_recipients([str(r) for r in channel.get("recipients") or []]),
        "subject_prefix": channel.get("subject_prefix") or None,
    }


def _same(alert: dict[str, Any], values: dict[str, Any]) -> bool:
    live = live_values(alert)
    return all(live[k] == values.get(k) for k in ("threshold_usd", "recipients", "subject_prefix"))


def _identity(scope: str, values: dict[str, Any]) -> str:
    """What a create may match or adopt: only an alert equal to the declared one, so creates of equal alerts
    in one scope are serialised, and different ones in the same scope run side by side."""
    recipients = ",".join(values.get("recipients") or ())
    return f"{scope}:{values.get('threshold_usd')}:{recipients}:{values.get('subject_prefix') or ''}"


class _SpendAlertKind(Kind):
    family = "alert"
    outputs = SpendAlertOutputs
    create_only = frozenset({"adopt_alert_id", "allow_above_limit"})

    @staticmethod
    def _collection(project_id: str | None) -> str:
        return f"organization/projects/{project_id}/spend_alerts" if project_id else "organization/spend_alerts"

    @staticmethod
    def _split(id_: str) -> tuple[str | None, str]:
        project_id, _, alert_id = id_.rpartition("/")
        return project_id or None, alert_id

    @staticmethod
    def _id(project_id: str | None, alert_id: str) -> str:
        return f"{project_id}/{alert_id}" if project_id else alert_id

    def _outputs(self, alert: dict[str, Any], what: str) -> dict[str, Any]:
        check_currency(alert, what)
        return SpendAlertOutputs.of(
            alert_id=alert["id"],
            threshold_cents=cents_field(alert),
            currency=alert.get("currency", USD),
            interval=alert.get("interval", MONTH),
        )

    def _gone_or_error(self, step: Step, project_id: str | None, exc: OpenAIError) -> None:
        """A 404 on an alert means gone, unless its project is not visible (then: wrong organization)."""
        if not exc.gone:
            raise exc
        if project_id:
            step.require_project(project_id)

    def check_live(self, step: Step, inputs: dict[str, Any], olds: dict[str, Any]) -> list[tuple[str, str]]:
        if unknown_scope(self, inputs):
            return []
        project_id = inputs.get("project_id")
        if project_id:
            problem = step.project_problem(project_id)
            if problem:
                return [("project_id", problem)]
        if inputs.get("threshold_usd") is None or inputs.get("allow_above_limit"):
            return []
        threshold = Decimal(inputs["threshold_usd"])
        return self._above_limit(inputs, scope_limit(step, project_id, above=threshold))

    def check_unchanged(self, step: Step, inputs: dict[str, Any]) -> list[tuple[str, str]]:
        """An unchanged alert is judged only by a limit its program declares for the scope (a lower one, say),
        never by a read of the live limit."""
        if inputs.get("allow_above_limit"):
            return []
        return self._above_limit(inputs, declared_limit(step, inputs.get("project_id")))

    @staticmethod
    def _above_limit(inputs: dict[str, Any], limit: Decimal | None) -> list[tuple[str, str]]:
        project_id = inputs.get("project_id")
        if limit is None or Decimal(inputs["threshold_usd"]) <= limit:
            return []
        who = f"project {project_id}" if project_id else "the organization"
        return [
            (
                "threshold_usd",
                f"threshold_usd ({inputs['threshold_usd']} USD) is above the spend limit of {who} "
                f"({format_usd(limit)} USD): traffic stops at the limit, so this alert could never fire. Lower the "
                "threshold, raise the limit, or set allow_above_limit=True",
            )
        ]

    @staticmethod
    def _scope(project_id: str | None) -> str:
        return f"alerts:{project_id or 'organization'}"

    def _listed(self, step: Step, project_id: str | None) -> AlertsById:
        """The scope's live alerts by id: one paged list shared by the scope's concurrent readers."""
        return step.figures.get(
            self._scope(project_id), lambda: {a["id"]: a for a in self.list_live(step, project_id)}, ALERT_LIST_TTL
        )

    def list_live(self, step: Step, project_id: str | None) -> list[dict[str, Any]]:
        try:
            return list(step.client.list_all(self._collection(project_id)))
        except OpenAIError as exc:
            if exc.gone and project_id:
                step.require_project(project_id)
            raise

    def create(self, step: Step, inputs: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        project_id = inputs.get("project_id")
        scope = self._scope(project_id)
        with step.claims.scope_lock(_identity(scope, inputs)), self._written(step, scope) as done:
            adopting = inputs.get("adopt_alert_id")
            alert = self._adopt(step, project_id, inputs) if adopting else self._find_or_post(step, project_id, inputs)
            done(lambda alerts: {**alerts, alert["id"]: alert})
            step.claims.claim(scope, alert["id"])
        where = f"project {project_id}" if project_id else "the organization"
        return self._id(project_id, alert["id"]), self._outputs(alert, f"spend alert in {where}")

    def _find_or_post(self, step: Step, project_id: str | None, inputs: dict[str, Any]) -> dict[str, Any]:
        """A live alert equal to the declared one that no resource of the step holds, else a new one. An
        unanswered create is looked for in the live list before it is sent again: never two alerts."""
        seen = self._listed(step, project_id)
        claimed = step.claims.claimed(self._scope(project_id))
        match = next((a for a in seen.values() if a["id"] not in claimed and _same(a, inputs)), None)
        if match is not None:
            return match
        known = set(seen) | claimed

        def made_by(lost: OutcomeUnknown) -> dict[str, Any] | None:
            try:
                after = self.list_live(step, project_id)
            except (OpenAIError, RequestFailed) as exc:
                raise ProviderError(
                    f"{lost}; the alert may or may not have been created, and listing the scope's alerts to find "
                    f"out failed too ({exc}). Running `pulumi up` again is safe: it lists the alerts first and "
                    "adopts an identical one instead of creating a second"
                ) from None
            new = next((a for a in after if a["id"] not in known and _same(a, inputs)), None)
            known.update(a["id"] for a in after)
            return new

        return step.client.create(self._collection(project_id), _body(inputs), reconcile=made_by)

    @staticmethod
    @contextmanager
    def _written(step: Step, scope: str) -> Iterator[Callable[[AlertsChange], None]]:
        """Around a write to ``scope``: the change it reports is applied to the kept list (this process then
        reads its own write without a new fetch); a write that failed, or reported nothing, drops the list."""
        changes: list[AlertsChange] = []
        try:
            yield lambda change: changes.append(change)
        except BaseException:
            step.figures.forget(scope)
            raise
        if changes:
            step.figures.amend(scope, changes[-1])
        else:
            step.figures.forget(scope)

    def _adopt(self, step: Step, project_id: str | None, inputs: dict[str, Any]) -> dict[str, Any]:
        alert_id = inputs["adopt_alert_id"]
        try:
            alert = step.client.get(f"{self._collection(project_id)}/{alert_id}")
        except OpenAIError as exc:
            self._gone_or_error(step, project_id, exc)
            raise ProviderError(
                f"adopt_alert_id: no spend alert {alert_id} exists in "
                f"{f'project {project_id}' if project_id else 'the organization'}"
            ) from None
        if not _same(alert, inputs):
            alert = step.client.post(f"{self._collection(project_id)}/{alert_id}", _body(inputs), idempotent=True)
        return alert

    def read(self, step: Step, id_: str, olds: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """From the scope's shared list; an id missing there is confirmed gone with a GET of its own (the
        list may predate it by up to :data:`ALERT_LIST_TTL` seconds)."""
        project_id, alert_id = self._split(id_)
        alert = self._listed(step, project_id).get(alert_id)
        if alert is None:
            try:
                alert = step.client.get(f"{self._collection(project_id)}/{alert_id}")
            except OpenAIError as exc:
                self._gone_or_error(step, project_id, exc)
                return None
        values = live_values(alert)
        if project_id:
            values["project_id"] = project_id
        return values, self._outputs(alert, f"spend alert {alert_id}")

    def update(self, step: Step, id_: str, olds: dict[str, Any], news: dict[str, Any]) -> dict[str, Any]:
        project_id, alert_id = self._split(id_)
        with self._written(step, self._scope(project_id)) as done:
            try:
                alert = step.client.post(f"{self._collection(project_id)}/{alert_id}", _body(news), idempotent=True)
            except OpenAIError as exc:
                self._gone_or_error(step, project_id, exc)
                raise ProviderError(
                    f"spend alert {alert_id} no longer exists (deleted outside Pulumi?): run `pulumi refresh`, "
                    "then `pulumi up` creates it again"
                ) from None
            done(lambda alerts: {**alerts, alert_id: alert})
        return self._outputs(alert, f"spend alert {alert_id}")

    def delete(self, step: Step, id_: str, olds: dict[str, Any]) -> None:
        project_id, alert_id = self._split(id_)
        with self._written(step, self._scope(project_id)) as done:
            try:
                step.client.delete(f"{self._collection(project_id)}/{alert_id}")
            except OpenAIError as exc:
                self._gone_or_error(step, project_id, exc)
            done(lambda alerts: {k: v for k, v in alerts.items() if k != alert_id})


class OrganizationSpendAlertKind(_SpendAlertKind):
    name = "OrganizationSpendAlert"
    inputs = OrganizationSpendAlertInputs


class ProjectSpendAlertKind(_SpendAlertKind):
    name = "ProjectSpendAlert"
    inputs = ProjectSpendAlertInputs


ALERT_OF_SCOPE: dict[bool, _SpendAlertKind] = {False: OrganizationSpendAlertKind(), True: ProjectSpendAlertKind()}
"""The alert kind of a scope, by whether it is a project's."""


class _SpendAlertResource(BillingResource):
    """The outputs both alert resources share."""

    threshold_usd: pulumi.Output[str]
    threshold_cents: pulumi.Output[int]
    recipients: pulumi.Output[list[str]]
    subject_prefix: pulumi.Output[str | None]
    alert_id: pulumi.Output[str]
    adopt_alert_id: pulumi.Output[str | None]
    allow_above_limit: pulumi.Output[bool]
    currency: pulumi.Output[str]
    interval: pulumi.Output[str]


class OrganizationSpendAlert(_SpendAlertResource):
    """An e-mail alert when the organization's month-to-date spend reaches ``threshold_usd``.

    Declaring an alert identical to a live one adopts it instead of creating a second one.
    """

    _kind: ClassVar = OrganizationSpendAlertKind

    def __init__(
        self,
        resource_name: str,
        *,
        threshold_usd: pulumi.Input[int | float | str | Decimal],
        recipients: pulumi.Input[list[pulumi.Input[str]]],
        subject_prefix: pulumi.Input[str] | None = None,
        adopt_alert_id: pulumi.Input[str] | None = None,
        allow_above_limit: pulumi.Input[bool] = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)


class ProjectSpendAlert(_SpendAlertResource):
    """An e-mail alert when one project's month-to-date spend reaches ``threshold_usd``."""

    _kind: ClassVar = ProjectSpendAlertKind

    project_id: pulumi.Output[str]

    def __init__(
        self,
        resource_name: str,
        *,
        project_id: pulumi.Input[str],
        threshold_usd: pulumi.Input[int | float | str | Decimal],
        recipients: pulumi.Input[list[pulumi.Input[str]]],
        subject_prefix: pulumi.Input[str] | None = None,
        adopt_alert_id: pulumi.Input[str] | None = None,
        allow_above_limit: pulumi.Input[bool] = False,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        super().__init__(resource_name, locals(), opts)
