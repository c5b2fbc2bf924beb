"""Issue 20, the first administrator: `evault init` on a vault without an active admin adds
one with a random console password shown once (only its hash kept, the act in the
administration log); re-running adds nobody; a taken name is refused, not reused."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select

from custody.admin import acts
from custody.admin.models import AdminEvent
from tests.conftest import Vault, run_cli
from vault.db import unit_of_work
from vault.models import User
from vault.signin import Policy, sign_in

POLICY = Policy(idle=timedelta(minutes=30), absolute=timedelta(hours=12), lockout_after=5,
                lockout=timedelta(minutes=15))  # fmt: skip
SHOWN = re.compile(r"admin +(\S+) added, console password \(shown this once\): (\S+)")


def _log(vault: Vault) -> list[tuple[str, str]]:
    with unit_of_work(vault.app.factory, read_only=True) as session:
        events = session.execute(select(AdminEvent).order_by(AdminEvent.seq)).scalars()
        return [(e.action, e.subject) for e in events]


def test_init_adds_the_first_admin_once(vault: Vault) -> None:
    first = run_cli(["init"], vault.env(), vault.root)
    assert first.returncode == 0, first.stderr
    shown = SHOWN.search(first.stdout)
    assert shown, first.stdout
    username, password = shown.groups()
    assert username == "admin" and len(password) >= 20
    assert f"evault user passwd {username}" in first.stdout
    with unit_of_work(vault.app.factory) as session:
        admin = session.execute(select(User).where(User.username == "admin")).scalar_one()
        assert admin.roles == ["admin"]
        assert admin.password_hash is not None and password not in admin.password_hash
        assert sign_in(session, "admin", password, client="test", policy=POLICY).secret
    assert _log(vault) == [("user_added", "admin"), ("password_set", "admin")]

    again = run_cli(["init"], vault.env(), vault.root)
    assert again.returncode == 0, again.stderr
    assert SHOWN.search(again.stdout) is None and password not in again.stdout
    assert len(_log(vault)) == 2


def test_init_never_takes_over_an_existing_name(vault: Vault) -> None:
    with unit_of_work(vault.app.factory) as session:
        acts.add_user(session, actor="test", username="admin", roles=["investigator"])
    refused = run_cli(["init"], vault.env(), vault.root)
    assert refused.returncode == 3, refused.stdout + refused.stderr
    assert "the name admin is taken: choose another with --admin" in refused.stderr
    assert _log(vault) == [("user_added", "admin")]
    with unit_of_work(vault.app.factory, read_only=True) as session:
        taken = session.execute(select(User).where(User.username == "admin")).scalar_one()
        assert taken.roles == ["investigator"] and taken.password_hash is None

    named = run_cli(["init", "--admin", "chief"], vault.env(), vault.root)
    assert named.returncode == 0, named.stderr
    assert (shown := SHOWN.search(named.stdout)) and shown.group(1) == "chief"
