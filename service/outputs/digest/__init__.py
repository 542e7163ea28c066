"""The email digest: when (schedule), what (compose), how it looks (render), the email (message),
sending it (send) and the one orchestrator that does it exactly once per period (run).

The worker calls ``run_due_digests(db, settings, now)`` every minute.
"""

from service.outputs.digest.run import DigestResult, run_due_digests

__all__ = ["DigestResult", "run_due_digests"]
