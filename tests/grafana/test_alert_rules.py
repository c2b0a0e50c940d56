"""The provisioned alert rules, evaluated like Grafana does, on the seeded database."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
import yaml

from grafana import alerting
from grafana.build import RULES
from schemas.rows import AlertRow
from tests.grafana.conftest import Seeded, alert_row, write_rows
from tests.grafana.grafana_sim import evaluate_rule


@pytest.fixture(scope="module")
def rules() -> dict[str, dict[str, Any]]:
    data = yaml.safe_load(RULES.read_text(encoding="utf-8"))
    return {rule["uid"]: rule for group in data["groups"] for rule in group["rules"]}


def test_an_open_alert_of_warning_or_above_fires_with_its_samples(
    seeded: Seeded, rules: dict[str, dict[str, Any]]
) -> None:
    result = evaluate_rule(seeded.client, rules["voc-open-incident"], seeded.wall_after)
    firing = {labels["incident"]: labels for labels in result.firing_labels()}
    # resolved, info-level and stale incidents do not fire
    assert sorted(firing) == ["a-delivery-shopee", "a-phrase"]
    spike = firing["a-delivery-shopee"]
    assert (spike["severity"], spike["kind"], spike["key"]) == (
        "critical",
        "negative_share",
        "delivery / shopee",
    )
    row = seeded.alerts["a-delivery-shopee"][-1]
    assert spike["samples"].split("\n") == [
        "- " + " ".join(text.split())[:160] for text in row.sample_texts[:3]
    ]  # the first three as stored: the detector pins them until the severity changes
    assert (spike["scale"], spike["headline"]) == ("1m", row.headline)
    key = tuple(sorted(spike.items()))
    assert result.value("B", key) == 0.64  # observed, latest revision
    assert result.value("C", key) == 0.27  # expected


def test_a_revision_with_new_figures_keeps_the_instance_a_new_severity_does_not(
    seeded: Seeded, rules: dict[str, dict[str, Any]]
) -> None:
    # An incident ten days back, outside every other test's time range.
    opened = seeded.start - timedelta(days=10)
    rule = rules["voc-open-incident"]
    fields: dict[str, Any] = {
        "id": "a-revisions",
        "kind": "volume_spike",
        "key_type": "topic_brand",
        "topic": "payment",
        "brand": "MamMam",
        "opened_at": opened,
        "top_terms": ("momo", "lỗi"),
        "scale": "5m",
    }
    seen: list[tuple[dict[str, str], float]] = []
    pinned = ("ba", "một", "hai  có\n khoảng trắng")
    opening = "Phàn nàn thanh toán của MamMam tăng 5 lần trong 5 phút: momo, lỗi"
    revisions = [
        {"revision": 1, "observed": 10.0, "expected": 2.0, "summary": opening,
         "headline": opening, "sample_texts": (*pinned, "bốn")},
        {"revision": 2, "observed": 14.0, "expected": 2.0, "headline": opening,
         "summary": "Phàn nàn thanh toán của MamMam tăng 7 lần trong 7 phút: momo, lỗi",
         "sample_texts": (*pinned, "năm", "sáu")},
        {"revision": 3, "observed": 30.0, "expected": 2.0, "severity": "critical",
         "summary": "Phàn nàn thanh toán của MamMam tăng 15 lần trong 9 phút: momo",
         "headline": "Phàn nàn thanh toán của MamMam tăng 15 lần trong 9 phút: momo",
         "sample_texts": (*pinned, "bảy")},
    ]  # fmt: skip
    for change in revisions:
        change["sample_ids"] = tuple(f"m{i}" for i in range(len(change["sample_texts"])))
    for step, change in enumerate(revisions):
        updated = opened + timedelta(minutes=5 * step)
        row = alert_row(**fields, updated_at=updated, **change)
        write_rows(seeded.settings, "alerts", AlertRow.COLUMNS, [row])
        result = evaluate_rule(seeded.client, rule, updated + timedelta(minutes=1))
        (labels,) = result.firing_labels()
        seen.append((labels, result.value("B", tuple(sorted(labels.items())))))
    (first, observed_1), (second, observed_2), (third, observed_3) = seen
    assert first["samples"] == "- ba\n- một\n- hai có khoảng trắng"  # the pinned ones, tidied
    assert (first["key"], first["headline"], first["scale"]) == ("payment / MamMam", opening, "5m")
    assert second == first and (observed_1, observed_2) == (10.0, 14.0)
    assert (
        third
        == {
            **first,
            "severity": "critical",
            "headline": revisions[2]["headline"],
        }
        and observed_3 == 30.0
    )
    write_rows(
        seeded.settings,
        "alerts",
        AlertRow.COLUMNS,
        [
            alert_row(
                **fields, revision=4, status="resolved", updated_at=opened + timedelta(hours=1)
            )
        ],
    )
    resolved = evaluate_rule(seeded.client, rule, opened + timedelta(hours=1, minutes=1))
    assert resolved.firing == set()


def test_an_open_customer_case_fires_once_with_its_headline_and_first_message(
    seeded: Seeded, rules: dict[str, dict[str, Any]]
) -> None:
    result = evaluate_rule(seeded.client, rules["voc-open-case"], seeded.wall_after)
    firing = result.firing_labels()
    assert [labels["incident"] for labels in firing] == ["a-case-open"]  # not the resolved one
    (case,) = firing
    row = seeded.alerts["a-case-open"][-1]
    assert (case["kind"], case["severity"], case["channel"], case["conversation"]) == (
        "case",
        "critical",
        "zalo",
        "conv-seeded-1",
    )
    assert case["headline"] == row.headline
    assert case["samples"] == "- " + " ".join(row.sample_texts[0].split())[:160]
    assert result.value("B", tuple(sorted(case.items()))) == 2.0
    incidents = evaluate_rule(seeded.client, rules["voc-open-incident"], seeded.wall_after)
    assert all(labels["kind"] != "case" for labels in incidents.firing_labels())


def test_negative_share_fires_for_the_seeded_incident_only(
    seeded: Seeded, rules: dict[str, dict[str, Any]]
) -> None:
    rule = rules["voc-negative-share"]
    during = evaluate_rule(seeded.client, rule, seeded.incident.start + timedelta(minutes=15))
    assert {"channel": "shopee", "topic": "delivery"} in during.firing_labels()
    # The incident's complaints also name other topics ("shipper thái độ khó chịu" is customer
    # service too), so another topic may fire on the incident's channel; never elsewhere.
    assert all(labels["channel"] == "shopee" for labels in during.firing_labels())
    key = (("channel", "shopee"), ("topic", "delivery"))
    assert during.value("B", key) > during.value("C", key) + alerting.NEGATIVE_SHARE_MIN_EXCESS
    assert during.value("A", key) > alerting.NEGATIVE_SHARE_Z
    quiet_keys = [k for k in during.numbers["A"] if dict(k)["channel"] != "shopee"]
    assert len(quiet_keys) > 20, "the rule watches every topic on every channel"
    assert all(during.numbers["A"][k] <= alerting.NEGATIVE_SHARE_Z for k in quiet_keys)

    before = evaluate_rule(seeded.client, rule, seeded.incident.start - timedelta(minutes=5))
    assert before.firing_labels() == []
    assert len(before.numbers["A"]) > 20


def test_pipeline_stalled_fires_after_minutes_without_rows(
    seeded: Seeded, rules: dict[str, dict[str, Any]]
) -> None:
    rule = rules["voc-pipeline-stalled"]
    # the hand-written batch was the last write for the half hour after its frozen clock
    silent = evaluate_rule(seeded.client, rule, seeded.burst_clock + timedelta(minutes=30))
    assert silent.firing == {()}
    assert silent.numbers["A"][()] == pytest.approx(30, abs=0.1)
    busy = evaluate_rule(seeded.client, rule, seeded.wall_after + timedelta(seconds=30))
    assert busy.firing == set()
    assert busy.numbers["A"][()] < 2
    empty = evaluate_rule(seeded.client, rule, seeded.start - timedelta(days=30))
    assert empty.numbers["A"][()] == alerting.STALLED_WINDOW_MINUTES


def test_dead_letter_rate_fires_for_a_burst_of_broken_payloads(
    seeded: Seeded, rules: dict[str, dict[str, Any]]
) -> None:
    rule = rules["voc-dead-letter-rate"]
    burst = evaluate_rule(seeded.client, rule, seeded.burst_clock + timedelta(minutes=1))
    assert burst.firing_labels() == [{"step": "parse"}]
    assert burst.numbers["B"][(("step", "parse"),)] == 30
    assert burst.numbers["A"][(("step", "parse"),)] == pytest.approx(30 / 44)
    steady = evaluate_rule(seeded.client, rule, seeded.wall_after + timedelta(seconds=30))
    assert steady.firing == set()
    assert 0 < steady.numbers["A"][(("step", "parse"),)] < alerting.DEAD_LETTER_SHARE
