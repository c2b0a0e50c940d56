"""Emerging-issue detection in the stream (see flows/detect/flow.py)."""
