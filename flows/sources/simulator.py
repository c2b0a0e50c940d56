"""The feedback simulator (the top-level ``simulator`` package) as a source of the dataflow."""

from __future__ import annotations

import dataclasses
import itertools
import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from bytewax.inputs import FixedPartitionedSource, StatefulSourcePartition

from flows.records import RawRecord, Record
from simulator.config import SimulationConfig, default_start
from simulator.generator import Simulator
from simulator.incidents import parse_incident_spec

if TYPE_CHECKING:
    from flows.settings import Settings

#: Messages handed to the flow per poll when running as fast as possible.
MESSAGES_PER_BATCH = 500


def corrupt(message: dict[str, Any], k: int) -> bytes:
    """A deterministic malformed payload, one of the kinds real sources send."""
    line = json.dumps(message, ensure_ascii=False).encode("utf-8")
    kind = k % 4
    if kind == 0:
        return line[: len(line) // 2]  # cut off mid-object
    if kind == 1:
        return json.dumps({k: v for k, v in message.items() if k != "created_at"}).encode()
    if kind == 2:
        return line.replace(b'"text": "', b'"text": "\xff\xfe', 1)  # invalid UTF-8
    return b"[" + line + b"]"  # an array, not an object


class _SimulatorPartition(StatefulSourcePartition[Record, int]):
    def __init__(
        self,
        simulator: Simulator,
        partition: int,
        partitions: int,
        rate: float | None,
        malformed_every: int,
        resume: int | None,
    ):
        self._origin = f"simulator/{partition}"
        self._sent = resume or 0
        self._stream: Iterator[dict[str, Any]] = simulator.messages(
            partition, partitions, skip=self._sent
        )
        self._rate = rate / partitions if rate else None
        self._malformed_every = malformed_every
        self._began = time.monotonic()
        self._first = self._sent
        self._awake: datetime | None = None

    def next_batch(self) -> list[Record]:
        limit = MESSAGES_PER_BATCH
        if self._rate is not None:
            due = self._first + int((time.monotonic() - self._began) * self._rate)
            limit = min(limit, due - self._sent)
            if limit <= 0:
                wait = (self._sent + 1 - self._first) / self._rate - (
                    time.monotonic() - self._began
                )
                self._awake = datetime.now(UTC) + timedelta(seconds=max(wait, 0.001))
                return []
        self._awake = None
        out: list[Record] = []
        for message in itertools.islice(self._stream, limit):
            self._sent += 1
            payload: bytes | dict[str, Any] = message
            if self._malformed_every and self._sent % self._malformed_every == 0:
                payload = corrupt(message, self._sent // self._malformed_every)
            out.append(RawRecord(self._origin, self._sent, payload))
        if not out:
            raise StopIteration
        return out

    def next_awake(self) -> datetime | None:
        return self._awake

    def snapshot(self) -> int:
        return self._sent


class SimulatorSource(FixedPartitionedSource[Record, int]):
    """Simulated reviews, chats and social mentions (see ``voc simulate``).

    Unit of parallelism: a simulator partition; partition ``i`` of ``n`` yields exactly the
    messages of the global stream that fall to it, in event-time order. Delivery: the stream is
    deterministic for a config, so after a restart a partition regenerates and skips what it
    had sent (exactly the same messages). With ``rate`` the partitions together emit that many
    messages per second of wall time; otherwise as fast as the flow takes them.
    ``malformed_every`` replaces every N-th payload with a malformed one (demo of the
    dead-letter path).
    """

    def __init__(
        self,
        config: SimulationConfig,
        partitions: int = 1,
        *,
        rate: float | None = None,
        malformed_every: int = 0,
    ):
        start = config.start or default_start(config.hours)
        self.config = dataclasses.replace(config, start=start, rate=None, realtime=False)
        self._partitions = partitions
        self._rate = rate
        self._malformed_every = malformed_every

    @classmethod
    def from_settings(cls, settings: Settings) -> SimulatorSource:
        """The source the ``VOC_SIMULATOR_*`` settings describe."""
        return cls(
            simulation_config(settings),
            settings.simulator_partitions,
            rate=settings.simulator_rate,
            malformed_every=settings.simulator_malformed_every,
        )

    def expected_count(self) -> int:
        """How many payloads the whole stream holds (for progress displays)."""
        return Simulator(self.config).count()

    def list_parts(self) -> list[str]:
        """``simulator/0`` ... ``simulator/<n-1>``."""
        return [f"simulator/{i}" for i in range(self._partitions)]

    def build_part(
        self, step_id: str, for_part: str, resume_state: int | None
    ) -> _SimulatorPartition:
        """Start (or resume) one partition of the simulated stream."""
        index = int(for_part.rsplit("/", 1)[1])
        return _SimulatorPartition(
            Simulator(self.config),
            index,
            self._partitions,
            self._rate,
            self._malformed_every,
            resume_state,
        )


def simulation_config(settings: Settings) -> SimulationConfig:
    """The simulation the ``VOC_SIMULATOR_*`` settings describe.

    Incident offsets (``at=4h``) count from the start, which is resolved here when
    incidents are given (and later, by the source, otherwise).
    """
    specs = [s.strip() for s in settings.simulator_incidents.split(";") if s.strip()]
    start = settings.simulator_start
    if specs and start is None:
        start = default_start(settings.simulator_hours)
    incidents = [
        parse_incident_spec(spec, start=start, default_id=f"incident-{n}")
        for n, spec in enumerate(specs, start=1)
        if start is not None
    ]
    return SimulationConfig(
        seed=settings.simulator_seed,
        start=start,
        hours=settings.simulator_hours,
        messages=settings.simulator_messages,
        rate=settings.simulator_rate,
        incidents=tuple(incidents),
    )
