"""The worker: periodic jobs on an APScheduler 3.x scheduler; the poll job claims and polls.

    compose    the one assembly of fetcher, host limiter, pipeline and poller from settings
               (the command line's ``poll`` and ``ingest`` use it too); the worker's job list
    poller     leases due sources and polls them, a batch at a time
    scheduler  ``Job`` and ``Worker``: ticks, graceful stop
    jobs       digests, housekeeping, retraining the topic model, trends
    signals    SIGTERM / SIGINT

    every tick:  claim_due (leases, a batch) | pipeline.poll | apply_poll (clears each lease)
                 ... the next batch, until nothing is due

Several workers (processes, machines) share one database safely: a source is polled by whoever
holds its lease, and host turns (per-host limit, arXiv's 3 s) live in the database too. The
scheduler only ticks; it keeps no state of its own (APScheduler job stores cannot be shared by
several schedulers, and a scheduler inside each uvicorn worker would run every job once per
worker), so ``staycurrent serve`` embeds one worker beside the API and ``staycurrent worker`` runs
any number of them.

Stopping (SIGTERM, SIGINT, or the API's shutdown): jobs are told to stop (no new fetch starts),
fetches in flight get ``grace`` seconds to finish, then are abandoned; leases are given back.
"""
