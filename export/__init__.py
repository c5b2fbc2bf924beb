"""Court submission export (`evault export`): a BagIt package that proves itself offline.

spec       what is asked for, and whether the approved request allows it
payload    the files: verified originals, renditions, clips, frame hashes, provenance
evidence   the custody chains, inclusion proofs and the checkpoint they prove into
report     the signed bilingual chain-of-custody report with its certification
package    the whole run: payload, checkpoint, evidence, report, bag, ZIP
verify     the standalone verifier copied into every package (standard library only)
"""
