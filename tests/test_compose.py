"""docker-compose.yml and the Dockerfile checked against the real command line and settings.

There is no Docker engine here, so the file is read the way Compose reads it (YAML with
anchors and merge keys, then ``${VAR:-default}`` interpolation) and each Tributary service is
held against the code: its command must parse with ``tributary``'s own parser, its environment
must build the settings model with every variable naming a real setting, its published ports
and health check must be the ones its role listens on, and the URLs that tie the services
together (edges → origin, public URLs → published ports, S3 → MinIO) must agree.
"""

from __future__ import annotations

import json
import os
import re
from collections import Counter
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml
from pydantic import BaseModel

from tributary.cli import ROLES, _parser
from tributary.probe import role_http_port
from tributary.settings import Settings

REPO = Path(__file__).resolve().parents[1]
OPERATOR_ENV = {"TRIBUTARY_SECRET_KEY": "k" * 40, "PUBLIC_HOST": "tv.example"}
"""What an operator puts in .env: the one required variable, and a public host name."""

_VARIABLE = re.compile(r"\$\$|\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def _interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's variable syntax: ``${VAR}``, ``${VAR:-default}``, ``${VAR:?error}``, ``$$``."""
    if isinstance(value, dict):
        return {key: _interpolate(item, env) for key, item in value.items()}
    if isinstance(value, list):
        return [_interpolate(item, env) for item in value]
    if not isinstance(value, str):
        return value

    def substitute(match: re.Match[str]) -> str:
        if match[0] == "$$":
            return "$"
        name, operator, argument = match[1], match[2], match[3]
        if env.get(name):
            return env[name]
        if operator is not None and operator.endswith("?"):
            raise AssertionError(f"${{{name}}} is required: {argument}")
        return argument if operator is not None else ""

    return _VARIABLE.sub(substitute, value)


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    raw = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    return _interpolate(raw, OPERATOR_ENV)


def _tributary_services(compose: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {
        name: service for name, service in compose["services"].items()
        if service.get("image") == "tributary:latest"
    }


def _role(service: dict[str, Any]) -> str:
    args = _parser().parse_args(service["command"])  # exits (fails the test) on a bad command
    assert args.command == "serve", service["command"]
    return args.role


def _settings(service: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The settings the service's container would build: its environment and nothing else."""
    for name in list(os.environ):
        if name.startswith("TRIBUTARY_") or name in ("DATABASE_URL", "REDIS_URL"):
            monkeypatch.delenv(name)
    for name, value in service["environment"].items():
        monkeypatch.setenv(name, str(value))
    return Settings()


def _names_a_setting(variable: str) -> bool:
    """Whether ``TRIBUTARY_A__B__C`` is a field path of the settings model (pydantic-settings
    ignores variables that name nothing, so a typo would silently configure nothing)."""
    if variable in ("DATABASE_URL", "REDIS_URL"):
        return True
    if not variable.startswith("TRIBUTARY_"):
        return False
    model: type[BaseModel] = Settings
    *sections, leaf = variable.removeprefix("TRIBUTARY_").lower().split("__")
    for section in sections:
        field = model.model_fields.get(section)
        if field is None:
            return False
        nested = [t for t in getattr(field.annotation, "__args__", (field.annotation,))
                  if isinstance(t, type) and issubclass(t, BaseModel)]
        if not nested:
            return False
        model = nested[0]
    return leaf in model.model_fields


def _published(service: dict[str, Any]) -> dict[int, int]:
    """Container port → host port."""
    ports = {}
    for entry in service.get("ports", []):
        host, container = str(entry).rsplit(":", 1)
        ports[int(container)] = int(host.rsplit(":", 1)[-1])
    return ports


def _host_port(url: str) -> int:
    parsed = urlsplit(url)
    assert parsed.hostname == OPERATOR_ENV["PUBLIC_HOST"], url
    assert parsed.port is not None, url
    return parsed.port


def test_every_service_command_environment_port_and_health_check_matches_the_code(compose, monkeypatch):
    services = _tributary_services(compose)
    assert services, "no Tributary services in docker-compose.yml"
    for name, service in services.items():
        role = _role(service)
        assert role in ROLES
        unknown = [v for v in service["environment"] if not _names_a_setting(v)]
        assert not unknown, f"{name}: variables that name no setting: {unknown}"
        settings = _settings(service, monkeypatch)
        http_port = role_http_port(settings, role)
        published = _published(service)
        allowed = {http_port} | ({settings.rtmp.port} if role == "origin" else set())
        assert set(published) <= allowed, f"{name} publishes {sorted(published)}, listens on {sorted(allowed)}"
        assert service["healthcheck"]["test"] == ["CMD", "tributary", "probe", role], name
        assert service["restart"] == "unless-stopped", name
        assert settings.secret_key is not None, f"{name} must share the cluster's secret key"
        if role != "edge":  # everything else works on the catalog and Redis
            assert settings.database_url and settings.redis_url, name
            assert settings.storage.s3 is not None, f"{name} must store in the cluster's object store"
            for server in ("postgres", "redis"):
                assert service["depends_on"][server]["condition"] == "service_healthy", name


def test_topology_is_the_one_the_docs_describe(compose):
    roles = Counter()
    for service in _tributary_services(compose).values():
        roles[_role(service)] += service.get("deploy", {}).get("replicas", 1)
    assert roles["origin"] >= 1 and roles["api"] == 1
    assert roles["edge"] == 2 and roles["chat"] == 2 and roles["worker"] == 2
    assert {"postgres", "redis", "minio"} <= set(compose["services"])
    for name, service in compose["services"].items():
        assert "healthcheck" in service or service.get("restart") == "on-failure", name


def test_services_find_each_other(compose, monkeypatch):
    """Edges point at origin services on the port they listen on; the public URLs point at the
    host ports the right services publish; S3 is the MinIO service and its bucket is made."""
    services = _tributary_services(compose)
    by_role: dict[str, list[tuple[str, dict[str, Any], Settings]]] = {}
    for name, service in services.items():
        by_role.setdefault(_role(service), []).append((name, service, _settings(service, monkeypatch)))

    for name, _, settings in by_role["edge"]:
        assert settings.edge.origins, name
        for origin in settings.edge.origins:
            target = urlsplit(origin)
            assert target.hostname in services and _role(services[target.hostname]) == "origin", origin
            origin_settings = _settings(services[target.hostname], monkeypatch)
            assert target.port == role_http_port(origin_settings, "origin"), origin

    _, api, public_settings = by_role["api"][0]
    public = public_settings.public

    def published_by(role: str, port_of: Any) -> set[int]:
        return {
            _published(service)[port_of(settings)]
            for _, service, settings in by_role[role]
        }

    assert public.site_url is not None and _host_port(public.site_url) in published_by(
        "api", lambda s: s.http.port)
    assert public.rtmp_url is not None and _host_port(public.rtmp_url) in published_by(
        "origin", lambda s: s.rtmp.port)
    assert public.ingest_url is not None and _host_port(public.ingest_url) in published_by(
        "origin", lambda s: s.http.port)
    assert {_host_port(url) for url in public.playback_urls} == published_by("edge", lambda s: s.edge.port)
    assert {_host_port(url) for url in public.chat_urls} == published_by("chat", lambda s: s.chat.port)

    s3 = public_settings.storage.s3
    assert s3 is not None and urlsplit(s3.endpoint_url or "").hostname == "minio"
    assert s3.bucket in " ".join(compose["services"]["bucket"]["entrypoint"])
    minio_env = compose["services"]["minio"]["environment"]
    assert s3.access_key_id == minio_env["MINIO_ROOT_USER"]
    assert s3.secret_access_key is not None
    assert s3.secret_access_key.get_secret_value() == minio_env["MINIO_ROOT_PASSWORD"]
    database = urlsplit(public_settings.database_url or "")
    postgres_env = compose["services"]["postgres"]["environment"]
    assert database.hostname == "postgres" and database.password == postgres_env["POSTGRES_PASSWORD"]
    assert database.path == "/" + postgres_env["POSTGRES_DB"]
    assert api["environment"]["TRIBUTARY_SECRET_KEY"] == OPERATOR_ENV["TRIBUTARY_SECRET_KEY"]


def test_the_secret_key_is_required():
    raw = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    with pytest.raises(AssertionError, match="TRIBUTARY_SECRET_KEY"):
        _interpolate(raw, {})


def test_dockerfile_runs_the_tributary_command_on_python_311(monkeypatch):
    dockerfile = (REPO / "Dockerfile").read_text()
    stages = re.findall(r"^FROM (\S+)", dockerfile, re.MULTILINE)
    assert stages[-1].startswith("python:3.11"), stages
    assert json.loads(re.search(r"^ENTRYPOINT (.+)$", dockerfile, re.MULTILINE)[1]) == ["tributary"]
    exposed = {int(p) for p in re.search(r"^EXPOSE (.+)$", dockerfile, re.MULTILINE)[1].split()}
    defaults = _settings({"environment": {}}, monkeypatch)
    assert {role_http_port(defaults, role) for role in ROLES} | {defaults.rtmp.port} <= exposed
    assert "npm ci" in dockerfile  # the web UI's browser packages are in the image
