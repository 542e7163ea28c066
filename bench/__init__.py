"""Staycurrent's benchmarks: ``make bench`` (``python -m bench``) runs them and writes a report.

Every benchmark measures itself against a baseline run in the same process or run (plain
``feedparser.parse`` on the same bytes, the ideal time of a polling round, ``/healthz`` on the
same server) and states its targets as ratios or limits checked against what it measured. The
numbers go to ``bench/results/latest.json`` and ``latest.md``; the README's "Performance" section
quotes them. ``make test`` smoke-runs each benchmark on tiny inputs (``--tiny``) so none can rot.

A benchmark is a module of this package with ``NAME`` (its ``--only`` name), ``TITLE`` and
``run(ctx: Context) -> Section``.
"""
