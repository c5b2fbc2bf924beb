"""The shapes of names people type (user names, case numbers): plain patterns with no database
import, shared by the services that enforce them and the API schemas that describe them."""

from __future__ import annotations

import re

# Letters and digits of any script, and the marks login names use; no space, control or
# formatting character (a name is shown in custody records and on terminals).
USERNAME_PATTERN = r"^[\w.@+\-]{1,100}$"

# Letters and digits of any script (a court's number reads "(2026)京0108刑初117号"), the
# brackets such numbers use, "-", "_", ".", "#" and spaces; it starts with a letter, digit or
# bracket and holds no "..": it appears in URLs and file names and must never act as a path.
CASE_NUMBER = re.compile(r"[\w(\uff08\u3014][\w()\uff08\uff09\u3014\u3015\-.# ]{0,99}")
# The same rule for the OpenAPI description (the number is stripped before it is matched).
CASE_NUMBER_PATTERN = rf"^(?!.*\.\.)\s*{CASE_NUMBER.pattern}\s*$"
CASE_NUMBER_RULE = (
    "a case number is 1-100 characters: letters and digits of any script, round brackets"
    " (half- or full-width), tortoise-shell brackets, '-', '_', '.', '#' and spaces, starting"
    " with a letter, digit or opening bracket, without '..'"
)
