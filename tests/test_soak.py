"""The soak benchmark's short version (3 rounds at 20% faults), and the checks it counts with."""

from __future__ import annotations

import sys

from conftest import BENCHMARKS, Api, run_benchmark

sys.path.insert(0, str(BENCHMARKS))
import soak


def test_three_rounds_at_20_percent_faults_converge_without_duplicates_or_double_charges() -> None:
    done = run_benchmark("soak.py", "--rounds", "3", "--fault-rate", "0.2")
    figures = dict(line.split(": ", 1) for line in done.stdout.splitlines())
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert figures["rounds"] == "3" and figures["converged"] == "true"
    assert figures["duplicates"] == "0" and figures["double charges"] == "0"
    assert int(figures["faults injected"]) > 0 and int(figures["retries"]) > 0
    assert int(figures["requests"]) > 3 * 200


def test_the_soak_counts_duplicates_in_a_live_account(api: Api) -> None:
    body = {
        "threshold_amount": 100,
        "currency": "USD",
        "interval": "month",
        "notification_channel": {"type": "email", "recipients": ["b@example.com", "a@example.com"]},
    }
    api.post(Api.alerts_path(), body)
    assert soak.duplicates(api.state()) == 0
    twin = {**body, "notification_channel": {"type": "email", "recipients": ["a@example.com", "b@example.com"]}}
    api.post(Api.alerts_path(), twin)
    api.post(Api.alerts_path(), {**body, "threshold_amount": 200})
    project = api.project("p")
    api.post(Api.alerts_path(project), body)
    assert soak.duplicates(api.state()) == 1, "same threshold and recipients in one scope; other scopes differ"


def test_the_soak_counts_a_second_charge_for_one_key() -> None:
    state = {
        "credit_purchases": [{"id": "cp_1", "purchase_key": "k"}, {"id": "cp_2", "purchase_key": "other"}],
        "charges": [
            {"purchase_id": "cp_1", "status": "succeeded"},
            {"purchase_id": "cp_1", "status": "failed"},
            {"purchase_id": "cp_2", "status": "succeeded"},
            {"purchase_id": None, "status": "succeeded"},
        ],
    }
    assert soak.double_charges(state) == 0, "a failed attempt and an auto-reload charge are not double charges"
    state["charges"].append({"purchase_id": "cp_1", "status": "succeeded"})
    assert soak.double_charges(state) == 1


def test_bad_options_are_refused() -> None:
    done = run_benchmark("soak.py", "--fault-rate", "2", timeout=60)
    assert done.returncode == 2 and "--fault-rate must be" in done.stderr


def test_the_soak_sees_an_account_that_differs_from_the_declared_one(api: Api) -> None:
    project = api.project("team-0")
    spec = soak._spec([project], "key")
    found = soak.differences(api.state(), spec)
    assert found[:2] == ["organization limit is None", "organization alerts differ"]
    assert f"{project} limit is None" in found and "no purchase key" in found
    api.set_limit(1)
    assert soak.leftovers(api.state(), spec) == ["organization limit"]
