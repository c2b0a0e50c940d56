"""Sinks of the dataflow: one module per sink."""
