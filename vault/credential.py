"""Which credential the current request or command came through (a token's public prefix),
so every custody entry it appends names it: two people sharing an account, or an admin
minting tokens, show up as different tokens. Set by the HTTP API's authentication and by the
CLI's --token; a context variable, so concurrent requests never see each other's."""

from __future__ import annotations

from contextvars import ContextVar

current_token: ContextVar[str | None] = ContextVar("current_token", default=None)
