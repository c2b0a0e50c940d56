"""The inbound message contract, stored row types and ClickHouse migrations."""
