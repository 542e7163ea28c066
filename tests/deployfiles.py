"""Reading the deployment files as Docker would: docker-compose.yml with its ``${...}``
interpolation, the Dockerfile's instructions, ``.env.example`` and ``requirements.lock``.

Docker does not run on this machine, so the tests check these files against the code instead:
the commands exist, the variables are settings, the values are valid. ``test_topology.py`` starts
the compose services as local processes from the same file.
"""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yml"
DOCKERFILE = ROOT / "Dockerfile"
ENV_EXAMPLE = ROOT / ".env.example"
DOCKERIGNORE = ROOT / ".dockerignore"
LOCK = ROOT / "requirements.lock"
PREFIX = "STAYCURRENT_"

# ${NAME}, ${NAME:-default}, ${NAME-default}, ${NAME:?error}, ${NAME?error}, and $$ (a dollar)
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_]\w*)(?:(?P<op>:?[-?])(?P<arg>[^}]*))?\}")


class MissingVariable(LookupError):
    """A ``${NAME:?error}`` whose variable is not given: compose refuses to start."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


def interpolate(text: str, given: Mapping[str, str]) -> str:
    """``text`` with compose's ``${...}`` forms replaced from ``given`` (the shell and .env)."""

    def replace(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, op, arg = match.group("name"), match.group("op") or "", match.group("arg") or ""
        value = given.get(name)
        missing = value is None or (op.startswith(":") and value == "")
        if op.endswith("-"):
            return arg if missing else str(value)
        if op.endswith("?"):
            if missing:
                raise MissingVariable(name, arg)
            return str(value)
        return "" if value is None else value

    return _VARIABLE.sub(replace, text)


def variables(text: str) -> list[tuple[str, str, str]]:
    """Every ``${...}`` in ``text`` as (name, operator, argument)."""
    return [
        (m.group("name"), m.group("op") or "", m.group("arg") or "")
        for m in _VARIABLE.finditer(text)
        if m.group("name")
    ]


def load_compose() -> dict[str, Any]:
    """docker-compose.yml as parsed YAML (anchors and ``<<`` merges resolved), not interpolated."""
    loaded = yaml.safe_load(COMPOSE.read_text())
    assert isinstance(loaded, dict)
    return loaded


def service_environment(
    compose: Mapping[str, Any], service: str, given: Mapping[str, str]
) -> dict[str, str]:
    """The ``environment`` a compose service sets, interpolated with ``given``."""
    raw = compose["services"][service].get("environment") or {}
    if isinstance(raw, list):
        raw = dict(entry.split("=", 1) for entry in raw)
    return {str(key): interpolate(str(value), given) for key, value in raw.items()}


def staycurrent_services(compose: Mapping[str, Any]) -> list[str]:
    """The services that run the Staycurrent image (those built from this directory)."""
    return [name for name, spec in compose["services"].items() if "build" in spec]


# --------------------------------------------------------------------------- the Dockerfile


@dataclass(frozen=True)
class Instruction:
    """One Dockerfile instruction: ``keyword`` upper-cased, ``args`` as written, its stage index."""

    keyword: str
    args: str
    stage: int


def dockerfile_instructions(text: str | None = None) -> list[Instruction]:
    """The instructions, continuation lines joined and comments dropped."""
    text = DOCKERFILE.read_text() if text is None else text
    logical: list[str] = []
    pending = ""
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        if stripped.endswith("\\"):
            pending += stripped[:-1] + " "
            continue
        logical.append(pending + stripped)
        pending = ""
    found: list[Instruction] = []
    stage = -1
    for line in logical:
        keyword, _, args = line.partition(" ")
        if keyword.upper() == "FROM":
            stage += 1
        found.append(Instruction(keyword.upper(), args.strip(), stage))
    return found


def final_stage(instructions: list[Instruction]) -> list[Instruction]:
    """The instructions of the last stage: what the image is made of."""
    last = max(instruction.stage for instruction in instructions)
    return [instruction for instruction in instructions if instruction.stage == last]


def dockerfile_environment(instructions: list[Instruction]) -> dict[str, str]:
    """The ``ENV`` values set in these instructions (``KEY=value`` pairs, shell-quoted)."""
    values: dict[str, str] = {}
    for instruction in instructions:
        if instruction.keyword != "ENV":
            continue
        for pair in shlex.split(instruction.args):
            key, sep, value = pair.partition("=")
            assert sep, f"ENV {instruction.args!r}: write KEY=value"
            values[key] = value
    return values


# --------------------------------------------------------------------------- .env and the lock


def env_file_assignments(text: str) -> dict[str, str]:
    """``NAME=value`` lines of an env file, those commented out as examples (``# NAME=v``) too."""
    found: dict[str, str] = {}
    for line in text.splitlines():
        match = re.fullmatch(r"#?\s*([A-Z][A-Z0-9_]*)=(.*)", line.strip())
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def lock_pins(text: str | None = None) -> dict[str, str]:
    """requirements.lock as {normalized name: version}; every line must be ``name==version``."""
    text = LOCK.read_text() if text is None else text
    pins: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        match = re.fullmatch(r"([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s=;]+)", line.strip())
        assert match, f"requirements.lock: {line!r} is not name==version"
        pins[normalized(match.group(1))] = match.group(2)
    return pins


def normalized(name: str) -> str:
    """A distribution name as PEP 503 compares them."""
    return re.sub(r"[-_.]+", "-", name).lower()
