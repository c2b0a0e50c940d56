"""Grafana as code for voc-stream: boards, datasource and alerting provisioning.

- :mod:`grafana.query`: the ClickHouse dataquery type the foundation SDK lacks;
- :mod:`grafana.boards`: the four boards, built with ``grafana-foundation-sdk``;
- :mod:`grafana.alerting`: the alert rules (SQL, thresholds, labels, annotations);
- :mod:`grafana.build`: writes ``dashboards/*.json`` and ``provisioning/alerting/rules.yaml``
  (``make grafana``), or checks them (``--check``);
- :mod:`grafana.macros`: expands queries the way Grafana and the ClickHouse plugin do, so
  tests run every query on embedded ClickHouse.

The generated files are committed; a test fails when they differ from a fresh build.
Importing this package reads nothing and needs no Grafana server.
"""
