"""Ingest: docking-station adapters (local, FTP/FTPS, SFTP), stable-file detection, claims,
the pipeline (invariant 1) and daemon, the 24-hour deadline (one Deadline rule) with its
alerts, SLA and monthly compliance report, recording gaps, and the virus check."""
