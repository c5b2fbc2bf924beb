"""Retention: the rules that give each item its end (pure), ends that only grow, the policy,
case links and flags that move ends, legal holds, appraisal, and destruction with its signed
register (the only code that deletes evidence)."""
