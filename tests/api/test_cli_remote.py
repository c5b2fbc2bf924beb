"""The person-facing commands from another desk (issue 22): `evault --url URL --token T`
against a real `evault serve` gives the same JSON as the same command on the vault's host, the
same refusals with the same exit codes, and the workflow (ask, approve, show) works through
it. Every command runs as its own process, as a person would run it."""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from custody.access.purposes import Purpose
from custody.admin.log import check_admin_log
from custody.admin.models import AdminEvent
from ingest.renditions import render_pending
from ingest.runner import scan_all
from retention import holds
from tests.conftest import Vault, make_vault, put_clip
from tests.export.exporting import ask, decide, run_verifier
from tests.serving import serving
from vault import accounts
from vault.alert_models import AlertLevel
from vault.alerts import raise_alert
from vault.cases import open_case
from vault.db import unit_of_work
from vault.models import User

UTC_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?Z$")


def evault(vault: Vault, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args], env=vault.env(), cwd=vault.root,
        capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


@pytest.fixture
def served(isolated_env: Path, clip_dir: Path) -> Iterator[tuple[Vault, str, dict[str, str]]]:
    vault = make_vault(isolated_env)
    for n in range(2):
        put_clip(clip_dir, n, vault.station_dir / f"clip{n}.mp4")
    vault.ingest()
    tokens = {}
    with unit_of_work(vault.app.factory) as session:
        for name, role in (("li", "investigator"), ("zhao", "approver"), ("sun", "auditor"),
                           ("wu", "custodian")):  # fmt: skip
            accounts.add_user(session, username=name, roles=[role])
            tokens[name] = accounts.issue_token(session, username=name).secret
    with serving(vault) as url:
        yield vault, url, tokens


def both(vault: Vault, url: str, token: str, *args: str) -> tuple[Any, Any]:
    """The command's --json on the vault's host and through the API: both must succeed."""
    here = evault(vault, *args, "--json", "--token", token)
    there = evault(vault, "--url", url, *args, "--json", "--token", token)
    assert here.returncode == 0, here.stderr
    assert there.returncode == 0, there.stderr
    assert here.stderr == there.stderr == ""
    return json.loads(here.stdout), json.loads(there.stdout)


def test_reads_give_the_same_json_here_and_from_another_desk(
    served: tuple[Vault, str, dict[str, str]],
) -> None:
    vault, url, tokens = served
    auditor = tokens["sun"]
    here, there = both(vault, url, auditor, "list")
    assert here == there and len(here) == 2
    assert all(UTC_Z.match(item["ingested_at"]) for item in here)  # ISO 8601 with Z
    item = here[0]["id"]
    here, there = both(vault, url, auditor, "show", item[:8])
    assert here == there
    assert here["item"]["id"] == item and here["retention"]["item"] == item
    assert here["retention"]["rule"]  # the rule that set its end
    assert [c["copy"] for c in here["copies"]["copies"]][:2] == ["sealed", "access"]
    here, there = both(vault, url, auditor, "custody", item)
    assert here == there
    assert [e["kind"] for e in here][:1] == ["ingested"] and len(here[0]["entry_hash"]) == 64

    with unit_of_work(vault.app.factory) as session:
        open_case(session, number="2026-117", title="Ring Road", flags=[])
        zhao = session.execute(select(User).where(User.username == "zhao")).scalar_one()
        holds.place_hold(session, vault.app.stores, item, user=zhao, reason="court order",
                         reference="(2026) 01")  # fmt: skip
        raise_alert(session, key="test", kind="station_unreachable", level=AlertLevel.WARNING,
                    message="station-1 unreachable", details={"station": "station-1"})  # fmt: skip
    (vault.station_dir / "waiting.mp4").write_bytes(b"still docking")
    scan_all(vault.ingest_context())
    wu = tokens["wu"]  # the 24-hour view is a custodian's (or an auditor's)
    here, there = both(vault, url, wu, "sla")
    for station in (*here, *there):  # the file waits a moment longer for the second command
        assert 0 <= station["waiting"][0].pop("waiting_hours") < 1
    assert here == there and [w["file"] for w in here[0]["waiting"]] == ["waiting.mp4"]
    # The file waits a second longer for the second command: "9s" then "10s" changes the
    # ages and the width of their column, so the tables are compared with both evened out.
    table_here, table_there = (
        re.sub(
            r" +", " ", re.sub(r"\b\d+s\b", "Ns", evault(vault, *desk, "sla", "--token", wu).stdout)
        )
        for desk in ([], ["--url", url])
    )
    assert table_here == table_there and "waiting.mp4" in table_here
    for command in (["case", "list"], ["case", "show", "2026-117"], ["hold", "list"],
                    ["gaps", "--all"], ["alerts"]):  # fmt: skip
        here, there = both(vault, url, auditor, *command)
        assert here == there, command
    assert here[0]["message"] == "station-1 unreachable"  # the alerts, last

    # The people-facing text is the same too, drawn from the same fields.
    text_here = evault(vault, "show", item, "--token", auditor).stdout
    text_there = evault(vault, "--url", url, "show", item, "--token", auditor).stdout
    assert text_here == text_there and item in text_here


def test_an_alert_is_acknowledged_with_a_reason_from_either_desk(
    served: tuple[Vault, str, dict[str, str]],
) -> None:
    """`evault alerts acknowledge`: a custodian's act with a reason, recorded in the
    administration log; the alert stays (marked) and leaves `alerts --open`; an auditor is
    refused, and acknowledging twice is refused, alike on the host and through the API."""
    vault, url, tokens = served
    with unit_of_work(vault.app.factory) as session:
        for n in (1, 2):
            raise_alert(session, key=f"down-{n}", kind="station_unreachable",
                        level=AlertLevel.WARNING, message=f"station-{n} unreachable",
                        details={"station": f"station-{n}"})  # fmt: skip
    listed, _ = both(vault, url, tokens["sun"], "alerts", "--open")
    first, second = (a["id"] for a in sorted(listed, key=lambda a: a["message"]))

    reason = ["--reason", "cable replaced; station back"]
    for prefix in ([], ["--url", url]):  # an auditor reads alerts but does not close them
        refused = evault(vault, *prefix, "alerts", "acknowledge", first[:8], *reason,
                         "--token", tokens["sun"])  # fmt: skip
        assert refused.returncode == 3 and "custodian" in refused.stderr, refused.stderr
    there = evault(vault, "--url", url, "alerts", "acknowledge", first[:8], *reason,
                   "--token", tokens["wu"], "--json")  # fmt: skip
    assert there.returncode == 0, there.stderr
    done = json.loads(there.stdout)
    assert (done["id"], done["acknowledged_by"]) == (first, "wu")
    assert done["acknowledgement"] == "cable replaced; station back"
    assert UTC_Z.match(done["acknowledged_at"])
    here = evault(vault, "alerts", "acknowledge", second, "--reason", "power restored",
                  "--token", tokens["wu"])  # fmt: skip
    assert here.returncode == 0 and second in here.stdout, here.stderr

    open_here, open_there = both(vault, url, tokens["sun"], "alerts", "--open")
    assert open_here == open_there and {a["id"] for a in open_here}.isdisjoint({first, second})
    everything, _ = both(vault, url, tokens["sun"], "alerts")
    kept = {a["id"]: a for a in everything}
    assert kept[second]["acknowledgement"] == "power restored"  # kept, marked
    table = evault(vault, "alerts", "--token", tokens["sun"]).stdout
    assert "by wu: power restored" in table

    for prefix in ([], ["--url", url]):  # once only; by its full id, as it is no longer open
        twice = evault(vault, *prefix, "alerts", "acknowledge", first, "--reason", "again",
                       "--token", tokens["wu"])  # fmt: skip
        assert twice.returncode == 3 and "was acknowledged by wu" in twice.stderr, twice.stderr
        blank = evault(vault, *prefix, "alerts", "acknowledge", first, "--reason", " ",
                       "--token", tokens["wu"])  # fmt: skip
        assert blank.returncode == 2, blank.stderr
    with unit_of_work(vault.app.factory, read_only=True) as session:
        logged = session.execute(
            select(AdminEvent).where(AdminEvent.action == "alert_acknowledged")
            .order_by(AdminEvent.seq)
        ).scalars().all()  # fmt: skip
        assert [(e.subject, e.actor, e.data["reason"]) for e in logged] == [
            (first, "user:wu", "cable replaced; station back"),
            (second, "user:wu", "power restored"),
        ]
        assert check_admin_log(session).problems == []


def test_the_access_workflow_from_another_desk(
    served: tuple[Vault, str, dict[str, str]],
) -> None:
    vault, url, tokens = served
    item = vault.items()[0].digest[:12]
    asked = evault(vault, "--url", url, "request", item, "--token", tokens["li"],
                   "--reason", "case 2026-117", "--purpose", "copy_original", "--json")  # fmt: skip
    assert asked.returncode == 0, asked.stderr
    number = json.loads(asked.stdout)["number"]

    # Nobody approves their own request: the same refusal and exit code either way.
    own_here = evault(vault, "approve", number, "--token", tokens["li"], "-m", "mine")
    own_there = evault(vault, "--url", url, "approve", number, "--token", tokens["li"],
                       "-m", "mine")  # fmt: skip
    assert own_here.returncode == own_there.returncode == 3
    assert own_here.stderr == own_there.stderr

    approved = evault(vault, "--url", url, "approve", number, "--token", tokens["zhao"],
                      "-m", "within the case", "--json")  # fmt: skip
    assert approved.returncode == 0, approved.stderr
    assert json.loads(approved.stdout)["status"] == "approved"

    here, there = both(vault, url, tokens["li"], "request", "show", number)
    assert here == there
    assert here["decided_by"] == "zhao" and here["decision_reason"] == "within the case"
    assert UTC_Z.match(here["valid_until"])
    here, there = both(vault, url, tokens["zhao"], "requests", "--status", "approved")
    assert here == there and [r["number"] for r in here] == [number]
    pending_here, pending_there = both(
        vault, url, tokens["zhao"], "requests", "--status", "pending"
    )
    assert pending_here == pending_there == []

    shown = evault(vault, "--url", url, "request", "show", number, "--token", tokens["li"])
    assert shown.returncode == 0 and "within the case" in shown.stdout

    # The copy itself, fetched at the desk: the server records it, the file is checked
    # against the digest the server states, and an existing file is never overwritten.
    out = vault.root / "desk-copy.mp4"
    fetched = evault(vault, "--url", url, "fetch", number, item, "-o", str(out),
                     "--token", tokens["li"])  # fmt: skip
    assert fetched.returncode == 0, fetched.stderr
    recorded = vault.items()[0]
    assert hashlib.sha256(out.read_bytes()).hexdigest() == recorded.digest
    assert recorded.digest in fetched.stdout
    kinds = [e["kind"] for e in both(vault, url, tokens["sun"], "custody", item)[0]]
    assert kinds.count("downloaded") == 1
    again = evault(vault, "--url", url, "fetch", number, item, "-o", str(out),
                   "--token", tokens["li"])  # fmt: skip
    assert again.returncode == 3 and "never overwrites" in again.stderr
    other = vault.root / "not-theirs.mp4"
    not_theirs_here = evault(vault, "fetch", number, item, "-o", str(other),
                             "--token", tokens["zhao"])  # fmt: skip
    not_theirs = evault(vault, "--url", url, "fetch", number, item, "-o", str(other),
                        "--token", tokens["zhao"])  # fmt: skip
    assert not_theirs.returncode == not_theirs_here.returncode == 3
    assert not_theirs.stderr == not_theirs_here.stderr and not other.exists()
    kinds = [e["kind"] for e in both(vault, url, tokens["sun"], "custody", item)[0]]
    assert kinds.count("downloaded") == 1  # refusals deliver nothing and record nothing


def test_failures_have_the_same_exit_codes_from_another_desk(
    served: tuple[Vault, str, dict[str, str]], tmp_path: Path
) -> None:
    vault, url, tokens = served
    auditor = ["--token", tokens["sun"]]
    for args, code in (
        (["show", "ffffffffff"], 4),  # not found
        (["request", "show", "AR-20000101-000000"], 4),
        (["approve", "AR-20000101-000000", "-m", "no such request"], 3),  # an auditor may not
    ):
        here = evault(vault, *args, *auditor)
        there = evault(vault, "--url", url, *args, *auditor)
        assert here.returncode == there.returncode == code, (args, here.stderr, there.stderr)
        assert here.stderr == there.stderr, args
    # A reference is one path segment: "../requests" reaches no other route, and the router's
    # own 404 is still "not found" (exit 4), as on the host.
    odd = [
        evault(vault, *prefix, "show", "../requests", *auditor) for prefix in ([], ["--url", url])
    ]
    assert [o.returncode for o in odd] == [4, 4], [o.stderr for o in odd]
    forged = evault(vault, "--url", url, "list", "--token", "evt_not-a-token")
    assert forged.returncode == 3 and "error:" in forged.stderr  # not authenticated
    # A command that works only on the host refuses through --url: it must not open (or make)
    # a vault on the desk it runs on.
    desk = tmp_path / "desk"
    desk.mkdir()
    env = {k: v for k, v in vault.env().items() if not k.startswith("EVAULT_DATA")}
    host_only = subprocess.run(
        [sys.executable, "-m", "api.cli.main", "--url", url, "retention", "policy"], env=env,
        cwd=desk, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip
    assert host_only.returncode == 2 and "vault's host only" in host_only.stderr
    assert list(desk.iterdir()) == []
    gone = evault(vault, "--url", "http://127.0.0.1:9", "list", "--token", tokens["sun"])
    assert gone.returncode == 5 and "could not be reached" in gone.stderr


def test_an_export_from_another_desk(served: tuple[Vault, str, dict[str, str]]) -> None:
    """`evault export --url … --zip`: the vault builds the package and records it; the desk
    gets one ZIP in a new file, checked against the digest the vault states, that the
    recipient's verify.py accepts."""
    vault, url, tokens = served
    render_pending(vault.ingest_context())  # an export carries the standard rendition
    first = vault.items()[0]
    number = ask(vault, "li", Purpose.EXPORT, [first])
    decide(vault, number)
    out = vault.root / "case-117.zip"
    li = ["--token", tokens["li"]]
    plain = evault(vault, "--url", url, "export", number, "-o", str(out), *li)
    assert plain.returncode == 2 and "--zip" in plain.stderr and not out.exists()
    done = evault(vault, "--url", url, "export", number, "-o", str(out), "--zip", *li)
    assert done.returncode == 0, done.stderr
    digest = hashlib.sha256(out.read_bytes()).hexdigest()
    assert digest in done.stdout and "export EXP-" in done.stdout
    kinds = [e["kind"] for e in both(vault, url, tokens["sun"], "custody", first.id.hex)[0]]
    assert "exported" in kinds and kinds[-1] == "export_packaged"
    unpacked = vault.root / "unpacked"
    with zipfile.ZipFile(out) as package:
        package.extractall(unpacked)
    (folder,) = unpacked.iterdir()
    checked = run_verifier(folder)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    again = evault(vault, "--url", url, "export", number, "-o", str(out), "--zip", *li)
    assert again.returncode == 3 and "never overwrites" in again.stderr
    assert hashlib.sha256(out.read_bytes()).hexdigest() == digest  # left as it was
