"""A realistic, deterministic simulator of Vietnamese customer feedback (``voc simulate``).

It feeds the demo, the throughput and latency benchmarks and the alert-quality benchmark::

    from simulator import SimulationConfig, Simulator, Incident

    sim = Simulator(SimulationConfig(seed=7, start=start, hours=6, messages=24_000,
                                     random_incidents=4))
    for message in sim.messages(partition=0, partitions=2):
        ...                         # dicts that validate as schemas.message.InboundMessage
    sim.write_ground_truth(Path("truth.json"))

Importing this package reads nothing: the YAML tables under ``resources/`` are read when the
first :class:`Simulator` is built.
"""

from simulator.config import SimulationConfig, default_start
from simulator.generator import Simulator, Truth
from simulator.incidents import (
    Incident,
    Surge,
    event_from_json,
    load_ground_truth,
    load_incidents_file,
    parse_duration,
    parse_incident_spec,
    parse_surge_spec,
)

__all__ = [
    "Incident",
    "SimulationConfig",
    "Simulator",
    "Surge",
    "Truth",
    "default_start",
    "event_from_json",
    "load_ground_truth",
    "load_incidents_file",
    "parse_duration",
    "parse_incident_spec",
    "parse_surge_spec",
]
