"""Fixity: every stored copy re-hashed on a schedule, and repair from the other copy."""
