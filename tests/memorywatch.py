"""Resident memory of processes, read from ``/proc`` (Linux): now, and the peak during a call.

``peak_growth(run)`` resets this process's high-water mark (``/proc/self/clear_refs``, Linux
4.0+), runs ``run`` and returns how far resident memory rose above where it started: C
allocations (libxml2, zlib, the database drivers) count as well as Python objects.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")
_FIELD = re.compile(r"^(Vm\w+):\s+(\d+) kB$", re.M)


def memory_fields(pid: int | str = "self") -> dict[str, int]:
    """The ``Vm*`` lines of ``/proc/<pid>/status``, in bytes."""
    text = Path(f"/proc/{pid}/status").read_text()
    return {name: int(kib) * 1024 for name, kib in _FIELD.findall(text)}


def rss(pid: int | str = "self") -> int:
    """Resident set size of ``pid`` now, in bytes."""
    return memory_fields(pid)["VmRSS"]


def peak_growth(run: Callable[[], T]) -> tuple[T, int]:
    """``run()``'s result and the peak resident memory it added, in bytes."""
    Path("/proc/self/clear_refs").write_text("5")
    before = rss()
    result = run()
    return result, max(0, memory_fields()["VmHWM"] - before)
