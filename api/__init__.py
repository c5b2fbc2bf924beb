"""Interfaces: the `evault` CLI (and, later, the HTTP API)."""
