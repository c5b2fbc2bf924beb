"""The administration log: every administrative act (a user added or disabled, a token issued
or revoked, a retention policy changed) as an append-only, hash-chained entry naming who did
it, covered by the same signed checkpoints as the custody log."""
