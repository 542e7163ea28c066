"""The deployment files hold together without Docker: docker-compose.yml, the Dockerfile,
.env.example and requirements.lock checked against the CLI, the settings and pyproject.toml;
and a wheel built from the project carries everything the image needs at run time.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
import zipfile
from importlib import metadata
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import typer
from deployfiles import (
    DOCKERIGNORE,
    ENV_EXAMPLE,
    PREFIX,
    ROOT,
    Instruction,
    MissingVariable,
    dockerfile_environment,
    dockerfile_instructions,
    env_file_assignments,
    final_stage,
    interpolate,
    load_compose,
    lock_pins,
    normalized,
    service_environment,
    staycurrent_services,
    variables,
)
from packaging.markers import default_environment
from packaging.requirements import Requirement
from typer.testing import CliRunner

from service.cli import app
from service.config import Settings
from service.storage.engine import Database

COMPOSE = load_compose()
SERVICES = COMPOSE["services"]
OURS = staycurrent_services(COMPOSE)
DOCKERFILE = dockerfile_instructions()
IMAGE = final_stage(DOCKERFILE)
SECRETS = ("STAYCURRENT_SECRET_KEY", "STAYCURRENT_ADMIN_TOKEN", "STAYCURRENT_SMTP_PASSWORD")
# What an operator puts in .env (compose interpolates ${...} from it).
OPERATOR_ENV = {
    "POSTGRES_PASSWORD": "ChosenByTheOperator42",
    "STAYCURRENT_SECRET_KEY": "a-secret-key-of-the-operator-0123456789abcdef",
}
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())


def depends(service: str) -> dict[str, str]:
    return {name: spec["condition"] for name, spec in SERVICES[service]["depends_on"].items()}


# --------------------------------------------------------------------------- compose: shape


def test_compose_has_the_five_services_and_three_run_our_image() -> None:
    assert set(SERVICES) == {"postgres", "migrate", "api", "worker", "mailpit"}
    assert sorted(OURS) == ["api", "migrate", "worker"]
    assert {SERVICES[name]["build"] for name in OURS} == {"."}  # one Dockerfile for every role
    assert len({SERVICES[name]["image"] for name in OURS}) == 1


def test_postgres_is_the_official_image_with_a_health_check_and_a_named_volume() -> None:
    postgres = SERVICES["postgres"]
    assert postgres["image"].split(":")[0] == "postgres"
    assert "pg_isready" in " ".join(postgres["healthcheck"]["test"])
    volume, _, mount = postgres["volumes"][0].partition(":")
    assert mount == "/var/lib/postgresql/data"
    assert volume in COMPOSE["volumes"]  # named, so data outlives the container


def test_migrate_runs_once_and_api_and_worker_wait_for_it() -> None:
    migrate = SERVICES["migrate"]
    assert migrate["command"] == ["db", "upgrade"]
    assert migrate["restart"] == "no"
    assert depends("migrate") == {"postgres": "service_healthy"}
    for service in ("api", "worker"):
        assert depends(service)["migrate"] == "service_completed_successfully"
        assert depends(service)["postgres"] == "service_healthy"


def test_the_api_runs_several_uvicorn_workers_and_two_workers_poll() -> None:
    command = SERVICES["api"]["command"]
    assert command[0] == "api"
    assert int(command[command.index("--workers") + 1]) >= 2
    assert SERVICES["api"]["ports"] == ["8000:8000"]
    assert SERVICES["worker"]["command"] == ["worker"]
    assert SERVICES["worker"]["deploy"]["replicas"] == 2
    assert SERVICES["worker"]["healthcheck"] == {"disable": True}  # no HTTP in a worker


def test_postgres_accepts_every_connection_our_processes_may_open() -> None:
    engine = Database("postgresql+psycopg://staycurrent:x@postgres/staycurrent").engine
    per_process = engine.pool.size() + engine.pool._max_overflow  # type: ignore[attr-defined]
    engine.dispose()
    api = SERVICES["api"]["command"]
    processes = int(api[api.index("--workers") + 1]) + 1  # uvicorn workers and their supervisor
    processes += SERVICES["worker"]["deploy"]["replicas"] + 1  # workers, and migrate or a CLI
    command = SERVICES["postgres"]["command"]
    limit = int(command[command.index("-c") + 1].removeprefix("max_connections="))
    assert processes * per_process <= limit


def test_mailpit_is_where_digests_go_by_default() -> None:
    assert SERVICES["mailpit"]["image"].split(":")[0] == "axllent/mailpit"
    assert "8025:8025" in SERVICES["mailpit"]["ports"]  # its web UI
    environment = service_environment(COMPOSE, "worker", OPERATOR_ENV)
    assert environment["STAYCURRENT_SMTP_HOST"] == "mailpit"
    assert environment["STAYCURRENT_SMTP_PORT"] == "1025"  # Mailpit's SMTP port


@pytest.mark.parametrize("service", OURS)
def test_our_services_keep_no_state_of_their_own(service: str) -> None:
    assert "volumes" not in SERVICES[service]  # everything lives in PostgreSQL


# --------------------------------------------------------------------------- compose: commands


def parsed_command(argv: list[str]) -> Any:
    """Parse ``staycurrent <argv>`` as the CLI would, every option converted, nothing run.

    Raises the CLI's usage error (an unknown command or option, a value of the wrong type).
    """
    command: Any = typer.main.get_command(app)
    words = list(argv)
    while hasattr(command, "commands"):  # a group: walk down to the command named
        name = words.pop(0)
        context = command.make_context("staycurrent", [name], resilient_parsing=True)
        found = command.get_command(context, name)  # the root imports its commands lazily
        assert found is not None, f"staycurrent has no command {name!r} (in {argv})"
        command = found
    return command.make_context(f"staycurrent {' '.join(argv)}", words)


def commands() -> list[tuple[str, list[str]]]:
    given = [(name, spec["command"]) for name, spec in SERVICES.items() if name in OURS]
    entrypoint = next(i.args for i in IMAGE if i.keyword == "ENTRYPOINT")
    default = next(i.args for i in IMAGE if i.keyword == "CMD")
    assert json.loads(entrypoint) == ["staycurrent"]
    return [*given, ("Dockerfile CMD", json.loads(default))]


@pytest.mark.parametrize(("service", "argv"), commands())
def test_every_command_is_a_staycurrent_command(service: str, argv: list[str]) -> None:
    result = CliRunner().invoke(app, [*argv, "--help"])
    assert result.exit_code == 0, f"{service}: staycurrent {' '.join(argv)}: {result.output}"
    parsed_command(argv)  # options and their values are accepted (a typo or "four" would raise)


def test_a_command_parse_refuses_what_the_cli_refuses() -> None:
    with pytest.raises(typer.BadParameter):
        parsed_command(["api", "--workers", "four"])
    with pytest.raises(Exception, match="No such option"):
        parsed_command(["worker", "--replicas", "2"])
    with pytest.raises(AssertionError, match="no command 'upgrade'"):
        parsed_command(["upgrade"])
    assert parsed_command(["api", "--workers", "4"]).params["workers"] == 4
    assert parsed_command(["db", "upgrade"]).info_name == "staycurrent db upgrade"


GUIDE = ROOT / "docs" / "deploy.md"
_VALUED_OPTIONS = {"-v", "--volume", "-e", "--env", "-w", "--workdir", "--entrypoint", "-u"}


def guide_runs() -> list[tuple[str, list[str]]]:
    """Every ``docker compose run ... SERVICE [ARGS]`` in the operations guide."""
    found = []
    for span in re.findall(r"docker compose run [^`\n#]*", GUIDE.read_text()):
        rest = shlex.split(span)[3:]
        while rest and rest[0].startswith("-"):
            if rest.pop(0) in _VALUED_OPTIONS:
                rest.pop(0)
        service, *args = rest
        found.append((service, args))
    return found


@pytest.mark.parametrize(("service", "args"), guide_runs())
def test_every_compose_run_in_the_guide_is_a_service_and_a_command(
    service: str, args: list[str]
) -> None:
    assert service in OURS
    parsed_command(args or SERVICES[service]["command"])


def test_every_staycurrent_command_in_the_guide_exists() -> None:
    spans = re.findall(r"`(staycurrent [^`]+)`", GUIDE.read_text())
    assert len(guide_runs()) >= 4 and spans
    for span in spans:
        words = [w for w in span.split()[1:] if re.fullmatch(r"[a-z][a-z-]*", w)]
        result = CliRunner().invoke(app, [*words[:2], "--help"])
        assert result.exit_code == 0, f"{span}: {result.output}"


# --------------------------------------------------------------------------- configuration


def settings_from(environment: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> Settings:
    """The Settings a container with exactly this environment would load (no .env read)."""
    for key in [key for key in os.environ if key.startswith(PREFIX)]:
        monkeypatch.delenv(key)
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    return Settings(_env_file=None)  # type: ignore[call-arg]


def configured_names() -> list[tuple[str, str]]:
    """(where, variable) for every STAYCURRENT_* the deployment files set."""
    found = [("Dockerfile", name) for name in dockerfile_environment(IMAGE)]
    for service in OURS:
        environment = SERVICES[service].get("environment") or {}
        found += [(f"compose {service}", name) for name in environment]
    found += [(".env.example", name) for name in env_file_assignments(ENV_EXAMPLE.read_text())]
    return [(where, name) for where, name in found if name.startswith(PREFIX)]


@pytest.mark.parametrize(("where", "variable"), configured_names())
def test_every_variable_set_is_a_setting(where: str, variable: str) -> None:
    assert variable.removeprefix(PREFIX).lower() in Settings.model_fields, f"{where}: {variable}"


@pytest.mark.parametrize("service", OURS)
def test_each_container_gets_valid_settings_pointing_at_the_compose_services(
    service: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = dockerfile_environment(IMAGE) | service_environment(
        COMPOSE, service, OPERATOR_ENV
    )
    loaded = settings_from(environment, monkeypatch)
    database = urlsplit(loaded.database_url)
    assert database.scheme == "postgresql+psycopg"
    assert database.hostname in SERVICES and database.port == 5432
    assert database.password == OPERATOR_ENV["POSTGRES_PASSWORD"]
    postgres = SERVICES["postgres"]["environment"]
    assert database.username == postgres["POSTGRES_USER"]
    assert database.path.strip("/") == postgres["POSTGRES_DB"]
    assert loaded.smtp_host in SERVICES and loaded.smtp_starttls is False
    assert loaded.host == "0.0.0.0"  # reachable from the other containers
    assert f"{loaded.port}:{loaded.port}" in SERVICES["api"]["ports"]
    assert loaded.feeds_file == Path("/app/feeds.yaml")
    assert loaded.log_format == "json"
    assert loaded.secret_key is not None and loaded.admin_token is None
    assert urlsplit(loaded.base_url).port == 8000


def test_settings_in_dotenv_win_over_the_compose_defaults(monkeypatch: pytest.MonkeyPatch) -> None:
    operator = OPERATOR_ENV | {
        "STAYCURRENT_SMTP_HOST": "smtp.example.org",
        "STAYCURRENT_SMTP_PORT": "587",
        "STAYCURRENT_SMTP_STARTTLS": "true",
        "STAYCURRENT_ADMIN_TOKEN": "an-admin-token-long-enough",
    }
    environment = service_environment(COMPOSE, "worker", operator)
    loaded = settings_from(environment, monkeypatch)
    assert (loaded.smtp_host, loaded.smtp_port, loaded.smtp_starttls) == (
        "smtp.example.org",
        587,
        True,
    )
    assert loaded.admin_token is not None


def test_env_example_values_are_valid_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    given = env_file_assignments(ENV_EXAMPLE.read_text())
    ours = {key: value for key, value in given.items() if key.startswith(PREFIX)}
    assert {"STAYCURRENT_SECRET_KEY", "STAYCURRENT_ADMIN_TOKEN"} <= set(ours)
    assert ours["STAYCURRENT_SECRET_KEY"] == ""  # to fill in: no sample secret anyone may keep
    loaded = settings_from(ours, monkeypatch)
    assert loaded.smtp_host == "smtp.example.org"  # the commented SMTP example parses too
    assert "POSTGRES_PASSWORD" in given


def test_compose_needs_the_secrets_from_the_operator_and_bakes_in_none() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    required = {name for name, op, _ in variables(text) if op.endswith("?")}
    assert required == {"POSTGRES_PASSWORD", "STAYCURRENT_SECRET_KEY"}
    with pytest.raises(MissingVariable):
        service_environment(COMPOSE, "api", {"POSTGRES_PASSWORD": "x"})
    for service in OURS:
        environment = SERVICES[service]["environment"]
        for secret in [name for name in SECRETS if name in environment]:
            value = str(environment[secret])
            # nothing but the operator's value, and no default when it is missing
            assert interpolate(value, {secret: "from-dotenv"}) == "from-dotenv", value
            with contextlib.suppress(MissingVariable):
                assert interpolate(value, {}) == "", value


# --------------------------------------------------------------------------- the Dockerfile


def keyword(name: str, stage: list[Instruction] = IMAGE) -> list[str]:
    return [instruction.args for instruction in stage if instruction.keyword == name]


def test_the_image_is_slim_python_3_11_and_runs_as_a_user_who_is_not_root() -> None:
    assert keyword("FROM")[0].split()[0] == "python:3.11-slim"
    users = keyword("USER")
    assert users, "no USER: the image would run as root"
    assert users[-1].split(":")[0] not in {"root", "0"}
    assert users[-1] in " ".join(keyword("RUN"))  # the user is created in the image


def test_the_image_installs_exactly_the_lock_and_then_the_project_without_resolving() -> None:
    assert any("requirements.lock" in copy for copy in keyword("COPY"))
    installs = [run for run in keyword("RUN") if "pip install" in run]
    assert any("--no-deps -r requirements.lock" in run for run in installs)
    assert all("--no-deps" in run for run in installs)  # nothing beyond the lock is resolved


def test_the_image_has_a_health_check_on_healthz() -> None:
    [check] = keyword("HEALTHCHECK")
    assert "CMD" in check and "/healthz" in check
    assert "NONE" not in check.split()


def test_the_image_bakes_in_no_secret() -> None:
    baked = dockerfile_environment(DOCKERFILE) | {
        arg.split("=")[0]: "" for arg in keyword("ARG", DOCKERFILE)
    }
    assert not set(baked) & {*SECRETS, "POSTGRES_PASSWORD"}
    copied = " ".join(keyword("COPY", DOCKERFILE))
    assert ".env" not in copied.split()
    ignored = DOCKERIGNORE.read_text().split()
    assert ".env" in ignored and "data" in ignored  # never in the build context at all


def test_the_image_carries_the_catalog_it_is_configured_with() -> None:
    feeds = dockerfile_environment(IMAGE)["STAYCURRENT_FEEDS_FILE"]
    [workdir] = keyword("WORKDIR")
    copies = [shlex.split(copy) for copy in keyword("COPY")]
    assert any(
        "feeds.yaml" in words[:-1] and str(Path(workdir, words[-1])) in {feeds, workdir}
        for words in copies
    )
    assert Path(feeds).name == "feeds.yaml"
    assert (ROOT / "feeds.yaml").is_file()


# --------------------------------------------------------------------------- the lock


def runtime_requirements() -> list[Requirement]:
    return [Requirement(text) for text in PYPROJECT["project"]["dependencies"]]


def test_the_lock_pins_every_runtime_dependency_within_its_range() -> None:
    pins = lock_pins()
    for requirement in runtime_requirements():
        name = normalized(requirement.name)
        assert name in pins, f"{requirement.name} is not in requirements.lock (make lock)"
        assert requirement.specifier.contains(pins[name], prereleases=True), (
            f"requirements.lock pins {name}=={pins[name]}, outside {requirement.specifier}"
        )


def _closure(requirements: list[Requirement]) -> set[str]:
    """Every distribution the requirements pull in, as installed here (markers as on Linux)."""
    seen: set[str] = set()
    todo = [(requirement, "") for requirement in requirements]
    while todo:
        requirement, extra = todo.pop()
        environment = default_environment() | {"extra": extra}
        if requirement.marker and not requirement.marker.evaluate(environment):  # type: ignore[arg-type]
            continue
        name = normalized(requirement.name)
        wanted = {(name, e) for e in ["", *requirement.extras]}
        for dist_name, dist_extra in wanted:
            key = f"{dist_name}[{dist_extra}]"
            if key in seen:
                continue
            seen.add(key)
            needs = metadata.requires(dist_name) or []
            todo += [(Requirement(text), dist_extra) for text in needs]
    return {key.split("[")[0] for key in seen}


def test_the_lock_holds_every_distribution_the_runtime_needs_and_no_dev_tool() -> None:
    pins = set(lock_pins())
    needed = _closure(runtime_requirements())
    assert needed - pins == set(), "missing from requirements.lock: run `make lock`"
    dev = {
        normalized(Requirement(text).name)
        for text in PYPROJECT["project"]["optional-dependencies"]["dev"]
    }
    assert not pins & (dev - needed)


# --------------------------------------------------------------------------- the wheel


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    """The project built as the image builds it (``pip wheel --no-deps .``), from a clean copy."""
    source = tmp_path_factory.mktemp("source")
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source / name)
    shutil.copytree(
        ROOT / "service", source / "service", ignore=shutil.ignore_patterns("__pycache__")
    )
    out = tmp_path_factory.mktemp("wheel")
    built = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--quiet", "-w", str(out), str(source)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert built.returncode == 0, built.stderr
    [path] = out.glob("staycurrent-*.whl")
    return zipfile.ZipFile(path)


@pytest.mark.slow
def test_the_wheel_carries_migrations_templates_and_type_marker(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    required = {
        "service/py.typed",
        "service/storage/migrations/env.py",
        "service/storage/migrations/script.py.mako",
        "service/outputs/digest/templates/digest.html.j2",
        "service/outputs/digest/templates/digest.txt.j2",
    }
    assert required <= names
    versions = sorted((ROOT / "service/storage/migrations/versions").glob("*.py"))
    assert versions and {f"service/storage/migrations/versions/{p.name}" for p in versions} <= names


@pytest.mark.slow
def test_the_wheel_carries_every_file_of_the_package(wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    files = {
        path.relative_to(ROOT).as_posix()
        for path in (ROOT / "service").rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    }
    assert files - names == set()


@pytest.mark.slow
def test_the_installed_wheel_migrates_and_renders_without_the_source_tree(
    wheel: zipfile.ZipFile, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    wheel.extractall(site)
    script = (
        "import service, sys\n"
        "from service.storage.engine import Database\n"
        "from service.storage.migrate import upgrade, is_current\n"
        "from jinja2 import Environment, PackageLoader\n"
        "assert service.__file__.startswith(sys.argv[1]), service.__file__\n"
        "db = Database(sys.argv[2]); upgrade(db); assert is_current(db)\n"
        "loader = PackageLoader('service.outputs.digest', 'templates')\n"
        "for name in ('digest.html.j2', 'digest.txt.j2'):\n"
        "    Environment(loader=loader).get_template(name)\n"
        "print('ok')\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, str(site), f"sqlite:///{tmp_path / 'db.sqlite'}"],
        env={"PYTHONPATH": str(site), "PATH": "/usr/bin:/bin"},
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip() == "ok", done.stderr
