"""The console's pages against the JSON API, in one run.

    python bench/web.py [--items 10000] [--clients 20] [--seconds 15] [--workers N] [--dir PATH]

Fills a fresh embedded vault (SQLite) with N items as bench/api.py does, adds a custodian with
a console password, serves it with `evault serve --workers N`, signs in as a browser does, and
runs C concurrent clients (wrk) for S seconds on each of: the JSON item list `/items` (the
baseline), the dashboard `/`, the recordings list `/recordings` (first pages, filtered by
device, later pages), and a recording's own page `/recordings/{id}` (random items: the page an
investigator opens most). Prints p50/p99 and requests/s of each, and each page's ratio to
`/items`.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from api.context import open_context  # noqa: E402
from bench.api import fill, load, served, summary  # noqa: E402
from config.settings import Settings  # noqa: E402
from custody.admin import acts  # noqa: E402
from vault.db import unit_of_work  # noqa: E402
from vault.signin import COOKIE  # noqa: E402

PASSWORD = "bench console password"  # noqa: S105 - a throw-away vault's


def add_custodian(data_dir: Path) -> None:
    context = open_context(Settings(data_dir=data_dir), migrate=False)
    with unit_of_work(context.factory) as session:
        acts.add_user(session, actor="bench", username="desk", roles=["custodian"])
        acts.set_password(session, actor="bench", username="desk", password=PASSWORD)
    context.engine.dispose()


def signed_in(base: str) -> str:
    """The session cookie a browser gets from the sign-in form."""
    with httpx.Client(base_url=base) as browser:
        form = browser.get("/signin").text
        csrf = re.search(r'name="csrf" value="([^"]+)"', form)
        assert csrf, "the sign-in form carries its CSRF token"
        answer = browser.post("/signin", data={"username": "desk", "password": PASSWORD,
                                               "csrf": csrf.group(1)})  # fmt: skip
        if answer.status_code != 303:
            raise SystemExit(f"sign-in failed: {answer.status_code}")
        return f"{COOKIE}={browser.cookies[COOKIE]}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1)
    parser.add_argument("--dir", type=Path, default=None)
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        raise SystemExit("bench/web.py needs wrk: apt-get install wrk")
    work = Path(tempfile.mkdtemp(prefix="evault-bench-web-", dir=args.dir))
    try:
        started = time.perf_counter()
        ids, token = fill(work / "data", args.items)
        add_custodian(work / "data")
        print(f"filled {args.items} items in {time.perf_counter() - started:.1f} s")
        with served(work, token, args.workers) as base:
            cookie = f"Cookie: {signed_in(base)}"
            pages = args.items // 50
            listing = ["/recordings", "/recordings?device=CAM7", f"/recordings?page={pages // 2}"]
            json_listing = ["/items", "/items?device=CAM7", "/items?limit=50"]
            runs = {
                "JSON /items": load(base, token, json_listing, clients=args.clients,
                                    seconds=args.seconds, work=work),
                "dashboard /": load(base, token, ["/"], clients=args.clients,
                                    seconds=args.seconds, work=work, header=cookie),
                "recordings list": load(base, token, listing, clients=args.clients,
                                        seconds=args.seconds, work=work, header=cookie),
                "recording page": load(base, token, [f"/recordings/{i}" for i in ids],
                                       clients=args.clients, seconds=args.seconds, work=work,
                                       header=cookie),
            }  # fmt: skip
        print(f"{args.clients} clients, {args.seconds:.0f} s each, SQLite, {args.items} items,"
              f" {args.workers} API worker process(es), {os.cpu_count()} cores")  # fmt: skip
        figures = {label: summary(label, report, args.seconds) for label, report in runs.items()}
        _, base_p99, base_rate = figures["JSON /items"]
        for label in ("dashboard /", "recordings list", "recording page"):
            _, p99, rate = figures[label]
            print(f"{label}: p99 ratio to /items {p99 / base_p99:.2f};"
                  f" req/s ratio {rate / base_rate:.2f}")  # fmt: skip
        print(json.dumps({k: {"p50_ms": round(v[0], 1), "p99_ms": round(v[1], 1),
                              "req_s": round(v[2], 1)} for k, v in figures.items()}))  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
