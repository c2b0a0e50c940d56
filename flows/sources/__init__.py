"""Sources of the dataflow: one module per source, each yielding ``Record`` items.

A source is a Bytewax ``FixedPartitionedSource`` of :data:`~flows.records.Record`. What
the flow may also ask of one is a small protocol here, checked with ``isinstance``.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable


@runtime_checkable
class DeclaresOrigins(Protocol):
    """A source whose records name origins other than its partitions (Kafka).

    The detector waits for every origin to pass a minute before closing it; without this
    capability the partition names are the origins.
    """

    def origins(self) -> list[str]:
        """The ``origin`` of the records of every partition."""
        ...
