"""The provisioning files parse, agree with each other and with what Grafana reads."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from grafana import alerting
from grafana.build import DASHBOARDS, ROOT, main, stale_files
from grafana.query import DATASOURCE_UID, PLUGIN_ID

PROVISIONING = ROOT / "provisioning"
ENV_REFERENCE = re.compile(r"\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?")


def load(relative: str) -> dict[str, Any]:
    data = yaml.safe_load((PROVISIONING / relative).read_text(encoding="utf-8"))
    assert data["apiVersion"] == 1, relative
    return data


def rules() -> list[dict[str, Any]]:
    return [rule for group in load("alerting/rules.yaml")["groups"] for rule in group["rules"]]


def test_every_provisioning_file_parses_with_api_version_1() -> None:
    files = sorted(PROVISIONING.rglob("*.yaml"))
    assert [f.relative_to(PROVISIONING).as_posix() for f in files] == [
        "alerting/contact-points.yaml",
        "alerting/policies.yaml",
        "alerting/rules.yaml",
        "alerting/templates.yaml",
        "dashboards/voc-stream.yaml",
        "datasources/clickhouse.yaml",
    ]
    for path in files:
        load(path.relative_to(PROVISIONING).as_posix())


def test_the_generated_files_are_fresh() -> None:
    assert stale_files() == [], "run `make grafana` and commit the result"
    assert main(["--check"]) == 0


def test_datasource_has_the_keys_the_plugin_reads() -> None:
    (source,) = load("datasources/clickhouse.yaml")["datasources"]
    assert (source["type"], source["uid"]) == (PLUGIN_ID, DATASOURCE_UID)
    data = source["jsonData"]
    assert {"host", "port", "protocol", "username", "defaultDatabase"} <= set(data)
    assert "database" not in data, "the plugin reads defaultDatabase, not database"
    assert data["defaultDatabase"] == "voc"
    # pkg/plugin/settings.go type-asserts these: strings only (numbers would panic)
    for key in ("host", "protocol", "username", "defaultDatabase", "dialTimeout"):
        assert isinstance(data[key], str), key
    assert isinstance(data["queryTimeout"], str | int)
    assert source["secureJsonData"] == {"password": "$VOC_GRAFANA_CLICKHOUSE_PASSWORD"}


def test_boards_and_rules_use_only_the_provisioned_datasource() -> None:
    (source,) = load("datasources/clickhouse.yaml")["datasources"]
    uids: set[str] = set()
    for path in DASHBOARDS.glob("*.json"):
        text = path.read_text(encoding="utf-8")
        uids |= {m for m in re.findall(r'"uid": "([^"]+)"', text)}
        data = json.loads(text)
        uids.discard(data["uid"])
    for rule in rules():
        for entry in rule["data"]:
            uids.add(entry["datasourceUid"])
            uids.add(entry["model"]["datasource"]["uid"])
    assert uids == {source["uid"], "__expr__"}


def test_boards_and_rules_share_the_provisioned_folder() -> None:
    (provider,) = load("dashboards/voc-stream.yaml")["providers"]
    assert provider["folder"] == alerting.FOLDER
    assert provider["options"]["path"].startswith("/")
    assert {g["folder"] for g in load("alerting/rules.yaml")["groups"]} == {alerting.FOLDER}


def test_rules_link_to_existing_panels() -> None:
    panels = {}
    for path in DASHBOARDS.glob("*.json"):
        data = json.loads(path.read_text(encoding="utf-8"))
        panels |= {(data["uid"], p["id"]): p["title"] for p in data["panels"]}
    for rule in rules():
        assert (rule["dashboardUid"], rule["panelId"]) in panels, rule["uid"]


def test_rules_are_well_formed_for_grafana() -> None:
    all_rules = rules()
    assert len({r["uid"] for r in all_rules}) == len(all_rules) == 5
    for rule in all_rules:
        refs = [entry["refId"] for entry in rule["data"]]
        assert rule["condition"] in refs
        assert rule["for"] and rule["execErrState"] == "Error"
        assert rule["noDataState"] in ("OK", "NoData", "Alerting")
        for entry in rule["data"]:
            model = entry["model"]
            assert model["refId"] == entry["refId"]
            if entry["datasourceUid"] == "__expr__":
                assert model["expression"] in refs
                continue
            assert model["format"] == 1, "alert queries are tables: one instance per row"
            assert model["editorType"] == "sql"
            assert entry["relativeTimeRange"]["from"] > 0
            assert "$__conditionalAll" not in model["rawSql"], "no variables in alert rules"
            assert not re.search(r"\$\{|\$(?!__)\w", model["rawSql"]), "no variables either"


def test_labels_have_no_dollar_that_provisioning_would_interpolate() -> None:
    # Grafana interpolates environment variables in rule labels but not in annotations.
    for rule in rules():
        assert "$" not in json.dumps(rule["labels"]), rule["uid"]
        assert "$" not in json.dumps(rule["annotations"]), "annotations use .Labels/.Values"
    assert "$" not in (PROVISIONING / "alerting/templates.yaml").read_text(encoding="utf-8")
    policies = (PROVISIONING / "alerting/policies.yaml").read_text(encoding="utf-8")
    assert "$" not in policies


def test_environment_variables_are_documented() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    used: set[str] = set()
    for name in ("datasources/clickhouse.yaml", "alerting/contact-points.yaml"):
        text = "\n".join(
            line
            for line in (PROVISIONING / name).read_text(encoding="utf-8").splitlines()
            if not line.lstrip().startswith("#")
        )
        used |= set(ENV_REFERENCE.findall(text))
    assert used == {
        "VOC_GRAFANA_CLICKHOUSE_HOST",
        "VOC_GRAFANA_CLICKHOUSE_PORT",
        "VOC_GRAFANA_CLICKHOUSE_PROTOCOL",
        "VOC_GRAFANA_CLICKHOUSE_USER",
        "VOC_GRAFANA_CLICKHOUSE_PASSWORD",
        "VOC_ALERT_WEBHOOK_URL",
        "VOC_ALERT_WEBHOOK_TOKEN",
        "VOC_CASE_WEBHOOK_URL",
        "VOC_CASE_WEBHOOK_TOKEN",
    }
    for name in used:
        assert f"`{name}`" in readme, name


def test_contact_point_policy_and_template_fit_together() -> None:
    oncall, cases = load("alerting/contact-points.yaml")["contactPoints"]
    urls = {}
    for point in (oncall, cases):
        (receiver,) = point["receivers"]
        assert receiver["type"] == "webhook"
        urls[point["name"]] = receiver["settings"]["url"]
    assert urls == {"voc-oncall": "$VOC_ALERT_WEBHOOK_URL", "voc-cases": "$VOC_CASE_WEBHOOK_URL"}
    (policy,) = load("alerting/policies.yaml")["policies"]
    assert policy["receiver"] == "voc-oncall"
    receivers = {policy["receiver"]} | {r["receiver"] for r in policy.get("routes", [])}
    assert receivers == set(urls)
    severities = {r["labels"].get("severity") for r in rules()} - {None}
    assert severities <= {"warning", "critical"}
    first, *others = policy["routes"]
    # a case (its rule's rows carry kind = case) goes to customer service, before any other
    # route can take it
    assert (first["receiver"], first["object_matchers"]) == ("voc-cases", [["kind", "=", "case"]])
    for route in others:
        for key, op, value in route["object_matchers"]:
            assert (key, op) == ("severity", "=") and value in ("warning", "critical")

    (template,) = load("alerting/templates.yaml")["templates"]
    text = template["template"]
    defined = set(re.findall(r'\{\{-? define "([^"]+)" -?\}\}', text))
    used = set(re.findall(r'template "([^"]+)"', json.dumps(receiver["settings"]) + text))
    assert ".Annotations.scale" in text
    assert used <= defined == {"voc.title", "voc.alert", "voc.message"}
    assert_balanced(text)
    for field in ("summary", "key", "observed", "expected", "samples"):
        assert f".Annotations.{field}" in text, field
        for rule in rules():
            assert rule["annotations"][field].strip(), (rule["uid"], field)
    assert ".Labels.severity" in text


def assert_balanced(template: str) -> None:
    """Go template blocks open and close in order."""
    depth = 0
    for action in re.findall(r"\{\{-?\s*(.*?)\s*-?\}\}", template, re.DOTALL):
        word = action.split()[0] if action.split() else ""
        if word in ("define", "if", "range", "with", "block"):
            depth += 1
        elif word == "end":
            depth -= 1
            assert depth >= 0, "an {{ end }} without a block"
    assert depth == 0, "a block without its {{ end }}"


@pytest.mark.parametrize("path", sorted(DASHBOARDS.glob("*.json")), ids=lambda p: Path(p).name)
def test_board_json_is_complete(path: Path) -> None:
    data = json.loads(path.read_text(encoding="utf-8"))
    ids = [p["id"] for p in data["panels"]]
    assert len(ids) == len(set(ids)), "panel ids are unique"
    for panel in data["panels"]:
        grid = panel["gridPos"]
        assert grid["x"] >= 0 and grid["x"] + grid["w"] <= 24, panel["title"]
        if panel["type"] != "row":
            assert panel["targets"], panel["title"]
    assert "voc-stream" in data["tags"]
