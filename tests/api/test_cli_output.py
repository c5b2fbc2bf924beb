"""`evault` output for people and for scripts (issue 22), run as real processes with stdout a
pipe, as a script or `| less` gets it: a successful read prints nothing on stderr; piped
tables are plain columns that never wrap an id, however narrow COLUMNS says the terminal is;
every instant shown for people has one format, in the display time zone (the same instant is
the text vault.moments makes of it in `list`, `show`, `custody` and `hold list`, as in the
console); each class of
failure has its exit code; `--version`."""

from __future__ import annotations

import re
import subprocess
import sys
from datetime import timedelta
from importlib.metadata import version
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.fixity.checks import run_slice
from custody.fixity.models import FixityState
from custody.log.models import CustodyEvent
from ingest.renditions import render_pending
from retention import holds
from tests.conftest import Vault, make_vault, put_clip
from vault import accounts
from vault.db import unit_of_work
from vault.models import Rendition, User
from vault.moments import for_people

ZONE = "Asia/Shanghai"
# YYYY-MM-DD HH:MM:SS ±HH:MM (ABBR): the only way a date may appear in output for people.
FOR_PEOPLE = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} [+-]\d{2}:\d{2} \([A-Za-z0-9+-]+\)")
ANY_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def evault(vault: Vault, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args],
        env=vault.env() | {"EVAULT_DISPLAY_TIMEZONE": ZONE, "COLUMNS": "40"} | env,
        cwd=vault.root, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


@pytest.fixture
def filled(isolated_env: Path, clip_dir: Path) -> Vault:
    vault = make_vault(isolated_env)
    for n in range(2):
        put_clip(clip_dir, n, vault.station_dir / f"clip{n}.mp4")
    vault.ingest()
    return vault


def dates_in(text: str) -> list[str]:
    """Every date in the text must start an instant in the one format; returns those."""
    people = FOR_PEOPLE.findall(text)
    assert len(ANY_DATE.findall(text)) == len(people), f"a date in another format:\n{text}"
    return people


def test_version_is_the_installed_one(filled: Vault) -> None:
    done = evault(filled, "--version")
    assert (done.returncode, done.stderr) == (0, "")
    assert done.stdout.strip() == f"evault {version('evidence-vault')}"


def test_piped_reads_are_quiet_on_stderr_and_never_wrap_an_id(filled: Vault) -> None:
    items = filled.items()
    listed = evault(filled, "list")
    assert (listed.returncode, listed.stderr) == (0, ""), listed.stderr
    for item in items:
        # The whole 36-character id, on the line that names the item, in a 40-column "terminal".
        (line,) = [line for line in listed.stdout.splitlines() if str(item.id) in line]
        assert item.original_name in line
    assert not set("┃│┏━") & set(listed.stdout), "piped output is plain columns"
    for command in (["show", str(items[0].id)], ["custody", str(items[0].id)]):
        done = evault(filled, *command)
        assert (done.returncode, done.stderr) == (0, ""), (command, done.stderr)


def test_one_format_for_every_instant_people_read(filled: Vault) -> None:
    item = filled.items()[0]
    with unit_of_work(filled.app.factory) as session:
        accounts.add_user(session, username="zhao", roles=["approver"])
        zhao = session.execute(select(User).where(User.username == "zhao")).scalar_one()
        hold = holds.place_hold(session, filled.app.stores, str(item.id), user=zhao,
                                reason="court order", reference="(2026) 01")  # fmt: skip
        placed = hold.placed_at
        events = list(
            session.execute(select(CustodyEvent).where(CustodyEvent.item_id == item.id)).scalars()
        )
    ingested = for_people(item.ingested_at, ZONE)
    assert ingested.endswith("+08:00 (CST)")
    render_pending(filled.ingest_context())
    run_slice(filled.app.factory, filled.app.stores, cycle=timedelta(hours=1),
              every=timedelta(hours=1), chunk_size=64 * 1024, everything=True)  # fmt: skip
    with unit_of_work(filled.app.factory, read_only=True) as session:
        checked = {r.copy: r for r in session.execute(
            select(FixityState).where(FixityState.item_id == item.id)).scalars()}  # fmt: skip
        rendition = session.execute(
            select(Rendition).where(Rendition.item_id == item.id)
        ).scalar_one()

    listed = evault(filled, "list").stdout
    shown = evault(filled, "show", str(item.id)).stdout
    custody = evault(filled, "custody", str(item.id)).stdout
    held = evault(filled, "hold", "list").stdout
    for output in (listed, shown, custody, held):
        dates_in(output)
    # Each instant is the text vault.moments makes of it, in the display zone.
    assert ingested in shown and for_people(item.docked_at, ZONE) in shown
    # Each copy with its last fixity check, and the rendition (issue 22).
    for copy in ("sealed", "access"):
        when = for_people(checked[copy].last_checked_at, ZONE)  # type: ignore[arg-type]
        assert f"{copy} copy  ok (checked {when}) sha256 {item.digest}" in shown, shown
    made = for_people(rendition.finished_at, ZONE)  # type: ignore[arg-type]
    assert f"rendition  made {made}" in shown and str(rendition.digest) in shown
    assert for_people(placed, ZONE) in held
    assert {for_people(e.at, ZONE) for e in events} <= set(dates_in(custody))


def test_exit_codes_say_what_kind_of_failure(filled: Vault, tmp_path: Path) -> None:
    not_found = evault(filled, "show", "ffffffffff")
    assert not_found.returncode == 4 and "error:" in not_found.stderr
    usage = evault(filled, "list", "--limit", "many")
    assert usage.returncode == 2
    refused = evault(filled, "requests")  # no token: a rule refuses it
    assert refused.returncode == 3 and "token" in refused.stderr
    unreachable = evault(filled, "list", EVAULT_DATABASE_URL=(
        "postgresql+psycopg://evault:not-this-one@127.0.0.1:1/evault"))  # fmt: skip
    assert unreachable.returncode == 5
    assert "could not be reached" in unreachable.stderr and "not-this-one" not in (
        unreachable.stderr + unreachable.stdout
    )
    assert "Traceback" not in unreachable.stderr
