""".dockerignore: what `docker build` sends to the builder. Secrets, local data and tests stay out;
everything the Dockerfile copies (the person model included) goes in."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.deploy_files import BUILD_CONTEXT, load_dockerfile, load_dockerignore, read_dockerignore

NEVER_SENT = (
    ".streamlit/secrets.toml",
    "data/history.sqlite3",
    "data/images/0a/0a1b.png",
    "data/workspace-link-secret",
    "deploy/.env",
    ".env",
    "tests/test_client.py",
    "bench/.data/bg_eval/00_studio_person.jpg",
    ".git/config",
    ".venv/bin/python",
    ".image_studio/budget.sqlite3",
    "lib/__pycache__/client.cpython-311.pyc",
)


def test_docker_matching_rules_as_docker_applies_them() -> None:
    rules = read_dockerignore("# comment\n*\n!lib/\n**/__pycache__\n!lib/keep/__pycache__\nlib/secret?.txt\n")
    assert rules.ignores("README.md")
    assert not rules.ignores("lib/client.py")  # taken back: the last matching pattern decides
    assert rules.ignores("lib/ui/__pycache__/session.pyc")  # ** crosses folders; a folder covers its files
    assert not rules.ignores("lib/keep/__pycache__/x.pyc")
    assert rules.ignores("lib/secret1.txt") and not rules.ignores("lib/secret10.txt")  # ? is one character
    assert not read_dockerignore("").ignores(".streamlit/secrets.toml")


@pytest.mark.parametrize("path", NEVER_SENT)
def test_secrets_data_and_tests_never_reach_the_builder(path: str) -> None:
    assert load_dockerignore().ignores(path)


def test_everything_the_dockerfile_copies_is_sent() -> None:
    context = load_dockerignore()
    sent: list[str] = []
    for copy in load_dockerfile().copies:
        for source in copy.sources:
            path = BUILD_CONTEXT / source
            files = [path] if path.is_file() else [p for p in path.rglob("*") if p.is_file()]
            for file in files:
                relative = file.relative_to(BUILD_CONTEXT).as_posix()
                if "__pycache__" not in relative:
                    assert not context.ignores(relative), f"COPY {source}: {relative} left out of the context"
                    sent.append(relative)
    assert "lib/local_studio/engines/models/selfie_segmentation.onnx" in sent
    assert "app.py" in sent and ".streamlit/config.toml" in sent


def test_the_dockerignore_sits_where_docker_looks_for_it() -> None:
    """Docker reads .dockerignore at the root of the build context that compose and the guide use."""
    assert (BUILD_CONTEXT / ".dockerignore").is_file()
    assert Path(__file__).resolve().parents[1] == BUILD_CONTEXT
