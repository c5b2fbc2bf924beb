"""The custody log and its proofs (invariant 4).

Pure: canonical (RFC 8785 events, chain hashes), chain_check, merkle (RFC 9162), signed_note.
I/O: append (the one way an event is written), models and proof_models (rows), merkle_store,
keys, checkpoints, timestamps (RFC 3161), proofs (for outsiders), audit and tree_audit (`evault
verify` / `evault audit verify`), audit_report (the signed PDF).
"""
