"""deploy/'s files read as Docker and docker compose read them, for tests that cannot run either engine.

The Dockerfile reader knows only the instructions deploy/Dockerfile uses and refuses any other, so an
edit that adds one (ARG, ADD, a multi-stage FROM ... AS) must also teach the tests what it means.
"""

from __future__ import annotations

import json
import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]
DEPLOY = ROOT / "deploy"
DOCKERFILE = DEPLOY / "Dockerfile"
COMPOSE_FILE = DEPLOY / "compose.yaml"
ENV_EXAMPLE = DEPLOY / "env.example"
GUIDE = DEPLOY / "README.md"
# compose.yaml's build context, relative to the compose file's folder.
BUILD_CONTEXT = ROOT


class DockerfileError(ValueError):
    """A Dockerfile line this reader does not understand: teach it before relying on the line."""


@dataclass(frozen=True)
class Copy:
    """One COPY: sources relative to the build context, a destination relative to the WORKDIR."""

    sources: tuple[str, ...]
    destination: str


@dataclass
class Dockerfile:
    """What one single-stage Dockerfile says: base image, working directory, files, command, health check."""

    base_image: str = ""
    workdir: str = "/"
    env: dict[str, str] = field(default_factory=dict)
    copies: list[Copy] = field(default_factory=list)
    runs: list[str] = field(default_factory=list)
    user: str = "root"
    exposed_ports: list[int] = field(default_factory=list)
    healthcheck: list[str] = field(default_factory=list)
    healthcheck_options: dict[str, str] = field(default_factory=dict)
    cmd: list[str] = field(default_factory=list)


def read_dockerfile(text: str) -> Dockerfile:
    """Parse a Dockerfile's instructions; DockerfileError on any instruction or form not understood."""
    image = Dockerfile()
    for line in _logical_lines(text):
        instruction, _, rest = line.partition(" ")
        instruction, rest = instruction.upper(), rest.strip()
        if instruction == "FROM":
            if image.base_image or " " in rest:
                raise DockerfileError(f"only one plain FROM is understood: {line!r}")
            image.base_image = rest
        elif instruction == "WORKDIR":
            image.workdir = rest if rest.startswith("/") else f"{image.workdir.rstrip('/')}/{rest}"
        elif instruction == "ENV":
            image.env.update(_env_pairs(rest, line))
        elif instruction == "COPY":
            image.copies.append(_copy(rest, line))
        elif instruction == "RUN":
            image.runs.append(rest)
        elif instruction == "USER":
            image.user = rest
        elif instruction == "EXPOSE":
            image.exposed_ports.extend(int(port.split("/")[0]) for port in rest.split())
        elif instruction == "HEALTHCHECK":
            image.healthcheck_options, image.healthcheck = _healthcheck(rest, line)
        elif instruction == "CMD":
            image.cmd = _exec_form(rest, line)
        else:
            raise DockerfileError(f"instruction {instruction} is unknown to the deploy tests: {line!r}")
    return image


def load_dockerfile() -> Dockerfile:
    """deploy/Dockerfile, parsed."""
    return read_dockerfile(DOCKERFILE.read_text())


@dataclass(frozen=True)
class DockerIgnore:
    """The build context's .dockerignore, matched as Docker matches it: patterns relative to the
    context, `*` within one path segment, `**` across segments, `!` to take a path back, the last
    matching pattern deciding, and a pattern that matches a folder covering everything in it."""

    rules: tuple[tuple[bool, re.Pattern[str]], ...]  # (taken back, pattern)

    def ignores(self, path: str) -> bool:
        parts = path.strip("/").split("/")
        candidates = ["/".join(parts[: end + 1]) for end in range(len(parts))]
        ignored = False
        for taken_back, pattern in self.rules:
            if any(pattern.fullmatch(candidate) for candidate in candidates):
                ignored = not taken_back
        return ignored


def read_dockerignore(text: str) -> DockerIgnore:
    rules = []
    for line in text.splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        taken_back = line.startswith("!")
        pattern = line.removeprefix("!").strip().strip("/").removeprefix("./")
        wildcards = {"**": ".*", "*": "[^/]*", "?": "[^/]"}
        regex = "".join(wildcards.get(token) or re.escape(token)
                        for token in re.findall(r"\*\*|\*|\?|[^*?]+", pattern))
        rules.append((taken_back, re.compile(regex.replace(".*/", "(?:.*/)?"))))
    return DockerIgnore(tuple(rules))


def load_dockerignore() -> DockerIgnore:
    """The build context's .dockerignore (an empty one ignores nothing)."""
    path = BUILD_CONTEXT / ".dockerignore"
    return read_dockerignore(path.read_text() if path.is_file() else "")


def _logical_lines(text: str) -> list[str]:
    """Instructions with their `\\` continuations joined; comments and blank lines dropped."""
    lines: list[str] = []
    pending = ""
    for raw in text.splitlines():
        stripped = raw.strip()
        if not stripped or stripped.startswith("#"):
            continue  # Docker drops comment lines, also between a line's continuations
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        lines.append(" ".join((pending + stripped).split()))
        pending = ""
    if pending:
        raise DockerfileError(f"the last instruction ends with a continuation: {pending!r}")
    return lines


def _env_pairs(rest: str, line: str) -> dict[str, str]:
    """ENV's key=value pairs (the legacy `ENV key value` form is refused: it reads ambiguously)."""
    pairs = {}
    for word in shlex.split(rest):
        name, equals, value = word.partition("=")
        if not equals:
            raise DockerfileError(f"ENV must use key=value: {line!r}")
        pairs[name] = value
    return pairs


def _copy(rest: str, line: str) -> Copy:
    """COPY's sources and destination; flags, wildcards and the JSON form are refused."""
    words = shlex.split(rest)
    if rest.startswith("[") or any(word.startswith("--") for word in words) or len(words) < 2:
        raise DockerfileError(f"only `COPY source... destination` is understood: {line!r}")
    if any(char in word for word in words for char in "*?["):
        raise DockerfileError(f"COPY with wildcards is not understood: {line!r}")
    return Copy(sources=tuple(words[:-1]), destination=words[-1])


def _healthcheck(rest: str, line: str) -> tuple[dict[str, str], list[str]]:
    """HEALTHCHECK's --options and its exec-form CMD."""
    options: dict[str, str] = {}
    while rest.startswith("--"):
        option, _, rest = rest.partition(" ")
        name, equals, value = option[2:].partition("=")
        if not equals or name not in ("interval", "timeout", "start-period", "start-interval", "retries"):
            raise DockerfileError(f"HEALTHCHECK option not understood: {option!r} in {line!r}")
        options[name] = value
        rest = rest.strip()
    keyword, _, command = rest.partition(" ")
    if keyword.upper() != "CMD":
        raise DockerfileError(f"only `HEALTHCHECK [options] CMD [...]` is understood: {line!r}")
    return options, _exec_form(command.strip(), line)


def _exec_form(rest: str, line: str) -> list[str]:
    """A JSON array of strings (exec form); the shell form is refused, it would need a shell to read."""
    try:
        argv = json.loads(rest)
    except json.JSONDecodeError:
        argv = None
    if not isinstance(argv, list) or not argv or not all(isinstance(word, str) for word in argv):
        raise DockerfileError(f"only the exec form [\"program\", \"arg\", ...] is understood: {line!r}")
    return argv


def load_compose() -> dict[str, Any]:
    """deploy/compose.yaml as YAML (merge keys resolved), before compose's ${VAR} interpolation."""
    document = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(document, dict)
    return document


_VARIABLE = re.compile(r"\$(?:(?P<escaped>\$)|\{(?P<braced>[^}]*)\}|(?P<plain>[A-Za-z_][A-Za-z0-9_]*))")
_BRACED = re.compile(r"^(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?:(?P<op>:?[-?])(?P<arg>.*))?$")


class MissingVariable(KeyError):
    """A ${VAR:?message} (or ${VAR?message}) whose variable is not set: compose refuses to start."""


def interpolate(value: str, env: Mapping[str, str]) -> str:
    """A compose value with ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $VAR and $$ resolved."""

    def one(match: re.Match[str]) -> str:
        if match.group("escaped"):
            return "$"
        if match.group("plain"):
            return env.get(match.group("plain"), "")
        braced = _BRACED.match(match.group("braced"))
        if braced is None:
            raise ValueError(f"compose cannot read ${{{match.group('braced')}}}")
        name, op, arg = braced.group("name"), braced.group("op"), braced.group("arg")
        given = env.get(name)
        missing = given is None or (given == "" and op is not None and op.startswith(":"))
        if op in (":-", "-") and missing:
            return interpolate(arg, env)
        if op in (":?", "?") and missing:
            raise MissingVariable(f"{name}: {arg}")
        return given or ""

    return _VARIABLE.sub(one, value)


def required_variables(text: str) -> set[str]:
    """Names compose refuses to start without (${NAME:?...} or ${NAME?...})."""
    return set(re.findall(r"\$\{([A-Za-z_][A-Za-z0-9_]*):?\?", text))


def referenced_variables(text: str) -> set[str]:
    """Every variable name a compose file interpolates."""
    names = set()
    for match in _VARIABLE.finditer(text):
        if match.group("plain"):
            names.add(match.group("plain"))
        elif match.group("braced"):
            braced = _BRACED.match(match.group("braced"))
            if braced:
                names.add(braced.group("name"))
    return names


def env_example_names() -> set[str]:
    """Names env.example offers to fill in, set (`NAME=`) or left commented out (`# NAME=value`)."""
    return set(re.findall(r"^(?:#\s*)?([A-Z][A-Z0-9_]*)=", ENV_EXAMPLE.read_text(), re.MULTILINE))


def app_environment(env: Mapping[str, str]) -> dict[str, str]:
    """The app service's environment as compose gives it to each replica, for this .env."""
    app = load_compose()["services"]["app"]
    environment = app.get("environment", {})
    assert isinstance(environment, dict), "the app service's environment must be a mapping"
    return {name: interpolate(str(value), env) for name, value in environment.items()}
