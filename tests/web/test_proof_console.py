"""Issue 21, proofs checked in the auditor's browser: static/verify-proofs.js recomputes a
recording's entries, chain, inclusion proofs and checkpoint signature in Chromium. On a vault
with several checkpoints its leaf hashes and roots equal the Python verifier's; an entry
altered in the database fails at that entry and nowhere else; a pasted foreign key fails
the signature step; the script's SHA-256 is the one the README prints."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from playwright.sync_api import Page, expect
from sqlalchemy import select, text

from api.http.app import STATIC
from custody.log import proofs
from custody.log.append import append_event
from custody.log.checkpoints import all_checkpoints, create_checkpoint
from custody.log.kinds import EventKind
from custody.log.merkle import verify_inclusion
from custody.log.signed_note import verifier_key
from tests.web.conftest import Console
from vault.db import unit_of_work
from vault.models import EvidenceItem

README = Path(__file__).resolve().parents[2] / "README.md"


def _patrol(console: Console) -> EvidenceItem:
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        return session.execute(
            select(EvidenceItem).where(EvidenceItem.original_name == "patrol.mp4")
        ).scalar_one()


def _three_checkpoints(console: Console, item: EvidenceItem) -> None:
    """A checkpoint after ingest, one after a fixity entry of the recording, and one after
    another: the recording's entries fall on both sides of the earlier ones."""
    settings = console.vault.settings
    for n in range(3):
        with unit_of_work(console.vault.app.factory) as session:
            if n:
                checked = {"copy": "sealed", "round": n}
                append_event(session, item_id=item.id, kind=EventKind.FIXITY_OK,
                             actor="system:fixity", data=checked)  # fmt: skip
            assert create_checkpoint(session, settings) is not None


def _run(page: Page, checkpoint_id: int | None = None, key: str = "") -> str:
    if checkpoint_id is not None:
        page.select_option("#verify-checkpoint", str(checkpoint_id))
    page.fill("#verify-key", key)
    page.click("#verify-run")
    verdict = page.locator("#verify-verdict")
    expect(verdict).not_to_have_attribute("data-status", "running", timeout=15000)
    return verdict.get_attribute("data-status") or ""


def _rows(page: Page, step: str) -> dict[int, dict[str, str]]:
    found = page.eval_on_selector_all(
        f"#verify-steps tr[data-step={step}]",
        "rows => rows.map(r => ({...r.dataset, status: r.className}))",
    )
    return {int(r["seq"]): r for r in found}


def test_the_browser_check_equals_the_python_verifier(console: Console, page: Page) -> None:
    item = _patrol(console)
    _three_checkpoints(console, item)
    console.sign_in(page, "sun")
    page.goto(f"{console.url}/recordings/{item.id}")
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        checkpoints = all_checkpoints(session)
        expected = {c.id: (c, proofs.item_bundle(session, item.id, c)) for c in checkpoints}
    assert len(expected) == 3
    for checkpoint_id, (checkpoint, bundle) in expected.items():
        status = _run(page, checkpoint_id)
        leaves, inclusion = _rows(page, "leaf"), _rows(page, "inclusion")
        assert set(leaves) == {e.event.seq for e in bundle.entries}
        for entry in bundle.entries:
            seq = entry.event.seq
            assert leaves[seq]["leaf"] == entry.leaf_hash.hex()  # the same leaf hash
            if entry.proof is None:
                assert inclusion[seq]["status"] == "verify-pending"
                continue
            # Python's RFC 9162 check and the browser's reach the same root: the checkpoint's.
            verify_inclusion(entry.leaf_hash, seq - 1, checkpoint.tree_size, entry.proof,
                             bytes(checkpoint.root_hash))  # fmt: skip
            assert inclusion[seq]["root"] == bytes(checkpoint.root_hash).hex()
            assert inclusion[seq]["status"] == "verify-ok"
        later = [e for e in bundle.entries if e.proof is None]
        assert status == ("pending" if later else "ok"), page.inner_text("#verify-verdict")
    # The latest checkpoint proves every entry: every step green, and the verdict says the
    # key came from this server (it proves nothing about who signed).
    assert _run(page, checkpoints[-1].id) == "ok"
    assert page.locator("#verify-steps tbody tr:not(.verify-ok)").count() == 0
    expect(page.locator("#verify-verdict")).to_contain_text("该密钥由本服务器提供")
    console.shot(page, "verify-all-green-zh")
    # The key an auditor holds from elsewhere (here, the vault's real one): "the key you hold".
    assert _run(page, checkpoints[-1].id, key=bundle.verifier_keys[0]) == "ok"
    expect(page.locator("#verify-verdict")).to_contain_text("即您持有的密钥")


def test_an_altered_entry_and_a_foreign_key_fail_in_the_browser(
    console: Console, page: Page
) -> None:
    item = _patrol(console)
    _three_checkpoints(console, item)
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        seqs = [e.event.seq for e in proofs.item_bundle(session, item.id).entries]
    console.sign_in(page, "sun")
    page.goto(f"{console.url}/recordings/{item.id}")
    page.click("header form[action='/language'] button[value=en]")
    page.wait_for_load_state()
    page.goto(f"{console.url}/recordings/{item.id}")

    foreign = Ed25519PrivateKey.generate().public_key().public_bytes_raw()
    foreign_key = verifier_key("evidence-vault/someone-else", foreign)
    assert _run(page, key=foreign_key) == "fail"
    signature = page.locator("#verify-steps tr[data-step=signature]")
    expect(signature).to_have_class("verify-fail")
    expect(signature).to_contain_text("no signature by evidence-vault/someone-else")
    assert page.locator("#verify-steps tr[data-step=hash].verify-ok").count() == len(seqs)
    console.shot(page, "verify-foreign-key-en")

    altered = seqs[1]
    with console.vault.app.engine.begin() as connection:
        connection.execute(text("UPDATE custody_event SET reason = :r WHERE seq = :s"),
                           {"r": "nothing happened here", "s": altered})  # fmt: skip
    assert _run(page) == "fail"
    failing = page.eval_on_selector_all(
        "#verify-steps tr.verify-fail", "rows => rows.map(r => [r.dataset.step, r.dataset.seq])"
    )
    assert failing == [["hash", str(altered)], ["inclusion", str(altered)]]
    expect(page.locator("#verify-verdict")).to_contain_text(f"Entry #{altered}: entry hash")
    console.shot(page, "verify-altered-entry-en")


def test_the_checkpoints_page_and_who_may_read_proofs(console: Console, page: Page) -> None:
    item = _patrol(console)
    _three_checkpoints(console, item)
    with unit_of_work(console.vault.app.factory, read_only=True) as session:
        keys = proofs.item_bundle(session, item.id).verifier_keys
        sizes = [c.tree_size for c in reversed(all_checkpoints(session))]
    console.sign_in(page, "sun")
    page.goto(f"{console.url}/custody-checkpoints")
    shown = page.eval_on_selector_all(
        "table.checkpoints tbody tr", "rows => rows.map(r => r.cells[2].textContent)"
    )
    assert [int(s) for s in shown] == sizes  # newest first
    expect(page.locator("code.verifier-key")).to_have_text(keys)
    console.shot(page, "checkpoints-zh")
    page.click("header form[action='/signout'] button")
    console.sign_in(page, "li")  # an investigator: neither the page nor the proofs
    for path in ("/custody-checkpoints", f"/recordings/{item.id}/proofs.json"):
        assert page.goto(f"{console.url}{path}").status == 403  # type: ignore[union-attr]
    page.goto(f"{console.url}/recordings/{item.id}")
    expect(page.locator("#verify")).to_have_count(0)


def test_the_readme_prints_the_scripts_sha256() -> None:
    digest = hashlib.sha256((STATIC / "verify-proofs.js").read_bytes()).hexdigest()
    printed = re.findall(r"verify-proofs\.js.{0,400}?\b([0-9a-f]{64})\b", README.read_text(), re.S)
    assert printed and set(printed) == {digest}, "README.md must print verify-proofs.js's SHA-256"
