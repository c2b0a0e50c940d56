"""Emerging-issue detection in the stream: volume spikes, negative share, emerging phrases.

The dataflow's ``detect`` step (:mod:`flows.detect.flow`) turns enriched messages into
revisions of ``alerts`` rows and ``late_items`` rows:

- :mod:`~flows.detect.signals`: what a detector sees of a message (customer voice only; a
  chat conversation is one unit) and the keys it counts for: topic, topic @ channel,
  topic / brand, topic / brand / product.
- :mod:`~flows.detect.phrases`: candidate phrases, syllable 2-4 grams of the normalized
  text without stop phrases (``resources/stop_phrases.txt``), compared without diacritics.
- :mod:`~flows.detect.clock`: the event-time clock of one input partition's minute windows.
- :mod:`~flows.detect.merge`: closing a global minute once every partition is past it.
- :mod:`~flows.detect.monitors`: per-key baselines (share of traffic and own count),
  scores and the k-of-n / resolve state machine.
- :mod:`~flows.detect.bursts`: phrase baselines (bounded, decayed) and phrase triggers.
- :mod:`~flows.detect.detector`: one alert per incident (drill-down, explaining away,
  grouping, cooldown), severities, top terms, samples, revisions.
- :mod:`~flows.detect.config`: every threshold, documented.

Keying and lateness
-------------------

Windows are keyed by input partition, each with its own event-time clock, because
partitions advance at different event-time speeds (a fast replay runs hours of event time
in seconds, and two workers do not keep pace): a shared clock would make the slower
partition's messages late and lose counts. Inside a partition, a message more than
``wait_s`` (20 s) behind the newest one is late: it is stored in ``messages`` as always,
written to ``late_items`` and not counted. The per-partition minutes are merged into global
minutes once every partition is past them (:mod:`~flows.detect.merge`).

Trade-off: detection delay is measured in event time (an alert opens at the end of the
minute whose data completed its evidence), but in live traffic each minute reaches the
detector ``wait_s`` after its end (plus ``idle_grace_s`` for a partition that has gone
quiet, plus the micro-batch deadline): a larger ``wait_s`` tolerates more disorder inside a
partition and delays every alert by as much in wall-clock time.
"""
