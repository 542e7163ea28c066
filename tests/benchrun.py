"""Run one benchmark section as ``make bench`` would, on tiny inputs, and read its report.

The smoke tests of ``bench/`` use it: each runs ``python -m bench --only NAME --tiny`` into a
folder of its own (the repository's results are never touched) and checks what was measured.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def bench_report(name: str, out: Path, *args: str, timeout: float = 300) -> dict[str, Any]:
    """The whole report (``latest.json``) of ``python -m bench --only NAME --tiny ARGS``."""
    subprocess.run(
        [sys.executable, "-m", "bench", "--only", name, "--tiny", *args, "--out", str(out)],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    report: dict[str, Any] = json.loads((out / "latest.json").read_text())
    return report


def bench_section(name: str, out: Path, *args: str, timeout: float = 300) -> dict[str, Any]:
    """The one section a run of benchmark ``name`` reports."""
    [section] = bench_report(name, out, *args, timeout=timeout)["sections"]
    assert section["name"] == name
    return dict(section)
