"""Retention classes and rules, legal holds, appraisal and destruction (to be built)."""
