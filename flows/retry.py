"""Retrying a write with capped exponential backoff and jitter.

A sink hands :func:`retry` one attempt as a callable. A :class:`SinkRetryableError`
(unreachable, overloaded, timed out) is retried after ``min(max, initial * 2**(n-1))``
seconds, of which a random half is jitter, so that workers which failed together do not
retry together. A :class:`SinkFatalError` (or any other error) is raised at once. By default
retryable errors are retried for ever: the flow stops reading while the sink waits
(back-pressure) and loses nothing; ``give_up_s`` bounds the outage the flow will wait out.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

from schemas.errors import SinkRetryableError

if TYPE_CHECKING:
    from flows.settings import Settings

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait between attempts, and when to give up."""

    initial_s: float = 0.5
    max_s: float = 30.0
    give_up_s: float = 0.0
    """Give up once the first failure is this old (0: never)."""

    def __post_init__(self) -> None:
        if not 0 < self.initial_s <= self.max_s:
            msg = f"backoff needs 0 < initial_s <= max_s, got {self.initial_s} and {self.max_s}"
            raise ValueError(msg)
        if self.give_up_s < 0:
            msg = f"give_up_s must be 0 (never) or positive, got {self.give_up_s}"
            raise ValueError(msg)

    @classmethod
    def from_settings(cls, settings: Settings) -> Backoff:
        """The sink retry policy of the ``VOC_SINK_*`` settings."""
        return cls(
            settings.sink_retry_initial_s, settings.sink_retry_max_s, settings.sink_give_up_s
        )

    def delay(self, failures: int, rng: random.Random) -> float:
        """Seconds to wait after the ``failures``-th failure in a row (1-based)."""
        ceiling = min(self.max_s, self.initial_s * 2.0 ** min(failures - 1, 62))
        return ceiling / 2 + rng.uniform(0, ceiling / 2)


@dataclass(frozen=True, slots=True)
class Outcome:
    """How a write that eventually succeeded went."""

    attempts: int
    """1 when the first attempt succeeded."""
    first_failure: float | None
    """``time.time()`` of the first failed attempt, if any."""
    downtime_s: float
    """Seconds from the first failed attempt to the success (0 without failures)."""
    last_error: str


def retry(
    attempt: Callable[[], T],
    backoff: Backoff,
    what: str,
    *,
    who: str = "",
    rng: random.Random | None = None,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.time,
) -> tuple[T, Outcome]:
    """Call ``attempt`` until it succeeds, waiting out :class:`SinkRetryableError`.

    ``what`` names the write ("insert into messages") and ``who`` the writer ("process 0")
    in log lines. Each failure logs one warning with the error, the attempt number and the
    wait; the first success after failures logs how long the outage lasted. Raises a
    :class:`SinkRetryableError` if the outage outlasts ``backoff.give_up_s``; any other
    error propagates at once.
    """
    rng = rng or random.Random()  # noqa: S311 - jitter, not cryptography
    prefix = f"{who}: " if who else ""
    failures = 0
    first: float | None = None
    last_error = ""
    while True:
        try:
            result = attempt()
        except SinkRetryableError as exc:
            now = clock()
            failures += 1
            first = now if first is None else first
            last_error = str(exc)
            if backoff.give_up_s and now - first >= backoff.give_up_s:
                log.error(  # noqa: TRY400 - raised next; a traceback would add nothing
                    "%s%s: giving up after %d attempts over %.1f s: %s",
                    prefix, what, failures, now - first, last_error,
                )  # fmt: skip
                msg = (
                    f"{what} failed for {now - first:.1f} s ({failures} attempts), longer than "
                    f"VOC_SINK_GIVE_UP_S={backoff.give_up_s:g}; last error: {last_error}"
                )
                raise SinkRetryableError(msg) from exc
            wait = backoff.delay(failures, rng)
            log.warning("%s%s; retrying in %.2f s (attempt %d)", prefix, last_error, wait, failures)
            sleep(wait)
            continue
        if first is None:
            return result, Outcome(1, None, 0.0, "")
        downtime = clock() - first
        log.warning(
            "%s%s succeeded again after %.1f s and %d attempts",
            prefix, what, downtime, failures + 1,
        )  # fmt: skip
        return result, Outcome(failures + 1, first, downtime, last_error)
