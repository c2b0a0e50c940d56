"""A request to stop the flow gracefully, made by SIGINT or SIGTERM (see ``run_flow``).

When it is made, every source partition of this process ends at its next poll (the items it
has read go on as a last micro-batch), the batches in flight are enriched and written, and
the run ends as if the input had ended, except that the detector keeps its open windows
instead of closing them, so that with recovery the next run continues them. With a
recovery directory the final snapshot records where each partition stopped, and the next
run resumes there.
"""

from __future__ import annotations

import threading

_requested = threading.Event()
_reason = ""


def request_stop(reason: str) -> None:
    """Ask the running flow to stop at the next micro-batch boundary (``reason``: a signal)."""
    global _reason  # one flow runs per process; its signal handler calls this
    _reason = reason
    _requested.set()


def stop_requested() -> bool:
    """Whether a stop was asked for since the run began."""
    return _requested.is_set()


def stop_reason() -> str:
    """What asked for the stop (``SIGTERM``, ``SIGINT``), or ``""``."""
    return _reason if _requested.is_set() else ""


def clear_stop() -> None:
    """Forget an earlier request (a new run begins)."""
    global _reason  # see request_stop
    _requested.clear()
    _reason = ""
