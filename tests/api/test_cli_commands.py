"""The commands people asked for (issue 22), each with its `--json` in the API's schema: case
list/show, hold list and release by a prefix of its id, user enable (and the administration
log's record of it), token list (prefixes, never secrets), alerts naming what they are about,
gaps, retention due and key list."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import TypeAdapter
from sqlalchemy import select

from api.http.gap_schemas import GapOut
from api.http.proof_schemas import FixityOut, KeyOut
from api.http.retention_schemas import DueItemOut, HoldOut
from api.http.schemas import AlertOut, CaseOut, UserOut
from api.http.sla_schemas import StationSlaOut
from custody.admin.models import AdminEvent
from ingest.runner import scan_all
from retention import changes, holds
from tests.conftest import Vault, put_clip, run_cli
from vault import accounts
from vault.alert_models import AlertLevel
from vault.alerts import raise_alert
from vault.cases import open_case
from vault.db import unit_of_work
from vault.models import User


def cli(vault: Vault, *args: str) -> Any:
    """`evault ARGS --json`: it succeeds, says nothing on stderr, and prints one document."""
    done = run_cli([*args, "--json"], vault.env(), vault.root)
    assert (done.returncode, done.stderr) == (0, ""), (args, done.stderr)
    return json.loads(done.stdout)


def test_cases_holds_and_their_json(vault: Vault, clip_dir: Path) -> None:
    for n in range(2):
        put_clip(clip_dir, n, vault.station_dir / f"clip{n}.mp4")
    vault.ingest()
    first, second = vault.items()
    with unit_of_work(vault.app.factory) as session:
        accounts.add_user(session, username="zhao", roles=["approver"])
        accounts.add_user(session, username="chen", roles=["custodian"])
        token = accounts.issue_token(session, username="zhao").secret
        users = {u.username: u for u in session.execute(select(User)).scalars()}
        open_case(session, number="2026-117", title="Ring Road", flags=[])
        changes.attach(session, vault.app.stores, "2026-117", [str(first.id)],
                       user=users["chen"])  # fmt: skip
        hold = holds.place_hold(session, vault.app.stores, str(second.id), user=users["zhao"],
                                reason="court order", reference="(2026) 01")  # fmt: skip
        hold_id = hold.id

    cases = TypeAdapter(list[CaseOut]).validate_python(cli(vault, "case", "list"))
    assert [(c.number, c.items) for c in cases] == [("2026-117", [first.id])]
    case = CaseOut.model_validate(cli(vault, "case", "show", "2026-117"))
    assert case.title == "Ring Road" and case.closed_at is None
    shown = run_cli(["case", "show", "2026-117"], vault.env(), vault.root)
    assert str(first.id) in shown.stdout  # the whole id, for the next command
    assert run_cli(["case", "show", "2099-1"], vault.env(), vault.root).returncode == 4

    listed = TypeAdapter(list[HoldOut]).validate_python(cli(vault, "hold", "list"))
    assert [(h.id, h.item, h.reference) for h in listed] == [(hold_id, second.id, "(2026) 01")]
    short = hold_id.hex[:8]
    released = run_cli(["hold", "release", short, "-m", "order lifted", "--token", token],
                       vault.env(), vault.root)  # fmt: skip
    assert released.returncode == 0, released.stderr
    assert cli(vault, "hold", "list") == []
    everything = TypeAdapter(list[HoldOut]).validate_python(cli(vault, "hold", "list", "--all"))
    assert everything[0].release_reason == "order lifted" and everything[0].released_by == "zhao"
    again = run_cli(["hold", "release", short, "-m", "twice", "--token", token],
                    vault.env(), vault.root)  # fmt: skip
    assert again.returncode == 3 and "was released" in again.stderr
    bad = run_cli(["hold", "release", "../etc", "-m", "x", "--token", token],
                  vault.env(), vault.root)  # fmt: skip
    assert bad.returncode == 2 and "not a legal hold id" in bad.stderr


def test_users_tokens_and_keys_at_the_host(vault: Vault) -> None:
    with unit_of_work(vault.app.factory) as session:
        accounts.add_user(session, username="li", roles=["investigator"])
        issued = accounts.issue_token(session, username="li", label="li laptop")
    assert run_cli(["user", "disable", "li"], vault.env(), vault.root).returncode == 0
    users = TypeAdapter(list[UserOut]).validate_python(cli(vault, "user", "list"))
    assert next(u for u in users if u.username == "li").disabled_at is not None
    enabled = run_cli(["user", "enable", "li"], vault.env(), vault.root)
    assert enabled.returncode == 0, enabled.stderr
    users = TypeAdapter(list[UserOut]).validate_python(cli(vault, "user", "list"))
    assert next(u for u in users if u.username == "li").disabled_at is None
    assert run_cli(["user", "enable", "li"], vault.env(), vault.root).returncode == 0
    with unit_of_work(vault.app.factory) as session:
        actions = [e.action for e in session.execute(select(AdminEvent)).scalars()
                   if e.subject == "li"]  # fmt: skip
    assert actions.count("user_enabled") == 1  # enabling an enabled user changed nothing

    tokens = cli(vault, "token", "list", "--user", "li")
    assert [(t["prefix"], t["holder"], t["label"]) for t in tokens] == [
        (issued.token.prefix, "li", "li laptop")
    ]
    everything = run_cli(["token", "list"], vault.env(), vault.root)
    assert issued.secret not in everything.stdout + json.dumps(tokens)
    assert run_cli(["token", "list", "--user", "nobody"], vault.env(), vault.root).returncode == 4

    assert run_cli(["init"], vault.env(), vault.root).returncode == 0  # makes the log's key
    keys = TypeAdapter(list[KeyOut]).validate_python(cli(vault, "key", "list"))
    assert len(keys) == 1 and keys[0].verifier_key.startswith(keys[0].name + "+")


def test_alerts_say_what_they_are_about(vault: Vault, clip_dir: Path) -> None:
    put_clip(clip_dir, 0, vault.station_dir / "clip0.mp4")
    vault.ingest()
    (item,) = vault.items()
    with unit_of_work(vault.app.factory) as session:
        raise_alert(
            session,
            key=f"test:{item.id}",
            kind="virus_infected",
            level=AlertLevel.ERROR,
            message="recording is infected",
            details={"item": str(item.id), "station": "station-1", "file": "clip0.mp4"},
        )
    alerts = TypeAdapter(list[AlertOut]).validate_python(cli(vault, "alerts"))
    assert alerts[0].details["item"] == str(item.id)
    table = run_cli(["alerts"], vault.env(), vault.root)
    (line,) = [line for line in table.stdout.splitlines() if "recording is infected" in line]
    assert f"item {item.id}" in line and "file clip0.mp4" in line and "station station-1" in line
    assert "[red]" not in table.stdout  # a level is styled, never printed as markup

    assert TypeAdapter(list[GapOut]).validate_python(cli(vault, "gaps", "--all")) == []
    assert TypeAdapter(list[DueItemOut]).validate_python(cli(vault, "retention", "due")) == []


def test_sla_and_fixity_status_print_the_apis_documents(vault: Vault, clip_dir: Path) -> None:
    """`evault sla --json` is GET /sla's document and `evault fixity status --json` GET
    /fixity's, field for field (the same conversion makes both)."""
    put_clip(clip_dir, 0, vault.station_dir / "CAM1" / "clip.mp4")
    vault.ingest()
    (vault.station_dir / "CAM1" / "waiting.mp4").write_bytes(b"still docking")
    scan_all(vault.ingest_context())
    stations = TypeAdapter(list[StationSlaOut]).validate_python(cli(vault, "sla"))
    (station,) = stations
    assert [w.file for w in station.waiting] == ["CAM1/waiting.mp4"]
    assert station.waiting[0].overdue is False
    assert run_cli(["fixity", "run", "--all"], vault.env(), vault.root).returncode == 0
    fixity = FixityOut.model_validate(cli(vault, "fixity", "status"))
    assert fixity.quarantined == [] and fixity.by_status["ok"] >= 2
