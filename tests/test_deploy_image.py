"""deploy/Dockerfile's image without Docker: its COPY lines assembled in a folder, its CMD run from there.

The replica runs as compose.yaml runs it: the Dockerfile's ENV, the app service's environment (with the
`postgres` and `s3` service addresses swapped for the real PostgreSQL and SeaweedFS the suite starts),
the secrets file the guide has people make, and a home folder of its own. Only the port, the listening
address (loopback: a test must not listen on the machine's network) and the data folder are swapped.
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

import boto3
import psycopg
import pytest
import requests
from psycopg import sql

from bench.replica_users import ProtocolUser
from lib.config import DATA_DIR_NAME, DATABASE_URL_NAME, S3_BUCKET_NAME, S3_ENDPOINT_NAME
from tests.deploy_files import (
    BUILD_CONTEXT,
    DEPLOY,
    ENV_EXAMPLE,
    Dockerfile,
    DockerfileError,
    app_environment,
    load_dockerfile,
    load_dockerignore,
    read_dockerfile,
)
from tests.e2e.harness import StreamlitServer, chromium_path, free_port, launch_chromium, wait_healthy
from tests.postgres_server import PostgresServer
from tests.seaweedfs_server import ACCESS_KEY_ID, REGION, SECRET_ACCESS_KEY, SeaweedServer

IMAGE_PORT = 8501
# The secrets file the guide has people make and compose.yaml mounts into every replica.
GUIDE_SECRETS_EXAMPLE = DEPLOY / "secrets.toml.example"
SECRETS_TARGET = ".streamlit/secrets.toml"
NEVER_COPIED = (".streamlit/secrets.toml", "tests", "data", "deploy/.env", "deploy/secrets.toml", ".git")
PROMPT = "A lighthouse keeper's cat, made in the assembled image"


@dataclass
class RunningImage:
    """The assembled image's working directory and the replica started from it."""

    dockerfile: Dockerfile
    app_dir: Path
    data_dir: Path
    env: dict[str, str]
    server: StreamlitServer
    port: int
    database_url: str
    bucket: str


def assemble(dockerfile: Dockerfile, root: Path) -> Path:
    """Lay out the image's files under root (root stands for `/`) from exactly the COPY lines."""
    workdir = root / PurePosixPath(dockerfile.workdir).relative_to("/")
    workdir.mkdir(parents=True, exist_ok=True)
    for copy in dockerfile.copies:
        destination = PurePosixPath(copy.destination)
        target = root / destination.relative_to("/") if destination.is_absolute() else workdir / destination
        into_folder = copy.destination.endswith("/") or len(copy.sources) > 1
        for source in copy.sources:
            path = BUILD_CONTEXT / source
            assert path.exists(), f"COPY {source}: not in the build context, `docker build` would fail"
            if path.is_dir():  # COPY copies a folder's contents, not the folder itself
                shutil.copytree(path, target, dirs_exist_ok=True, ignore=_left_out_of_context)
            else:
                file_target = target / path.name if into_folder else target
                file_target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, file_target)
    return workdir


def _left_out_of_context(folder: str, names: list[str]) -> set[str]:
    """The names in a folder that .dockerignore keeps out of the build context, so COPY never sees them."""
    relative = Path(folder).resolve().relative_to(BUILD_CONTEXT).as_posix()
    context = load_dockerignore()
    return {name for name in names if context.ignores(f"{relative}/{name}")}


def filled_env_file(bucket: str) -> dict[str, str]:
    """env.example with every empty value filled in, as the guide asks (the API key stays empty: offline)."""
    chosen = {
        "POSTGRES_PASSWORD": secrets.token_hex(16),
        "AWS_ACCESS_KEY_ID": ACCESS_KEY_ID,
        "AWS_SECRET_ACCESS_KEY": SECRET_ACCESS_KEY,
        "IMAGE_STUDIO_WORKSPACE_SECRET": secrets.token_hex(32),
        "STREAMLIT_SERVER_COOKIE_SECRET": secrets.token_hex(32),
        "IMAGE_STUDIO_S3_BUCKET": bucket,
        "AWS_REGION": REGION,
    }
    env: dict[str, str] = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        match = re.match(r"^([A-Z][A-Z0-9_]*)=(.*)$", line.strip())
        if match:
            name, value = match.groups()
            env[name] = value or chosen.get(name, "")
    env.update({name: value for name, value in chosen.items() if name not in env})
    return env


def local_addresses(environment: dict[str, str], database_url: str, s3_endpoint: str) -> dict[str, str]:
    """The app service's environment with compose's `postgres` and `s3` services swapped for local ones."""
    compose_db = urlsplit(environment[DATABASE_URL_NAME])
    assert (compose_db.hostname, compose_db.port) == ("postgres", 5432), environment[DATABASE_URL_NAME]
    assert environment[S3_ENDPOINT_NAME] == "http://s3:8333"
    local_db = urlsplit(database_url)
    credentials = compose_db.netloc.rpartition("@")[0]
    swapped = compose_db._replace(netloc=f"{credentials}@{local_db.hostname}:{local_db.port}",
                                  path=local_db.path)
    return {**environment, DATABASE_URL_NAME: urlunsplit(swapped), S3_ENDPOINT_NAME: s3_endpoint}


def database_for(postgres_server: PostgresServer, database_url: str) -> str:
    """A fresh database owned by the user compose's URL names (the server trusts any password)."""
    user = urlsplit(database_url).username
    assert user
    url = postgres_server.create_database()
    with psycopg.connect(postgres_server.admin_url, autocommit=True) as admin:
        exists = admin.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (user,)).fetchone()
        if not exists:
            admin.execute(sql.SQL("CREATE ROLE {} LOGIN").format(sql.Identifier(user)))
        admin.execute(sql.SQL("ALTER DATABASE {} OWNER TO {}").format(
            sql.Identifier(url.rsplit("/", 1)[1]), sql.Identifier(user)))
    return url


def installed_program(name: str) -> str:
    """A program the image gets from `pip install` (or its python), taken from this Python's installation."""
    if name == "python":
        return sys.executable
    program = Path(sys.executable).parent / name
    assert program.exists(), f"{name} is not installed beside {sys.executable}"
    return str(program)


def swap_option(argv: list[str], option: str, value: str) -> list[str]:
    """argv with one `--option value` pair's value replaced; fails when the option is missing."""
    assert option in argv, f"the Dockerfile's CMD no longer passes {option}: {argv}"
    index = argv.index(option) + 1
    return [*argv[:index], value, *argv[index + 1:]]


def health_command(dockerfile: Dockerfile, port: int) -> list[str]:
    """The HEALTHCHECK's command, pointed at this port."""
    argv = dockerfile.healthcheck
    fixed = f":{IMAGE_PORT}/"
    assert sum(word.count(fixed) for word in argv) == 1, f"HEALTHCHECK must probe port {IMAGE_PORT}: {argv}"
    return [installed_program(argv[0]), *(word.replace(fixed, f":{port}/") for word in argv[1:])]


def files_under(folder: Path) -> set[str]:
    """Every file below a folder, as relative paths."""
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


@pytest.fixture(scope="module")
def image(tmp_path_factory: pytest.TempPathFactory, postgres_server: PostgresServer,
          seaweedfs_server: SeaweedServer) -> Iterator[RunningImage]:
    """The assembled image running its CMD in shared mode on the suite's PostgreSQL and SeaweedFS."""
    dockerfile = load_dockerfile()
    root = tmp_path_factory.mktemp("image")
    app_dir = assemble(dockerfile, root)
    shutil.copy2(GUIDE_SECRETS_EXAMPLE, app_dir / SECRETS_TARGET)  # compose mounts it here
    copied = files_under(app_dir)
    home, data_dir = root / "home" / "studio", root / "data"
    home.mkdir(parents=True)
    data_dir.mkdir()
    bucket = f"image-{secrets.token_hex(6)}"
    compose_env = app_environment(filled_env_file(bucket))
    database_url = database_for(postgres_server, compose_env[DATABASE_URL_NAME])
    port = free_port()
    env = {
        "PATH": f"{Path(sys.executable).parent}:{os.environ.get('PATH', '/usr/bin:/bin')}",
        "HOME": str(home),
        **dockerfile.env,
        DATA_DIR_NAME: str(data_dir),
        **local_addresses(compose_env, database_url, seaweedfs_server.endpoint),
    }
    argv = swap_option(swap_option(dockerfile.cmd, "--server.port", str(port)),
                       "--server.address", "127.0.0.1")
    log_path = root / "replica.log"
    with open(log_path, "ab") as log:
        process = subprocess.Popen([installed_program(argv[0]), *argv[1:]], cwd=app_dir, env=env,
                                   stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    server = StreamlitServer(f"http://127.0.0.1:{port}", process, log_path, data_dir)
    try:
        wait_healthy(server, 60)
        yield RunningImage(dockerfile, app_dir, data_dir, env, server, port, database_url, bucket)
        server.assert_no_traceback_logged()
        # Shared mode keeps nothing on the replica's disk, and /app belongs to root in the image: the
        # app, running as its own user, must write nothing there either.
        assert list(data_dir.iterdir()) == []
        assert files_under(app_dir) == copied
    finally:
        server.stop()
        seaweedfs_server.drop_bucket(bucket)
        postgres_server.drop_database(database_url)


def test_the_reader_refuses_instructions_it_does_not_know() -> None:
    """An instruction or form the deploy tests cannot follow (ARG, ADD, shell-form CMD) fails loudly."""
    text = (DEPLOY / "Dockerfile").read_text()
    read_dockerfile(text)
    for added in ("ARG VERSION=1", "ADD https://example.com/x.tar.gz /opt/", "COPY --from=build /a /b",
                  "CMD streamlit run app.py", "COPY lib/*.py ./lib/", "ENTRYPOINT [\"tini\"]"):
        with pytest.raises(DockerfileError):
            read_dockerfile(text + "\n" + added + "\n")


def test_nothing_secret_and_no_tests_are_copied(image: RunningImage) -> None:
    """No COPY source is, or holds, a secrets file, the tests, the local data or the deploy .env."""
    sources = [PurePosixPath(source) for copy in image.dockerfile.copies for source in copy.sources]
    for source in sources:
        for never in map(PurePosixPath, NEVER_COPIED):
            assert source != never and never not in source.parents and source not in never.parents, (
                f"COPY {source} would bring {never} into the image")
    copied = files_under(image.app_dir) - {SECRETS_TARGET}  # the one compose mounts at run time
    assert not [path for path in copied if "secrets.toml" in path or path.startswith(("tests/", "data/"))]
    assert "app.py" in copied and ".streamlit/config.toml" in copied


class _PageForEveryPath(BaseHTTPRequestHandler):
    """Answers 200 with an HTML page on any path, as Streamlit does for an address it has no route for."""

    def do_GET(self) -> None:
        """The same page shell whatever was asked."""
        body = b'<!doctype html><html><body><div id="root"></div></body></html>'
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        """Quiet."""


def run_health_check(image: RunningImage, port: int) -> subprocess.CompletedProcess[str]:
    """The image's HEALTHCHECK command run from its working directory against this port."""
    return subprocess.run(health_command(image.dockerfile, port), cwd=image.app_dir, env=image.env,
                          capture_output=True, text=True, timeout=30, check=False)


def test_the_health_check_passes_only_on_a_serving_replica(image: RunningImage) -> None:
    """The HEALTHCHECK exits 0 on the running replica; non-zero where nothing listens or where a page, not
    Streamlit's `ok`, answers (so a mistyped health path cannot pass on Streamlit's catch-all page)."""
    healthy = run_health_check(image, image.port)
    assert healthy.returncode == 0, healthy.stderr
    assert run_health_check(image, free_port()).returncode != 0
    not_streamlit = ThreadingHTTPServer(("127.0.0.1", 0), _PageForEveryPath)
    threading.Thread(target=not_streamlit.serve_forever, daemon=True).start()
    try:
        assert run_health_check(image, int(not_streamlit.server_address[1])).returncode != 0
    finally:
        not_streamlit.shutdown()
        not_streamlit.server_close()


def test_the_replica_serves_the_page_and_its_script(image: RunningImage) -> None:
    """The page shell and the JavaScript it loads are served from the assembled image."""
    page = requests.get(image.server.url + "/", timeout=10)
    assert page.status_code == 200 and '<div id="root">' in page.text
    scripts = re.findall(r'<script[^>]+src="\.?/?([^"]+\.js)"', page.text)
    assert scripts, page.text[:2000]
    for script in scripts:
        assert requests.get(f"{image.server.url}/{script}", timeout=10).status_code == 200, script


def in_a_thread_of_its_own(work: Callable[[], object]) -> None:
    """Run work in a new thread and re-raise its failure here.

    The browser tests' session-wide Playwright keeps an event loop running in the main thread once they
    have run, and neither `asyncio.run` nor a second sync Playwright may start inside it.
    """
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(work).result()


def test_a_session_runs_the_generate_page_in_shared_mode(image: RunningImage) -> None:
    """A websocket session gets the Generate page; serving it migrated PostgreSQL and made the bucket."""
    user = ProtocolUser(image.server.url, PROMPT)

    async def open_and_close() -> None:
        try:
            await user.open()  # raises unless the page's Prompt and Generate widgets arrived
        finally:
            await user.close()

    in_a_thread_of_its_own(lambda: asyncio.run(open_and_close()))
    assert "ws=" in user.query_string  # the page minted a workspace link (signed with the shared secret)
    with psycopg.connect(image.database_url) as connection:
        tables = {row[0] for row in connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'")}
    assert {"schema_version", "history_entries"} <= tables, tables
    s3 = boto3.client("s3", endpoint_url=image.env[S3_ENDPOINT_NAME], aws_access_key_id=ACCESS_KEY_ID,
                      aws_secret_access_key=SECRET_ACCESS_KEY, region_name=REGION)
    s3.head_bucket(Bucket=image.env[S3_BUCKET_NAME])


@pytest.mark.e2e
def test_a_person_generates_an_image_on_the_replica(image: RunningImage) -> None:
    """In Chromium the replica says it runs offline and makes an image kept in PostgreSQL and the bucket."""
    if chromium_path() is None:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail("Chromium is not installed (CI must have it: see .ci/run)")
        pytest.skip("Chromium is not installed here (apt-get install -y chromium)")
    from playwright.sync_api import expect, sync_playwright

    from lib.ui.connection_panel import OFFLINE_BADGE
    from tests.e2e import ui
    from tests.e2e.harness import open_app

    def visit() -> None:
        with sync_playwright() as playwright:
            browser = launch_chromium(playwright)
            try:
                context = browser.new_context(viewport={"width": 1366, "height": 900})
                page = open_app(context, image.server.url)
                expect(page.get_by_test_id("stSidebar").get_by_text(OFFLINE_BADGE)).to_be_visible(
                    timeout=30_000)
                ui.generate(page, PROMPT)
                expect(page.get_by_test_id("stException")).to_have_count(0)
            finally:
                browser.close()

    in_a_thread_of_its_own(visit)
    with psycopg.connect(image.database_url) as connection:
        [count] = connection.execute("SELECT count(*) FROM history_entries WHERE prompt = %s",
                                     (PROMPT,)).fetchone() or [0]
    assert count == 1
    s3 = boto3.client("s3", endpoint_url=image.env[S3_ENDPOINT_NAME], aws_access_key_id=ACCESS_KEY_ID,
                      aws_secret_access_key=SECRET_ACCESS_KEY, region_name=REGION)
    assert s3.list_objects_v2(Bucket=image.env[S3_BUCKET_NAME]).get("KeyCount", 0) > 0
