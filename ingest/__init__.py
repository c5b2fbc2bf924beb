"""Docking-station adapters, stable-file detection, the ingestion pipeline and daemon."""
