"""docker-compose.yml, the Dockerfile and .env.example: valid, pinned, complete, no secrets.

No Docker engine runs here: the compose file is validated against the compose-spec JSON
schema (vendored, with its license, by check-jsonschema) plus our own checks, and by
`docker compose config` where the compose plugin exists.
"""

from __future__ import annotations

import json
import re
import shlex
import shutil
import subprocess
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema
import pytest
import yaml

from flows.settings import Settings, load_settings

REPO = Path(__file__).resolve().parents[2]
COMPOSE = REPO / "docker-compose.yml"
ENV_EXAMPLE = REPO / ".env.example"
_VARIABLE = re.compile(r"(?<!\$)\$\{([A-Z0-9_]+)(?:(:?[-?])([^}]*))?\}")
_SECRET = re.compile(r"PASSWORD|SECRET|TOKEN|SALT")
ONE_SHOT = {"setup", "kafka-init", "producer"}


def env_example() -> dict[str, str]:
    pairs = (
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text(encoding="utf-8").splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    )
    return {key.strip(): value.strip() for key, value in pairs}


def interpolate(text: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error} with ``env``; $$ is a literal $."""

    def value(match: re.Match[str]) -> str:
        name, op, arg = match[1], match[2], match[3]
        if env.get(name):
            return env[name]
        if op and op.endswith("-"):
            return arg
        assert not (op and op.endswith("?")), f"${{{name}}} is required and not in .env.example"
        return ""

    return _VARIABLE.sub(value, text).replace("$$", "$")


def raw_compose() -> dict[str, Any]:
    return yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))


def compose() -> dict[str, Any]:
    """The compose file as `docker compose` sees it with .env.example as .env."""
    return yaml.safe_load(interpolate(COMPOSE.read_text(encoding="utf-8"), env_example()))


def version(tag: str) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", tag))


def test_the_compose_file_matches_the_compose_specification() -> None:
    schema_file = resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
    schema = json.loads(schema_file.read_text(encoding="utf-8"))
    validator = jsonschema.validators.validator_for(schema)(schema)
    for document in (raw_compose(), compose()):
        errors = sorted(validator.iter_errors(document), key=lambda e: list(e.path))
        assert not errors, [f"{list(e.path)}: {e.message}" for e in errors]
    # the schema does catch mistakes
    broken = compose()
    broken["services"]["flow-0"]["depends_on"]["setup"]["condition"] = "service_done"
    assert list(validator.iter_errors(broken))


def test_docker_compose_config_accepts_it(tmp_path: Path) -> None:
    docker = shutil.which("docker")
    if (
        docker is None
        or subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False
        ).returncode
    ):
        pytest.skip("no `docker compose` plugin on this machine (the schema test covers it)")
    done = subprocess.run(
        [docker, "compose", "--env-file", str(ENV_EXAMPLE), "-f", str(COMPOSE), "config", "-q"],
        capture_output=True, cwd=tmp_path, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr.decode()


def test_every_variable_is_in_env_example_and_no_secret_is_committed() -> None:
    text = COMPOSE.read_text(encoding="utf-8")
    used = {m[1] for m in _VARIABLE.finditer(text)}
    example = env_example()
    assert used == set(example), (used - set(example), set(example) - used)
    for name, value in example.items():
        if _SECRET.search(name):
            assert value in ("", "change-me"), f"{name} in .env.example holds a real value"
    for name, service in raw_compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if _SECRET.search(key):
                assert re.fullmatch(r"\$\{[A-Z0-9_]+(:[-?][^}]*)?\}", str(value)), (name, key)
            if key.endswith("_DSN"):
                assert urlsplit(interpolate(str(value), example)).password is None, (name, key)
    assert ".env" in (REPO / ".gitignore").read_text(encoding="utf-8").splitlines()

    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=REPO).returncode == 0

    assert ignored(".env") and not ignored(".env.example")


def test_images_are_pinned_to_exact_versions() -> None:
    services = compose()["services"]
    images = {name: s["image"] for name, s in services.items()}
    for name, image in images.items():
        assert re.fullmatch(r"[\w./-]+:\d+(\.\d+){2,3}", image), f"{name}: {image} is not pinned"
    assert images["clickhouse"].startswith("clickhouse/clickhouse-server:26.8.")  # 26.8 LTS
    assert version(images["grafana"].split(":")[1]) >= (11, 6)
    plugin = services["grafana"]["environment"]["GF_PLUGINS_PREINSTALL_SYNC"]
    assert plugin.startswith("grafana-clickhouse-datasource@")
    assert version(plugin.split("@")[1]) >= (4, 20, 0)
    assert "GF_INSTALL_PLUGINS" not in services["grafana"]["environment"]  # deprecated
    ours = {name for name, s in services.items() if "build" in s}
    assert ours == {"setup", "flow-0", "flow-1", "producer"}
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    package_version = re.search(r'^version = "([^"]+)"', pyproject, re.MULTILINE)
    assert package_version is not None
    assert {images[n] for n in ours} == {f"voc-stream:{package_version[1]}"}


def test_the_dockerfile_is_pinned_installs_kafka_and_drops_root() -> None:
    dockerfile = (REPO / "Dockerfile").read_text(encoding="utf-8")
    bases = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert bases and all(re.fullmatch(r"python:3\.1[12]\.\d+-slim-\w+", b) for b in bases), bases
    assert "pip install '.[kafka]'" in dockerfile
    users = re.findall(r"^USER (\S+)", dockerfile, re.MULTILINE)
    assert users and users[-1] not in ("root", "0")
    for source in re.findall(r"^COPY (?!--from)(.+) \S+$", dockerfile, re.MULTILINE):
        for path in source.split():
            assert (REPO / path).exists(), f"Dockerfile copies missing {path}"
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").splitlines()
    assert ".env" in ignored and ".git" in ignored


def mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    out = []
    for volume in service.get("volumes", []):
        source, target, *_ = str(volume).split(":")
        out.append((source, target))
    return out


def test_mounted_paths_exist_and_named_volumes_are_declared() -> None:
    data = compose()
    declared = set(data["volumes"])
    named = set()
    for name, service in data["services"].items():
        assert "env_file" not in service, f"{name}: env_file would need a committed file"
        for source, target in mounts(service):
            if source.startswith((".", "/")):
                assert (REPO / source).exists(), f"{name} mounts missing {source}"
            else:
                named.add(source)
                assert source in declared, f"{name}: volume {source} is not declared"
            assert target.startswith("/")
    assert named == declared
    initdb = REPO / "deploy/clickhouse/initdb"
    assert sorted(p.name for p in initdb.iterdir()) == ["10-users.sh", "20-grants.sql"]
    assert (initdb / "10-users.sh").stat().st_mode & 0o111, "10-users.sh must be executable"


def test_grafana_gets_its_provisioning_and_every_variable_it_reads() -> None:
    grafana = dict(mounts(compose()["services"]["grafana"]))
    assert grafana["./grafana/provisioning"] == "/etc/grafana/provisioning"
    assert grafana["./grafana/dashboards"] == "/var/lib/grafana/dashboards/voc-stream"
    for path in (REPO / "grafana/provisioning/dashboards").glob("*.yaml"):
        for provider in yaml.safe_load(path.read_text(encoding="utf-8"))["providers"]:
            assert provider["options"]["path"] == grafana["./grafana/dashboards"], path
    provisioning = REPO / "grafana/provisioning"
    datasource = (provisioning / "datasources").glob("*.yaml")
    needed = set()
    for path in (*datasource, *(provisioning / "alerting").glob("*.yaml")):
        needed |= set(re.findall(r"\$(VOC_[A-Z0-9_]+)", path.read_text(encoding="utf-8")))
    assert needed <= set(compose()["services"]["grafana"]["environment"]), needed


def test_health_checks_and_start_order() -> None:
    services = compose()["services"]
    for name, service in services.items():
        one_shot = service.get("restart") == "no"
        assert one_shot == (name in ONE_SHOT), name
        if not one_shot:
            assert "healthcheck" in service, f"{name} has no health check"
            assert service["restart"] == "unless-stopped"
        for dependency, rule in (service.get("depends_on") or {}).items():
            condition = rule["condition"]
            if dependency in ONE_SHOT:
                assert condition == "service_completed_successfully", (name, dependency)
            else:
                assert condition == "service_healthy", (name, dependency)
                assert "healthcheck" in services[dependency]
    assert services["setup"]["command"][0].startswith("voc migrate && ")
    for name in ("flow-0", "flow-1"):
        assert set(services[name]["depends_on"]) == {"setup", "kafka-init"}
    assert services["setup"]["depends_on"] == {"clickhouse": {"condition": "service_healthy"}}


def test_the_flow_is_a_cluster_with_one_id_per_process_and_one_address_list() -> None:
    services = compose()["services"]
    flows = sorted(name for name in services if name.startswith("flow-"))
    ids, lists = [], set()
    for name in flows:
        command = services[name]["command"]
        assert command[:2] == ["run", "--quiet"]
        ids.append(int(command[command.index("-i") + 1]))
        lists.add(command[command.index("-a") + 1])
    assert ids == list(range(len(flows)))
    assert lists == {";".join(f"{name}:2101" for name in flows)}
    recovery = {target for name in flows for _s, target in mounts(services[name])}
    assert recovery == {services[flows[0]]["environment"]["VOC_RECOVERY_DIR"]}


def test_voc_services_use_real_settings_and_the_default_topics(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    services = compose()["services"]
    defaults = Settings.model_fields
    for name in ("setup", "flow-0", "producer"):
        env = services[name]["environment"]
        for key, value in env.items():
            if key.startswith("VOC_"):
                assert key[4:].lower() in defaults, f"{name}: {key} is no setting"
                monkeypatch.setenv(key, str(value))
        settings = load_settings()
        assert settings.source == ("kafka" if name == "flow-0" else settings.source)
        for key in env:
            monkeypatch.delenv(key)
    flow = load_settings(**{k[4:].lower(): v for k, v in services["flow-0"]["environment"].items()})
    assert flow.kafka_brokers == "kafka:9092" and not flow.is_embedded
    assert flow.source_topics == Settings().source_topics  # .env.example keeps the defaults
    assert flow.kafka_topic_dead_letters == Settings().kafka_topic_dead_letters
    script = services["kafka-init"]["command"][0]
    for topic in (*flow.source_topics.values(), flow.kafka_topic_dead_letters):
        assert f'"{topic}"' in script
    assert "--if-not-exists" in script and shlex.split(script)
