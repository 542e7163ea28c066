"""lemon24/reader polling the same feeds, for the polling benchmark's baseline (a child process).

    python -m bench.readerpoll DATABASE URLS_FILE WORKERS

Adds every URL of URLS_FILE (one a line) to a fresh reader database, then updates all feeds twice
with ``update_feeds(workers=WORKERS, scheduled=False)``: round 1 finds every feed new (200s),
round 2 sends the validators reader stored (304s). Prints one JSON line: each round's wall seconds
and CPU seconds of this process (all its threads, ``getrusage``), and its peak RSS (``ru_maxrss``).
"""

from __future__ import annotations

import json
import resource
import sys
import time
from pathlib import Path

from reader import make_reader


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main(argv: list[str]) -> int:
    database, urls_file, workers = argv[0], Path(argv[1]), int(argv[2])
    started_cpu = _cpu()
    reader = make_reader(database)
    for url in urls_file.read_text().split():
        reader.add_feed(url, exist_ok=True)
    figures: dict[str, float] = {"startup_cpu_seconds": _cpu() - started_cpu}
    for number in (1, 2):
        wall, cpu = time.perf_counter(), _cpu()
        reader.update_feeds(workers=workers, scheduled=False)
        figures[f"round{number}_seconds"] = time.perf_counter() - wall
        figures[f"round{number}_cpu_seconds"] = _cpu() - cpu
    figures["entries"] = float(reader.get_entry_counts().total or 0)
    figures["peak_rss_bytes"] = float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024)
    reader.close()
    print(json.dumps(figures))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
