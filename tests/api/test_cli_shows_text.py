"""Stored text is shown as text on a terminal (issue 17): a station file name, a sidecar value
and a request reason holding Rich markup, raw escape sequences or bidi overrides neither crash
`evault` (a MarkupError once stopped `list`, `show` and `sla` for the whole vault) nor become
hyperlinks, hidden or reversed text on a custodian's or approver's terminal. Run as real
processes with colour forced on, so the ANSI output is what a terminal would get."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from custody.access import requests as access
from custody.access.models import Purpose, RequesterKind
from tests.conftest import Vault, put_clip
from vault import accounts
from vault.db import unit_of_work
from vault.models import User

NAME = "[link=mailto:boss@evil.example]click.mp4"
OFFICER = "[/]"
MATTER = "[red on red]hidden from the custodian"
REASON = (
    "[link=https://evil.example]approved by chief[/link] \x1b[8mconcealed\x1b[0m"
    " \x1b]8;;https://evil.example\x1b\\here\x1b]8;;\x1b\\ \u202egnp.exe"
)
# What an attack would put on the terminal: a hyperlink (OSC 8), concealed text, red on red,
# a raw bidi override.
pytestmark = pytest.mark.one_database  # terminal output, whatever the database
FORBIDDEN = ["\x1b]8;", "\x1b[8m", "31;41m", "\u202e"]


def evault(vault: Vault, *args: str) -> subprocess.CompletedProcess[str]:
    env = vault.env() | {"FORCE_COLOR": "1", "COLUMNS": "400", "TERM": "xterm-256color"}
    return subprocess.run(
        [sys.executable, "-m", "api.cli.main", *args], env=env, cwd=vault.root,
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def test_markup_and_control_characters_in_stored_text_are_shown_literally(
    vault: Vault, clip_dir: Path
) -> None:
    put_clip(clip_dir, 0, vault.station_dir / NAME)
    (vault.station_dir / f"{NAME}.json").write_text(
        json.dumps({"officer": OFFICER, "matter": MATTER})
    )
    vault.ingest()
    (item,) = vault.items()
    assert item.original_name == NAME and item.officer == OFFICER
    with unit_of_work(vault.app.factory) as session:
        accounts.add_user(session, username="li", roles=["investigator"])
        accounts.add_user(session, username="zhao", roles=["approver"])
        token = accounts.issue_token(session, username="zhao").secret
        li = session.execute(select(User).where(User.username == "li")).scalar_one()
        access.create_request(
            session, user=li, zone="UTC",
            new=access.NewRequest(purpose=Purpose.VIEW, reason=REASON, items=[str(item.id)],
                                  requester_kind=RequesterKind.INTERNAL),
        )  # fmt: skip

    for args, literal in (
        (["list"], NAME),
        (["show", str(item.id)], MATTER),
        (["show", str(item.id)], OFFICER),
        (["sla"], "station0"),
        (["requests", "--token", token], "[link=https://evil.example]approved by chief[/link]"),
        (["custody", str(item.id)], "approved by chief"),
    ):
        done = evault(vault, *args)
        assert done.returncode == 0, (args, done.stdout, done.stderr)
        assert "\x1b[" in done.stdout  # colour is on: this is what a terminal receives
        assert literal in done.stdout, (args, done.stdout)
        for attack in FORBIDDEN:
            assert attack not in done.stdout, (args, attack, done.stdout)
    shown = evault(vault, "requests", "--token", token).stdout
    assert "\\u001b[8mconcealed" in shown and "\\u202egnp.exe" in shown  # visible, not obeyed
