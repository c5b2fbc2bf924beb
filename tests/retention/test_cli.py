"""The retention commands as an operator runs them, each a real `evault` process."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from subprocess import CompletedProcess
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import NameOID

from tests.conftest import Vault, make_vault, run_cli
from tests.custody.test_audit_report import pyhanko_validate
from tests.retention.conftest import ROLES, VaultClock, add_people, ingest_expiring, wait_until
from tests.serving import serving
from vault import accounts
from vault.db import unit_of_work
from vault.moments import for_people


def _tokens(v: Vault) -> dict[str, str]:
    with unit_of_work(v.app.factory) as session:
        return {name: accounts.issue_token(session, username=name).secret for name in ROLES}


def test_the_workflow_at_the_terminal(
    isolated_env: Path, clip_dir: Path, clock: VaultClock
) -> None:
    v = make_vault(isolated_env)
    add_people(v)
    tokens = _tokens(v)
    first, second = ingest_expiring(v, clip_dir, clock, clips=2, seconds=4)
    env = v.env()

    def cli(*args: str, as_user: str | None = None, code: int = 0) -> str:
        extra = ["--token", tokens[as_user]] if as_user else []
        done = run_cli([*args, *extra], env, v.root)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return done.stdout + done.stderr

    shown = cli("show", str(first.id))
    assert "long_term: in no case: 30 years from receipt" in shown
    refused = cli("retention", "policy-set", "--unattached-years", "5", "-m", "cut",
                  as_user="admin", code=3)  # fmt: skip
    assert "shorten the retention of 2 existing item(s)" in refused
    assert "version 1" in cli("retention", "policy")

    wait_until(max(first.retain_until, second.retain_until) + timedelta(seconds=1))  # type: ignore[type-var]
    due = cli("retention", "due")
    assert str(first.id) in due and str(second.id) in due and "no case" in due
    assert for_people(first.retain_until, v.settings.display_timezone) in due  # one form
    keep_until = (datetime.now(UTC) + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
    appraised = cli(
        "retention", "appraise", "--destroy", str(first.id), "--keep", str(second.id),
        "--keep-until", keep_until, "--member", "appraiser2", "-m", "meeting 12",
        as_user="appraiser1",
    )  # fmt: skip
    number = re.search(r"APR-\d{8}-\d{4}", appraised).group(0)  # type: ignore[union-attr]
    early = cli("retention", "destroy", number, as_user="executor", code=3)
    assert "only an approved batch is destroyed" in early and "nothing was deleted" in early
    cli("retention", "approve", number, "-m", "approved", as_user="principal")
    cli("retention", "supervise", number, as_user="supervisor")
    destroyed = cli("retention", "destroy", number, as_user="executor")
    assert "1 item(s) destroyed" in destroyed
    register = isolated_env / "register.pdf"
    cli("retention", "register", number, "-o", str(register))
    checked = pyhanko_validate(register, v.settings.keys_path / "ca" / "ca.pem")
    assert checked.stdout.count("The signature is judged VALID") == 2, checked.stdout
    assert "destroyed" in cli("retention", "batches")

    # Holds, cases and categories on the kept item.
    placed = cli("hold", "place", str(second.id), "-m", "appeal", "--reference", "order 5",
                 as_user="approver")  # fmt: skip
    hold_id = re.search(r"hold (\S+) placed", placed).group(1)  # type: ignore[union-attr]
    assert "order 5" in cli("hold", "list")
    cli("hold", "release", hold_id, "-m", "appeal withdrawn", as_user="approver")
    cli("case", "open", "2026-9", "--title", "scuffle", as_user="custodian")
    cli("case", "attach", "2026-9", str(second.id), as_user="custodian")
    cli("case", "close", "2026-9", as_user="custodian")
    cli("case", "flag", "2026-9", "litigation", as_user="custodian")
    assert "permanent (case_permanent: case 2026-9 is flagged litigation)" in cli(
        "show", str(second.id)
    )
    assert "obstruction" in cli("retention", "categorize", str(second.id), "obstruction",
                                as_user="custodian")  # fmt: skip
    wrong_role = cli("case", "close", "2026-9", as_user="appraiser1", code=3)
    assert "needs one of the roles: custodian" in wrong_role
    audit = run_cli(["audit", "verify"], env, v.root)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    v.app.engine.dispose()


def test_the_workflow_from_another_desk(
    isolated_env: Path, clip_dir: Path, clock: VaultClock
) -> None:
    """The same steps through `--url` against a real `evault serve` (issue 22): the appraisal
    group, the principal, the supervisor and the executor each at their own desk; the same
    JSON as on the host, the same refusals with the same exit codes."""
    v = make_vault(isolated_env)
    add_people(v)
    tokens = _tokens(v)
    first, second = ingest_expiring(v, clip_dir, clock, clips=2, seconds=4)
    env = v.env()

    def run(*args: str, as_user: str, remote: bool = True, code: int = 0) -> CompletedProcess[str]:
        where = ["--url", url] if remote else []
        done = run_cli([*where, *args, "--token", tokens[as_user]], env, v.root)
        assert done.returncode == code, (args, done.stdout, done.stderr)
        return done

    def here_and_there(*args: str, as_user: str) -> Any:
        here = json.loads(run(*args, "--json", as_user=as_user, remote=False).stdout)
        there = json.loads(run(*args, "--json", as_user=as_user).stdout)
        assert here == there, args
        return there

    with serving(v) as url:
        wait_until(max(first.retain_until, second.retain_until) + timedelta(seconds=1))  # type: ignore[type-var]
        due = here_and_there("retention", "due", as_user="appraiser1")
        assert {d["item"] for d in due} == {str(first.id), str(second.id)}
        keep_until = (datetime.now(UTC) + timedelta(days=400)).strftime("%Y-%m-%dT%H:%M:%SZ")
        batch = json.loads(run(
            "retention", "appraise", "--destroy", str(first.id), "--keep", str(second.id),
            "--keep-until", keep_until, "--member", "appraiser2", "-m", "meeting 12", "--json",
            as_user="appraiser1",
        ).stdout)  # fmt: skip
        number = batch["number"]
        assert batch["status"] == "appraised" and len(batch["decisions"]) == 2
        early = [run("retention", "destroy", number, as_user="executor", remote=remote, code=3)
                 for remote in (False, True)]  # fmt: skip
        assert early[0].stderr == early[1].stderr and "nothing was deleted" in early[1].stderr
        run("retention", "approve", number, "-m", "approved", as_user="principal")
        run("retention", "supervise", number, as_user="supervisor")
        destroyed = run("retention", "destroy", number, as_user="executor").stdout
        assert "1 item(s) destroyed" in destroyed
        (listed,) = here_and_there("retention", "batches", as_user="appraiser1")
        assert (listed["number"], listed["status"]) == (number, "destroyed")
        assert listed["executor"] == "executor" and listed["register_digest"]

        hold = json.loads(run("hold", "place", str(second.id), "-m", "appeal", "--reference",
                              "order 5", "--json", as_user="approver").stdout)  # fmt: skip
        assert (hold["item"], hold["placed_by"]) == (str(second.id), "approver")
        released = run("hold", "release", hold["id"][:8], "-m", "withdrawn", as_user="approver")
        assert f"hold {hold['id']} released" in released.stdout
        run("case", "open", "2026-9", "--title", "scuffle", as_user="custodian")
        run("case", "attach", "2026-9", str(second.id), as_user="custodian")
        run("case", "close", "2026-9", as_user="custodian")
        flagged = json.loads(run("case", "flag", "2026-9", "litigation", "--json",
                                 as_user="custodian").stdout)  # fmt: skip
        assert flagged["flags"] == ["litigation"] and flagged["items"] == [str(second.id)]
        shown = here_and_there("show", str(second.id), as_user="custodian")
        assert shown["retention"]["retain_until"] is None  # permanent, by the case's flag
        wrong = [run("case", "close", "2026-9", as_user="appraiser1", remote=remote, code=3)
                 for remote in (False, True)]  # fmt: skip
        assert wrong[0].stderr == wrong[1].stderr and "custodian" in wrong[1].stderr
        host_only = run_cli(["--url", url, "retention", "register", number, "-o", "x.pdf"],
                            env, v.root)  # fmt: skip
        assert host_only.returncode == 2 and "work from any desk" in host_only.stderr
    audit = run_cli(["audit", "verify"], env, v.root)
    assert audit.returncode == 0, audit.stdout + audit.stderr
    v.app.engine.dispose()


def _external_ca(directory: Path) -> tuple[Path, ec.EllipticCurvePrivateKey, x509.Certificate]:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Provincial police CA")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=3650))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    path = directory / "external-ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return path, key, cert


def _person_p12(ca_key: ec.EllipticCurvePrivateKey, ca: x509.Certificate, password: bytes) -> bytes:
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Zhao Lei")]))
        .issuer_name(ca.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(hours=1)).not_valid_after(now + timedelta(days=365))
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    return pkcs12.serialize_key_and_certificates(
        b"zhao", key, cert, [ca], serialization.BestAvailableEncryption(password)
    )


def test_signing_keys_from_the_vault_ca_or_an_external_one(isolated_env: Path) -> None:
    v = make_vault(isolated_env)
    with unit_of_work(v.app.factory) as session:
        accounts.add_user(session, username="zhao.lei", roles=["executor"])
    env = v.env()
    made = run_cli(["user", "keys", "zhao.lei"], env, v.root)
    assert made.returncode == 0, made.stderr
    key_file = v.settings.keys_path / "users" / "zhao.lei.key"
    assert key_file.stat().st_mode & 0o777 == 0o600

    ca_path, ca_key, ca = _external_ca(isolated_env)
    p12 = isolated_env / "zhao.p12"
    p12.write_bytes(_person_p12(ca_key, ca, b"s3cret"))
    passphrase = isolated_env / "passphrase"
    passphrase.write_text("s3cret\n")
    external = {**env, "EVAULT_SIGNING_CA": str(ca_path)}
    issued = run_cli(["user", "keys", "zhao.lei"], external, v.root)
    assert issued.returncode == 2 and "import this person's certificate" in issued.stderr
    wrong = run_cli(["user", "keys", "zhao.lei", "--pkcs12", str(p12)], external, v.root)
    assert wrong.returncode == 2 and "cannot use that key" in wrong.stderr
    imported = run_cli(
        ["user", "keys", "zhao.lei", "--pkcs12", str(p12), "--passphrase-file", str(passphrase)],
        external, v.root,
    )  # fmt: skip
    assert imported.returncode == 0, imported.stderr
    assert "s3cret" not in imported.stdout + imported.stderr
    replaced = list((v.settings.keys_path / "users").glob("zhao.lei.key.*.old"))
    assert replaced, "a replaced key is kept beside the new one"
    # A key and certificate from the vault's own CA are not from the configured external CA.
    users = v.settings.keys_path / "users"
    foreign = run_cli(
        ["user", "keys", "zhao.lei", "--key", str(replaced[0]),
         "--cert", str(next(users.glob("zhao.lei.pem.*.old")))],
        external, v.root,
    )  # fmt: skip
    assert foreign.returncode == 2 and "not issued by the configured CA" in foreign.stderr
    v.app.engine.dispose()
