"""The custody record, in three rooms.

log       canonical events in per-item hash chains under a gapless global seq, the Merkle tree,
          signed checkpoints, time stamps, keys, proofs and verification
access    access requests and decisions, the one delivery function, watermarked copies
fixity    the fixity schedule, checks, and repair from the other copy
"""
