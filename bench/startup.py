"""CLI start-up: the CPU seconds a ``staycurrent`` call costs before and while doing its work.

Each command runs as a child process (the installed console script's Python, ``-m service.cli``)
several times; its CPU time (user + system, from ``wait4``'s resource usage of that child alone)
is reported as the median, beside ``python -c pass`` measured the same way in the same run (the
interpreter's own start-up on this machine, at this load).

Targets (issue 15): ``--version`` and ``--help`` at most 0.15 s, ``items list`` on an empty
database at most 0.5 s.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
from pathlib import Path

from bench.report import Context, Section, Table, Target

NAME = "startup"
TITLE = "CLI start-up: CPU seconds per call"
LIMITS = {"--version": 0.15, "--help": 0.15, "items list (empty database)": 0.5}


def cpu_seconds(argv: list[str], env: dict[str, str]) -> float:
    """User + system CPU seconds of one run of ``argv`` (that child process only)."""
    child = subprocess.Popen(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    _, status, usage = os.wait4(child.pid, 0)
    child.returncode = os.waitstatus_to_exitcode(status)
    errors = child.stderr.read() if child.stderr else ""
    if child.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({child.returncode}): {errors[-500:]}")
    return usage.ru_utime + usage.ru_stime


def _median(argv: list[str], env: dict[str, str], runs: int) -> float:
    return statistics.median(cpu_seconds(argv, env) for _ in range(runs))


def _empty_database(workdir: Path, env: dict[str, str]) -> None:
    cli = [sys.executable, "-m", "service.cli"]
    subprocess.run([*cli, "db", "upgrade"], env=env, check=True, capture_output=True)


def run(ctx: Context) -> Section:
    runs = 3 if ctx.tiny else 9
    env = {
        **os.environ,
        "STAYCURRENT_DATABASE_URL": f"sqlite:///{ctx.workdir / 'empty.db'}",
        "STAYCURRENT_DATA_DIR": str(ctx.workdir / "data"),
    }
    _empty_database(ctx.workdir, env)
    cli = [sys.executable, "-m", "service.cli"]
    commands = {
        "python -c pass (baseline)": [sys.executable, "-c", "pass"],
        "--version": [*cli, "--version"],
        "--help": [*cli, "--help"],
        "items list (empty database)": [*cli, "items", "list"],
    }
    measured = {name: _median(argv, env, runs) for name, argv in commands.items()}
    baseline = measured["python -c pass (baseline)"]
    rows = tuple(
        (name, round(seconds, 3), round(seconds - baseline, 3), LIMITS.get(name, "-"))
        for name, seconds in measured.items()
    )
    targets = tuple(
        Target(
            name=f"staycurrent {name}",
            wanted=f"<= {limit} s CPU",
            measured=f"{measured[name]:.3f} s (baseline python -c pass {baseline:.3f} s)",
            met=measured[name] <= limit,
        )
        for name, limit in LIMITS.items()
    )
    return Section(
        name=NAME,
        title=TITLE,
        numbers={name: round(seconds, 3) for name, seconds in measured.items()},
        tables=(
            Table(
                title=f"median of {runs} runs, user + system CPU of the child process",
                columns=("command", "CPU s", "above baseline s", "target s"),
                rows=rows,
            ),
        ),
        targets=targets,
        notes=(
            "CPU time, not wall time: it does not count waiting for a busy machine's cores, "
            "but a loaded machine still slows each instruction (shared caches, hyper-threads).",
        ),
    )
