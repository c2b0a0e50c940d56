"""Bytewax dataflows, sources, sinks, the voc CLI and settings."""
