"""What the retention, hold and case commands change, on this host's database or through the
API (`--url`): both return the API's own schemas, so a command prints the same words and the
same `--json` either way, and the same service function decides on the host as behind the
route (tests/test_entry_points.py).

As on the API, every step acts as the holder of the token given, with their roles."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from pydantic import TypeAdapter

from api.cli import shared
from api.cli.remote import ApiClient, segment
from api.http.retention_schemas import BatchOut, DestructionOut, DueItemOut, HoldOut
from api.http.schemas import CaseOut

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from api.context import AppContext
    from retention.appraisal import DecisionIn
    from vault.models import User
    from vault.roles import CaseFlag, Role

DESTRUCTION_TIMEOUT_S = 3600.0  # the server deletes every copy and signs before it answers


class Steps(Protocol):
    zone: str

    def due(self) -> list[DueItemOut]: ...
    def batches(self) -> list[BatchOut]: ...
    def appraise(self, members: list[str], decisions: list[DecisionIn]) -> BatchOut: ...
    def decide(self, number: str, *, approve: bool, note: str) -> BatchOut: ...
    def supervise(self, number: str) -> BatchOut: ...
    def destroy(self, number: str) -> DestructionOut: ...
    def place_hold(self, item: str, *, reason: str, reference: str) -> HoldOut: ...
    def release_hold(self, ref: str, *, reason: str) -> HoldOut: ...
    def open_case(self, number: str, *, title: str, flags: list[CaseFlag]) -> CaseOut: ...
    def attach(self, number: str, items: list[str]) -> CaseOut: ...
    def close_case(self, number: str) -> CaseOut: ...
    def flag_case(self, number: str, flags: list[CaseFlag]) -> CaseOut: ...


def steps(token: str) -> Steps:
    """Through the API when --url / EVAULT_URL is set, else this host's database."""
    if shared.remote_url():
        return RemoteSteps(shared.remote_url() or "", token)
    return LocalSteps(shared.context(), token)


class LocalSteps:
    def __init__(self, app: AppContext, token: str) -> None:
        self.app = app
        self.token = token
        self.zone = app.settings.display_timezone

    def _me(self, session: Session, *roles: Role) -> User:
        from api.cli.requests import _me
        from vault.accounts import holding

        return holding(_me(session, self.token), roles)

    def due(self) -> list[DueItemOut]:
        from api.http.convert import due_out
        from vault.db import unit_of_work

        with unit_of_work(self.app.factory, read_only=True) as session:
            return due_out(session)

    def batches(self) -> list[BatchOut]:
        from api.http.routes.retention import batch_out
        from retention import appraisal
        from vault.db import unit_of_work

        with unit_of_work(self.app.factory, read_only=True) as session:
            return [batch_out(b) for b in appraisal.list_batches(session)]

    def appraise(self, members: list[str], decisions: list[DecisionIn]) -> BatchOut:
        from api.http.routes.retention import batch_out
        from retention import appraisal
        from vault.db import unit_of_work
        from vault.roles import Role

        with unit_of_work(self.app.factory) as session:
            user = self._me(session, Role.APPRAISER)
            batch = appraisal.appraise(session, self.app.stores, user=user, members=members,
                                       decisions=decisions, zone=self.zone)  # fmt: skip
            return batch_out(batch)

    def decide(self, number: str, *, approve: bool, note: str) -> BatchOut:
        from api.http.routes.retention import batch_out
        from retention import appraisal
        from vault.db import unit_of_work
        from vault.roles import Role

        with unit_of_work(self.app.factory) as session:
            user = self._me(session, Role.PRINCIPAL)
            batch = appraisal.decide_batch(session, number, user=user, approve=approve, note=note)
            return batch_out(batch)

    def supervise(self, number: str) -> BatchOut:
        from api.http.routes.retention import batch_out
        from retention import appraisal
        from vault.db import unit_of_work
        from vault.roles import Role

        with unit_of_work(self.app.factory) as session:
            user = self._me(session, Role.SUPERVISOR)
            return batch_out(appraisal.supervise(session, number, user=user))

    def destroy(self, number: str) -> DestructionOut:
        # pyHanko and reportlab load only for the commands that sign (a lighter start-up).
        from retention.destruction import execute
        from vault.db import unit_of_work
        from vault.roles import Role

        with unit_of_work(self.app.factory, read_only=True) as session:
            executor = self._me(session, Role.EXECUTOR).username
        done = execute(self.app.factory, self.app.stores, self.app.settings, number,
                       executor=executor)  # fmt: skip
        return DestructionOut(
            batch=done.batch, items=done.items, objects_deleted=done.objects_deleted,
            objects_absent=done.objects_absent, register_digest=done.register_digest,
            register_size=done.register_size, checkpoint_size=done.checkpoint_size,
        )  # fmt: skip

    def place_hold(self, item: str, *, reason: str, reference: str) -> HoldOut:
        from api.http.convert import hold_out
        from retention import holds
        from vault.db import unit_of_work
        from vault.roles import Role

        with unit_of_work(self.app.factory) as session:
            user = self._me(session, Role.APPROVER)
            return hold_out(holds.place_hold(session, self.app.stores, item, user=user,
                                             reason=reason, reference=reference))  # fmt: skip

    def release_hold(self, ref: str, *, reason: str) -> HoldOut:
        from api.http.convert import hold_out
        from retention import holds
        from vault.db import unit_of_work
        from vault.roles import Role

        with unit_of_work(self.app.factory) as session:
            user = self._me(session, Role.APPROVER)
            found = holds.find_hold(session, ref)
            return hold_out(holds.release_hold(session, self.app.stores, found.id, user=user,
                                               reason=reason))  # fmt: skip

    def open_case(self, number: str, *, title: str, flags: list[CaseFlag]) -> CaseOut:
        from api.http.convert import case_out
        from vault.cases import open_case
        from vault.db import unit_of_work
        from vault.roles import Role

        with unit_of_work(self.app.factory) as session:
            self._me(session, Role.CUSTODIAN, Role.INVESTIGATOR)
            return case_out(open_case(session, number=number, title=title, flags=flags))

    def attach(self, number: str, items: list[str]) -> CaseOut:
        from api.http.convert import case_out
        from retention import changes
        from vault.db import unit_of_work
        from vault.roles import Role

        with unit_of_work(self.app.factory) as session:
            user = self._me(session, Role.CUSTODIAN, Role.INVESTIGATOR)
            return case_out(changes.attach(session, self.app.stores, number, items, user=user))

    def close_case(self, number: str) -> CaseOut:
        from api.http.convert import case_out
        from retention import changes
        from vault.db import unit_of_work
        from vault.roles import Role

        with unit_of_work(self.app.factory) as session:
            user = self._me(session, Role.CUSTODIAN)
            return case_out(changes.close_case(session, self.app.stores, number, user=user))

    def flag_case(self, number: str, flags: list[CaseFlag]) -> CaseOut:
        from api.http.convert import case_out
        from retention import changes
        from vault.db import unit_of_work
        from vault.roles import Role

        with unit_of_work(self.app.factory) as session:
            user = self._me(session, Role.CUSTODIAN)
            return case_out(changes.flag_case(session, self.app.stores, number, flags, user=user))


class RemoteSteps:
    def __init__(self, url: str, token: str) -> None:
        self.api = ApiClient(url, token)
        self.zone = shared.settings().display_timezone

    def due(self) -> list[DueItemOut]:
        return TypeAdapter(list[DueItemOut]).validate_python(self.api.get("/retention/due"))

    def batches(self) -> list[BatchOut]:
        return TypeAdapter(list[BatchOut]).validate_python(self.api.get("/appraisals"))

    def appraise(self, members: list[str], decisions: list[DecisionIn]) -> BatchOut:
        body: dict[str, Any] = {
            "members": members,
            "decisions": [
                {"item": d.item, "decision": d.decision.value, "reason": d.reason,
                 "keep_until": d.keep_until.isoformat() if d.keep_until else None}
                for d in decisions
            ],
        }  # fmt: skip
        return BatchOut.model_validate(self.api.post("/appraisals", body))

    def decide(self, number: str, *, approve: bool, note: str) -> BatchOut:
        verb = "approve" if approve else "refuse"
        answer = self.api.post(f"/appraisals/{segment(number)}/{verb}", {"note": note})
        return BatchOut.model_validate(answer)

    def supervise(self, number: str) -> BatchOut:
        return BatchOut.model_validate(
            self.api.post(f"/appraisals/{segment(number)}/supervise", {})
        )

    def destroy(self, number: str) -> DestructionOut:
        answer = self.api.post(f"/appraisals/{segment(number)}/execute", {},
                               timeout=DESTRUCTION_TIMEOUT_S)  # fmt: skip
        return DestructionOut.model_validate(answer)

    def place_hold(self, item: str, *, reason: str, reference: str) -> HoldOut:
        answer = self.api.post(f"/items/{segment(item)}/holds",
                               {"reason": reason, "reference": reference})  # fmt: skip
        return HoldOut.model_validate(answer)

    def release_hold(self, ref: str, *, reason: str) -> HoldOut:
        # The API lists the active holds, the only ones that can be released: the prefix is
        # matched among them as the host matches it among all.
        from vault.id_prefix import one_by_prefix

        active = TypeAdapter(list[HoldOut]).validate_python(self.api.get("/holds"))
        chosen = one_by_prefix((h.id for h in active), ref, what="legal hold",
                               missing=f"no active legal hold {ref!r}")  # fmt: skip
        answer = self.api.post(f"/holds/{chosen}/release", {"reason": reason})
        return HoldOut.model_validate(answer)

    def open_case(self, number: str, *, title: str, flags: list[CaseFlag]) -> CaseOut:
        body = {"number": number, "title": title, "flags": [f.value for f in flags]}
        return CaseOut.model_validate(self.api.post("/cases", body))

    def attach(self, number: str, items: list[str]) -> CaseOut:
        answer = self.api.post(f"/cases/{segment(number)}/items", {"items": items})
        return CaseOut.model_validate(answer)

    def close_case(self, number: str) -> CaseOut:
        return CaseOut.model_validate(self.api.post(f"/cases/{segment(number)}/close", {}))

    def flag_case(self, number: str, flags: list[CaseFlag]) -> CaseOut:
        body = {"flags": [f.value for f in flags]}
        return CaseOut.model_validate(self.api.post(f"/cases/{segment(number)}/flags", body))
