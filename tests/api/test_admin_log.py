"""Separation of duties that survives an admin (issue 17). Over the API an admin could once
create an investigator and an approver, mint tokens for both, request, approve and download
alone, and custody named two other people. Now tokens are issued only to their holder, nobody
holds admin and approver together, and every administrative act is an entry of a hash-chained
administration log that the signed checkpoints cover and `evault audit verify` checks."""

from __future__ import annotations

from sqlalchemy import select, text

from custody.admin.log import admin_document, admin_hash
from custody.admin.models import AdminEvent
from custody.log.canonical import GENESIS_HASH
from tests.api.conftest import Api
from tests.conftest import Vault, run_cli
from vault.accounts import token_prefix
from vault.db import unit_of_work
from vault.synthetic import generate_clip


def admin_log(vault: Vault) -> list[tuple[str, str, str]]:
    with unit_of_work(vault.app.factory, read_only=True) as session:
        return [
            (e.actor, e.action, e.subject)
            for e in session.execute(select(AdminEvent).order_by(AdminEvent.seq)).scalars()
        ]


def test_an_admin_alone_cannot_act_as_requester_and_approver(api: Api) -> None:
    admin = api.as_role("admin")
    for username, role in (("mole-inv", "investigator"), ("mole-appr", "approver")):
        made = api.client.post("/users", json={"username": username, "roles": [role]},
                               headers=admin)  # fmt: skip
        assert made.status_code == 201, made.text
        minted = api.client.post(f"/users/{username}/tokens", json={}, headers=admin)
        assert minted.status_code == 403, minted.text
        assert "issued only to its holder" in minted.json()["detail"]
    both = api.client.post(
        "/users", json={"username": "boss", "roles": ["admin", "approver"]}, headers=admin
    )
    assert both.status_code == 409 and "separation of duties" in both.json()["detail"]
    own = api.client.post("/users/only-admin/tokens", json={"label": "laptop"}, headers=admin)
    assert own.status_code == 201
    assert admin_log(api.vault) == [
        ("user:only-admin", "user_added", "mole-inv"),
        ("user:only-admin", "user_added", "mole-appr"),
        ("user:only-admin", "token_issued", "only-admin"),
    ]


def test_the_administration_log_is_checked_and_a_rewrite_is_caught(vault: Vault) -> None:
    env = vault.env()
    for args in (
        ["user", "add", "li", "-r", "investigator"],
        ["user", "add", "zhao", "-r", "approver"],
        ["token", "issue", "li"],
    ):
        assert run_cli(args, env, vault.root).returncode == 0
    refused = run_cli(["user", "add", "boss", "-r", "admin", "-r", "approver"], env, vault.root)
    assert refused.returncode == 3 and "separation of duties" in refused.stderr
    assert [(a.split(":")[0], act) for a, act, _ in admin_log(vault)] == [
        ("cli", "user_added"), ("cli", "user_added"), ("cli", "token_issued"),
    ]  # fmt: skip
    # The log needs something to sign: one custody entry.
    generate_clip(vault.station_dir / "CAM1" / "a.mp4", seconds=1)
    vault.ingest()
    assert run_cli(["checkpoint"], env, vault.root).returncode == 0
    verified = run_cli(["audit", "verify"], env, vault.root)
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "3 administration entries" in " ".join(verified.stdout.split())

    # An insider edits who was added; the entry no longer hashes to its recorded hash.
    with vault.app.engine.begin() as conn:
        conn.execute(text("UPDATE admin_event SET subject = 'someone-else' WHERE seq = 2"))
    edited = run_cli(["audit", "verify"], env, vault.root)
    assert edited.returncode == 1
    assert "administration log entry 2 (user_added someone-else) was altered" in " ".join(
        edited.stdout.split()
    )

    # A careful insider re-hashes the whole chain: the chain checks out, the checkpoint not.
    with unit_of_work(vault.app.factory) as session:
        prev = GENESIS_HASH
        for event in session.execute(select(AdminEvent).order_by(AdminEvent.seq)).scalars():
            event.prev_hash = prev
            event.entry_hash = admin_hash(prev, admin_document(event))
            prev = event.entry_hash
    rewritten = " ".join(run_cli(["audit", "verify"], env, vault.root).stdout.split())
    assert "was altered" not in rewritten
    assert "signed an administration log of 3 entries that is not the one stored now" in (rewritten)
    vault.app.engine.dispose()


def test_custody_entries_name_the_token_they_came_through(api: Api) -> None:
    (item,) = api.vault.items()
    chain = api.client.get(f"/items/{item.id}/custody", headers=api.as_role("auditor")).json()
    by_kind = {e["kind"]: e["data"] for e in chain}
    assert by_kind["access_requested"]["via_token"] == token_prefix(api.tokens["investigator"])
    assert by_kind["access_approved"]["via_token"] == token_prefix(api.tokens["approver"])
    assert "via_token" not in by_kind["ingested"]  # the daemon acts under no token
    url = f"/requests/{api.request_number}/items/{item.digest[:12]}/content"
    api.client.get(url, headers=api.as_role("investigator")).raise_for_status()
    after = api.client.get(f"/items/{item.id}/custody", headers=api.as_role("auditor")).json()
    viewed = [e["data"] for e in after if e["kind"] in ("viewed", "delivery_ended")]
    assert [v["via_token"] for v in viewed] == [token_prefix(api.tokens["investigator"])] * 2


def test_role_changes_are_administrative_acts_with_the_same_rules(api: Api) -> None:
    admin = api.as_role("admin")

    def roles(username: str, **body: list[str]) -> tuple[int, dict[str, object]]:
        answer = api.client.post(f"/users/{username}/roles", json=body, headers=admin)
        return answer.status_code, answer.json()

    status, user = roles("target", grant=["custodian"], remove=["investigator"])
    assert (status, user["roles"]) == (200, ["custodian"])
    # Granting approver to an admin (here, to oneself) is the same breach as adding one.
    status, refused = roles("only-admin", grant=["approver"])
    assert status == 409 and "separation of duties" in str(refused["detail"])
    # The only admin cannot take admin away from themselves: nobody could manage users after.
    status, refused = roles("only-admin", grant=["auditor"], remove=["admin"])
    assert status == 409 and "last active admin" in str(refused["detail"])
    status, refused = roles("target", remove=["custodian"])
    assert status == 409 and "needs at least one" in str(refused["detail"])
    # Nobody but an admin changes roles, not even their own.
    own = api.client.post("/users/only-approver/roles", json={"grant": ["investigator"]},
                          headers=api.as_role("approver"))  # fmt: skip
    assert own.status_code == 403
    status, _ = roles("target", grant=["custodian"])  # held already: no change, no entry
    assert status == 200
    with unit_of_work(api.vault.app.factory, read_only=True) as session:
        changes = [
            (e.actor, e.action, e.subject, e.data)
            for e in session.execute(select(AdminEvent).order_by(AdminEvent.seq)).scalars()
        ]
    assert changes == [
        ("user:only-admin", "roles_changed", "target",
         {"granted": ["custodian"], "removed": ["investigator"], "roles": ["custodian"]}),
    ]  # fmt: skip


def test_the_cli_changes_roles_and_names_its_account(vault: Vault) -> None:
    env = vault.env()
    assert run_cli(["user", "add", "li", "-r", "investigator"], env, vault.root).returncode == 0
    changed = run_cli(["user", "roles", "li", "--grant", "auditor"], env, vault.root)
    assert changed.returncode == 0 and "li holds auditor, investigator" in changed.stdout
    both = ["user", "roles", "li", "--grant", "admin", "-g", "approver"]
    refused = run_cli(both, env, vault.root)
    assert refused.returncode == 3 and "separation of duties" in refused.stderr
    assert [(a.split(":")[0], act, who) for a, act, who in admin_log(vault)] == [
        ("cli", "user_added", "li"), ("cli", "roles_changed", "li"),
    ]  # fmt: skip
