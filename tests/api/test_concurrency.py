"""A burst of requests larger than the worker threads and the database pool together.

Before requests waited for a database slot without holding a thread, such a burst filled
every worker thread with requests waiting for a pooled connection while the requests holding
the connections waited for a thread: the API stopped answering (found by bench/api.py).
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx

from api.http.app import create_app
from tests.conftest import make_vault, put_clip
from vault import accounts
from vault.db import unit_of_work

# anyio's default worker-thread limit is 40; the pool below holds 2 + 2 overflow connections.
BURST = 120


def test_a_burst_beyond_threads_and_pool_is_answered_in_full(
    isolated_env: Path, clip_dir: Path
) -> None:
    vault = make_vault(isolated_env / "small-pool", db_pool_size=2)
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "CAM1_P1001_20261124T093000.mp4")
    vault.ingest()
    item = vault.items()[0]
    with unit_of_work(vault.app.factory) as session:
        accounts.add_user(session, username="auditor", roles=["auditor"])
        token = accounts.issue_token(session, username="auditor").secret
    headers = {"Authorization": f"Bearer {token}"}
    paths = [f"/items/{item.id}", f"/items/{item.id}/custody", "/health", "/items"]

    async def burst() -> list[int]:
        transport = httpx.ASGITransport(app=create_app(vault.app))
        async with httpx.AsyncClient(transport=transport, base_url="http://vault") as client:
            answers = await asyncio.gather(
                *(client.get(paths[n % len(paths)], headers=headers) for n in range(BURST))
            )
        return [a.status_code for a in answers]

    try:
        statuses = asyncio.run(burst())
    finally:
        vault.app.engine.dispose()
    # A stall ends in the pool's timeout: 500s instead of answers.
    assert statuses == [200] * BURST
