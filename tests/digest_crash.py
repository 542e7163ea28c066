"""Run by the crash tests as a separate process, then SIGKILLed at a chosen stage of a delivery.

    python tests/digest_crash.py '<json>'   with keys: mode, database_url, now, profile_id,
                                             period, item_ids, settings (mode "smtp")

- ``claimed``: claim the period (pending, leased), print "ready", wait to be killed;
- ``sending``: claim and move to sending (committed, items recorded), print "ready", wait;
- ``smtp``: run the real ``run_due_digests`` against a test SMTP server that holds its answer
  to DATA; the test kills this process once the server has the message.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import datetime, timedelta

from service.config import Settings
from service.outputs.digest.run import run_due_digests
from service.storage.deliveries import begin_sending, claim_delivery
from service.storage.engine import Database

LEASE = timedelta(minutes=5)


def _claim_and_wait(job: dict[str, object], db: Database, now: datetime) -> None:
    claim = claim_delivery(
        db,
        profile_id=int(job["profile_id"]),  # type: ignore[call-overload]
        period=str(job["period"]),
        claimant="doomed-worker",
        now=now,
        lease=LEASE,
    )
    assert claim is not None, "the period was not free"
    if job["mode"] == "sending":
        items = [int(i) for i in job["item_ids"]]  # type: ignore[attr-defined]
        moved = begin_sending(
            db, claim=claim, item_ids=items, minutes=6, message_id="<m@x>", now=now, lease=LEASE
        )
        assert moved
    print("ready", flush=True)
    time.sleep(600)


def main() -> None:
    job = json.loads(sys.argv[1])
    db = Database(job["database_url"], pool_size=1)
    now = datetime.fromisoformat(job["now"])
    if job["mode"] in ("claimed", "sending"):
        _claim_and_wait(job, db, now)
        return
    settings = Settings(**job["settings"])
    print("ready", flush=True)
    run_due_digests(db, settings, now)


if __name__ == "__main__":
    main()
