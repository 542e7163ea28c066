"""``make run`` installs the runtime only; ``make test`` adds the development tools and the
benchmarks' baselines; each stamp says its install is done, so a second run installs nothing (read
with ``make -n``, which prints the commands a target would run without running them)."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUNTIME_INSTALL = "pip install --quiet -e .\n"
DEV_INSTALL = "pip install --quiet -e '.[dev,bench]'"

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="make is not installed")


@pytest.fixture
def clone(tmp_path: Path) -> Path:
    """The files the Makefile reads, in a folder without a .venv (a fresh clone)."""
    for name in ("Makefile", "pyproject.toml", "requirements.lock"):
        shutil.copy2(ROOT / name, tmp_path / name)
    return tmp_path


def planned(folder: Path, target: str) -> str:
    done = subprocess.run(
        ["make", "-n", target], cwd=folder, capture_output=True, text=True, timeout=60, check=True
    )
    return done.stdout


def _stamp(folder: Path, target: str) -> None:
    """Make the stamps ``target`` creates, as its real run would (``make -n`` only prints)."""
    venv = folder / ".venv"
    venv.mkdir(exist_ok=True)
    for line in planned(folder, target).splitlines():
        if line.startswith("touch .venv/"):
            (folder / line.removeprefix("touch ")).touch()


def test_make_run_installs_the_runtime_only(clone: Path) -> None:
    plan = planned(clone, "run")
    assert RUNTIME_INSTALL in plan
    assert DEV_INSTALL not in plan
    assert "staycurrent serve" in plan


def test_make_test_adds_the_development_tools(clone: Path) -> None:
    plan = planned(clone, "test")
    assert RUNTIME_INSTALL in plan and DEV_INSTALL in plan
    assert plan.index(RUNTIME_INSTALL) < plan.index(DEV_INSTALL)
    assert "ruff check" in plan and "pytest" in plan


def test_each_install_happens_once(clone: Path) -> None:
    _stamp(clone, "run")
    assert "pip install" not in planned(clone, "run")
    plan = planned(clone, "test")
    assert DEV_INSTALL in plan and RUNTIME_INSTALL not in plan  # the runtime is there already
    _stamp(clone, "test")
    assert "pip install" not in planned(clone, "test")
    assert "pip install" not in planned(clone, "run")


def test_a_changed_lock_installs_again(clone: Path) -> None:
    _stamp(clone, "test")
    with (clone / "requirements.lock").open("a") as lock:
        lock.write("# changed\n")
    assert RUNTIME_INSTALL in planned(clone, "run")
    assert DEV_INSTALL in planned(clone, "test")
