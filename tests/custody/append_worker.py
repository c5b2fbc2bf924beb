"""A separate process appending custody events as fast as it can (for the concurrency test).

Usage: python -m tests.custody.append_worker DATABASE_URL SECONDS WORKER SHARED_ITEM OWN_ITEM
Alternates between the item every worker shares and one of its own; prints how many appends
committed, so the test can check that none was lost.
"""

from __future__ import annotations

import sys
import time
import uuid

from custody.log.append import append_event
from custody.log.kinds import EventKind
from vault.db import make_engine, make_session_factory, unit_of_work


def main() -> None:
    url, seconds, worker, shared, own = sys.argv[1:6]
    engine = make_engine(url)
    factory = make_session_factory(engine)
    items = [uuid.UUID(shared), uuid.UUID(own)]
    committed = 0
    deadline = time.monotonic() + float(seconds)
    while time.monotonic() < deadline:
        with unit_of_work(factory) as session:
            append_event(
                session,
                item_id=items[committed % 2],
                kind=EventKind.FIXITY_OK,
                actor=f"test:{worker}",
                data={"worker": worker, "n": committed},
            )
        committed += 1
    engine.dispose()
    print(committed)


if __name__ == "__main__":
    main()
