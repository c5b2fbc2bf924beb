"""The custody log: canonical events in per-item hash chains under a gapless global seq."""
