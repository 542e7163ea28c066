"""``python -m bench [--only NAME ...] [--tiny] [--scales 20000,200000] [--out DIR]``."""

from __future__ import annotations

import argparse
import importlib
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

from bench.report import ROOT, TESTS, Context, Section, write

# In the order they run; each is a module of this package.
BENCHMARKS = (
    "ingest",
    "polling",
    "api",
    "digest",
    "similar",
    "learning",
    "startup",
    "tagging",
    "trends",
    "web",
    "greader",
)


def _scales(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(x.replace("_", "")) for x in text.split(",") if x.strip())
    except ValueError:
        message = f"--scales wants numbers like 20000,200000, not {text!r}"
        raise argparse.ArgumentTypeError(message) from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError("--scales wants positive item counts")
    return values


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--only", action="append", choices=BENCHMARKS, help="run only these")
    parser.add_argument("--tiny", action="store_true", help="smoke sizes (what make test runs)")
    parser.add_argument(
        "--scales",
        type=_scales,
        default=None,
        help="item counts for the scaling runs (default 20000,200000; add 1000000 to opt in)",
    )
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results")
    args = parser.parse_args(argv)
    scales = args.scales or ((300, 1200) if args.tiny else (20_000, 200_000))
    # The benchmarks reuse the test suite's generators (corpus, feeds, the fixture server).
    sys.path.insert(0, str(TESTS))
    started = datetime.now(UTC)
    t0 = time.perf_counter()
    sections: list[Section] = []
    with tempfile.TemporaryDirectory(prefix="staycurrent-bench-") as tmp:
        for name in args.only or BENCHMARKS:
            module = importlib.import_module(f"bench.{name}")
            workdir = Path(tmp) / name
            workdir.mkdir()
            ctx = Context(tiny=args.tiny, scales=scales, workdir=workdir)
            print(f"bench: {module.TITLE} …", file=sys.stderr, flush=True)
            s0 = time.perf_counter()
            section: Section = module.run(ctx)
            took = time.perf_counter() - s0
            sections.append(
                Section(
                    name=section.name,
                    title=section.title,
                    numbers=section.numbers,
                    tables=section.tables,
                    targets=section.targets,
                    notes=section.notes,
                    seconds=round(took, 1),
                )
            )
            for t in section.targets:
                mark = "met" if t.met else "MISSED"
                print(f"  {mark}: {t.name}: {t.measured} (wanted {t.wanted})", file=sys.stderr)
    doc = write(
        args.out, sections, tiny=args.tiny, started=started, seconds=time.perf_counter() - t0
    )
    print(f"bench: wrote {args.out / 'latest.json'} and latest.md ({doc['seconds']} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
