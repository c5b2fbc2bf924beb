"""Access to the bytes (invariant 3): requests and decisions, the one delivery function,
handing items over, watermarked copies, and releasing a recording the virus check flagged."""
