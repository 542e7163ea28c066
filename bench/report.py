"""What a benchmark returns, the machine it ran on, and the JSON and Markdown reports."""

from __future__ import annotations

import json
import os
import platform
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT.parent / "shared" / "corpus"
TESTS = ROOT / "tests"


@dataclass(frozen=True)
class Context:
    """What every benchmark gets: sizes (``tiny`` for smoke runs), a scratch folder, a logger."""

    tiny: bool
    scales: tuple[int, ...]
    workdir: Path
    corpus: Path = CORPUS
    log: Callable[[str], None] = print


@dataclass(frozen=True)
class Target:
    """A target of the issue: what it asks, what was measured, and whether it was met."""

    name: str
    wanted: str
    measured: str
    met: bool


@dataclass(frozen=True)
class Table:
    """A table of measurements: column names and rows of values (numbers or words)."""

    title: str
    columns: tuple[str, ...]
    rows: tuple[tuple[Any, ...], ...]


@dataclass(frozen=True)
class Section:
    """One benchmark's result: named numbers, tables, targets and notes in words."""

    name: str
    title: str
    numbers: dict[str, float] = field(default_factory=dict)
    tables: tuple[Table, ...] = ()
    targets: tuple[Target, ...] = ()
    notes: tuple[str, ...] = ()
    seconds: float = 0.0


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _memory_gib() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return 0.0


def _commit() -> str:
    try:
        out = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        )
        return out.stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine() -> dict[str, Any]:
    """Where the numbers came from: CPU, cores, memory, Python, SQLite and library versions."""
    load = os.getloadavg() if hasattr(os, "getloadavg") else (0.0, 0.0, 0.0)
    return {
        "cpu": _cpu_model(),
        "cores": os.cpu_count() or 1,
        "memory_gib": _memory_gib(),
        "os": f"{platform.system()} {platform.release()}",
        "python": sys.version.split()[0],
        "sqlite": sqlite3.sqlite_version,
        "packages": {
            name: _version(name)
            for name in ("feedparser", "lxml", "httpx", "sqlalchemy", "fastapi", "uvicorn")
        },
        "load_average_at_start": [round(x, 2) for x in load],
    }


def _cell(value: Any) -> str:
    if isinstance(value, float):
        if value == 0:
            return "0"
        if abs(value) >= 100:
            return f"{value:,.0f}"
        if abs(value) >= 10:
            return f"{value:.1f}"
        return f"{value:.2f}"
    if isinstance(value, int) and not isinstance(value, bool):
        return f"{value:,}"
    return str(value)


def markdown(doc: dict[str, Any]) -> str:
    """The report as Markdown: the machine, then each benchmark's targets, tables and notes."""
    m = doc["machine"]
    lines = [
        "# Staycurrent benchmark report",
        "",
        f"Run {doc['started']} at commit `{doc['commit']}`"
        f"{' (tiny smoke sizes)' if doc['tiny'] else ''}, {doc['seconds']:.0f} s in all.",
        "",
        f"Machine: {m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['os']}; "
        f"Python {m['python']}, SQLite {m['sqlite']}; load average at start "
        f"{', '.join(str(x) for x in m['load_average_at_start'])}.",
        "Packages: " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()) + ".",
        "",
    ]
    for s in doc["sections"]:
        lines += [f"## {s['title']}", ""]
        if s["targets"]:
            lines += ["| Target | Wanted | Measured | Met |", "|---|---|---|---|"]
            for t in s["targets"]:
                mark = "yes" if t["met"] else "**no**"
                lines.append(f"| {t['name']} | {t['wanted']} | {t['measured']} | {mark} |")
            lines.append("")
        for table in s["tables"]:
            lines += [f"{table['title']}:", ""]
            lines.append("| " + " | ".join(table["columns"]) + " |")
            lines.append("|" + "---|" * len(table["columns"]))
            for row in table["rows"]:
                lines.append("| " + " | ".join(_cell(v) for v in row) + " |")
            lines.append("")
        for note in s["notes"]:
            lines.append(f"- {note}")
        if s["notes"]:
            lines.append("")
        lines += [f"_{s['seconds']:.0f} s_", ""]
    return "\n".join(lines)


def write(
    out: Path, sections: Sequence[Section], *, tiny: bool, started: datetime, seconds: float
) -> dict[str, Any]:
    """Write ``latest.json`` and ``latest.md`` into ``out``; return the document."""
    doc: dict[str, Any] = {
        "started": started.astimezone(UTC).isoformat(timespec="seconds"),
        "commit": _commit(),
        "tiny": tiny,
        "seconds": round(seconds, 1),
        "machine": machine(),
        "sections": [asdict(s) for s in sections],
    }
    out.mkdir(parents=True, exist_ok=True)
    (out / "latest.json").write_text(json.dumps(doc, indent=2, default=str) + "\n")
    (out / "latest.md").write_text(markdown(doc))
    return doc
