"""What the person-facing commands read and decide, from this host's database or through the
API (`--url`): both give the API's own schemas (api.http.schemas), so `--json` prints the
same document either way and the tables are drawn from the same fields.

Locally, reading items needs no token (the vault's host account sees everything, as before);
requests and decisions act as the token's holder, as the API does."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from pydantic import BaseModel, TypeAdapter

from api.cli import shared
from api.cli.remote import ApiClient, segment
from api.http.copy_schemas import CopiesOut
from api.http.gap_schemas import GapOut
from api.http.retention_schemas import HoldOut, RetentionOut
from api.http.schemas import AlertOut, CaseOut, EventOut, ItemOut, RequestOut
from api.http.sla_schemas import StationSlaOut
from vault.errors import InputRejected

if TYPE_CHECKING:
    from api.context import AppContext


class ItemRecord(BaseModel):
    """`evault show --json`: the item, its retention and its copies, as GET /items/{ref},
    GET /items/{ref}/retention and GET /items/{ref}/copies answer them."""

    item: ItemOut
    retention: RetentionOut
    copies: CopiesOut


class ListedToken(BaseModel):
    """`evault token list --json`: what the vault keeps of a token (never the token)."""

    prefix: str
    holder: str
    label: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None


@dataclass(frozen=True)
class ItemQuery:
    station: str | None = None
    device: str | None = None
    officer: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    limit: int = 200


class Reads(Protocol):
    zone: str

    def items(self, query: ItemQuery) -> list[ItemOut]: ...
    def item(self, ref: str) -> ItemRecord: ...
    def custody(self, ref: str) -> list[EventOut]: ...
    def requests(self) -> list[RequestOut]: ...
    def request(self, number: str) -> RequestOut: ...
    def decide(self, number: str, *, approve: bool, reason: str) -> RequestOut: ...
    def ask(self, fields: dict[str, Any]) -> RequestOut: ...
    def cases(self) -> list[CaseOut]: ...
    def case(self, number: str) -> CaseOut: ...
    def holds(self, *, released_too: bool) -> list[HoldOut]: ...
    def gaps(self, *, device: str | None, explained_too: bool) -> list[GapOut]: ...
    def alerts(self, *, limit: int, open_only: bool = False) -> list[AlertOut]: ...
    def acknowledge(self, ref: str, *, reason: str) -> AlertOut: ...
    def sla(self) -> list[StationSlaOut]: ...


def reads(token: str) -> Reads:
    """Through the API when --url / EVAULT_URL is set, else this host's database."""
    if shared.remote_url():
        return RemoteReads(shared.remote_url() or "", token)
    return LocalReads(shared.context(), token)


class LocalReads:
    def __init__(self, app: AppContext, token: str) -> None:
        self.app = app
        self.token = token
        self.zone = app.settings.display_timezone

    def items(self, query: ItemQuery) -> list[ItemOut]:
        from api.http.item_reads import items_view
        from vault.db import unit_of_work
        from vault.items import ItemFilter

        found = ItemFilter(station=query.station, device=query.device, officer=query.officer,
                           since=query.since, until=query.until, limit=query.limit)  # fmt: skip
        with unit_of_work(self.app.factory, read_only=True) as session:
            return items_view(session, found)

    def item(self, ref: str) -> ItemRecord:
        from api.http.convert import item_out, retention_out
        from api.http.copy_reads import copies_out
        from vault.db import unit_of_work
        from vault.items import find_item

        with unit_of_work(self.app.factory, read_only=True) as session:
            item = find_item(session, ref)
            return ItemRecord(item=item_out(item), retention=retention_out(session, item),
                              copies=copies_out(session, item))  # fmt: skip

    def custody(self, ref: str) -> list[EventOut]:
        from api.http.convert import event_out
        from custody.log.append import events_for
        from vault.db import unit_of_work
        from vault.items import find_item

        with unit_of_work(self.app.factory, read_only=True) as session:
            return [event_out(e) for e in events_for(session, find_item(session, ref).id)]

    def requests(self) -> list[RequestOut]:
        from api.cli.requests import _me
        from api.http.convert import request_out
        from custody.access import requests as access
        from vault.db import unit_of_work

        with unit_of_work(self.app.factory, read_only=True) as session:
            user = _me(session, self.token)
            return [request_out(r) for r in access.visible_requests(session, user)]

    def request(self, number: str) -> RequestOut:
        from api.cli.requests import _me
        from api.http.convert import request_out
        from custody.access import requests as access
        from vault.db import unit_of_work
        from vault.errors import NotFound

        with unit_of_work(self.app.factory, read_only=True) as session:
            user = _me(session, self.token)
            found = access.find_request(session, number)
            if found not in access.visible_requests(session, user):
                raise NotFound(f"no access request {number!r}")  # as the API says it
            return request_out(found)

    def decide(self, number: str, *, approve: bool, reason: str) -> RequestOut:
        from api.cli.requests import _me
        from api.http.convert import request_out
        from custody.access import requests as access
        from vault.db import unit_of_work
        from vault.roles import Role

        with unit_of_work(self.app.factory) as session:
            user = _me(session, self.token, Role.APPROVER)
            decided = access.decide(
                session, ref=number, approver=user, approve=approve, reason=reason
            )
            return request_out(decided)

    def ask(self, fields: dict[str, Any]) -> RequestOut:
        from api.cli.requests import _me
        from api.http.convert import request_out
        from custody.access import requests as access
        from custody.access.purposes import Purpose, RequesterKind
        from vault.db import unit_of_work
        from vault.roles import Role

        new = access.NewRequest(**fields | {
            "purpose": Purpose(fields["purpose"]),
            "requester_kind": RequesterKind(fields["requester_kind"]),
        })  # fmt: skip
        with unit_of_work(self.app.factory) as session:
            user = _me(session, self.token, Role.INVESTIGATOR)
            made = access.create_request(
                session, user=user, new=new, zone=self.app.settings.display_timezone,
                views_need_approval=self.app.settings.views_need_approval,
            )  # fmt: skip
            return request_out(made)

    def cases(self) -> list[CaseOut]:
        from api.http.convert import case_out
        from vault.cases import list_cases
        from vault.db import unit_of_work

        with unit_of_work(self.app.factory, read_only=True) as session:
            return [case_out(c) for c in list_cases(session)]

    def case(self, number: str) -> CaseOut:
        from api.http.convert import case_out
        from vault.cases import find_case
        from vault.db import unit_of_work

        with unit_of_work(self.app.factory, read_only=True) as session:
            return case_out(find_case(session, number))

    def holds(self, *, released_too: bool) -> list[HoldOut]:
        from api.http.convert import hold_out
        from retention import holds
        from vault.db import unit_of_work

        with unit_of_work(self.app.factory, read_only=True) as session:
            return [hold_out(h) for h in holds.list_holds(session, active_only=not released_too)]

    def gaps(self, *, device: str | None, explained_too: bool) -> list[GapOut]:
        from api.http.gap_schemas import gap_out
        from ingest.gap_service import list_gaps
        from vault.db import unit_of_work

        with unit_of_work(self.app.factory, read_only=True) as session:
            found = list_gaps(session, self.app.settings, device=device)
            return [gap_out(g) for g in found if explained_too or g.explanation is None]

    def alerts(self, *, limit: int, open_only: bool = False) -> list[AlertOut]:
        from vault.alerts import recent_alerts
        from vault.db import unit_of_work

        with unit_of_work(self.app.factory, read_only=True) as session:
            found = recent_alerts(session, limit=limit, open_only=open_only)
            return [AlertOut.model_validate(a, from_attributes=True) for a in found]

    def acknowledge(self, ref: str, *, reason: str) -> AlertOut:
        from api.cli.requests import _me
        from custody.admin.acts import acknowledge_alert
        from vault.db import unit_of_work

        with unit_of_work(self.app.factory) as session:
            done = acknowledge_alert(session, user=_me(session, self.token), ref=ref,
                                     reason=reason)  # fmt: skip
            return AlertOut.model_validate(done, from_attributes=True)

    def sla(self) -> list[StationSlaOut]:
        from api.http.sla_schemas import sla_out
        from ingest.deadline import deadline_of
        from ingest.sla import sla_report
        from vault.db import unit_of_work, utcnow

        deadline = deadline_of(self.app.settings)
        with unit_of_work(self.app.factory, read_only=True) as session:
            return sla_out(sla_report(session, deadline=deadline, now=utcnow()), deadline)


class RemoteReads:
    def __init__(self, url: str, token: str) -> None:
        self.api = ApiClient(url, token)
        # Times for people are in the vault's zone; the client's settings name it (default
        # Asia/Shanghai), so a desk far from the vault can still choose its own.
        self.zone = shared.settings().display_timezone

    def items(self, query: ItemQuery) -> list[ItemOut]:
        params = {
            "station": query.station, "device": query.device, "officer": query.officer,
            "since": query.since.isoformat() if query.since else None,
            "until": query.until.isoformat() if query.until else None, "limit": query.limit,
        }  # fmt: skip
        return TypeAdapter(list[ItemOut]).validate_python(self.api.get("/items", params))

    def item(self, ref: str) -> ItemRecord:
        item = ItemOut.model_validate(self.api.get(f"/items/{segment(ref)}"))
        retention = RetentionOut.model_validate(self.api.get(f"/items/{item.id}/retention"))
        copies = CopiesOut.model_validate(self.api.get(f"/items/{item.id}/copies"))
        return ItemRecord(item=item, retention=retention, copies=copies)

    def custody(self, ref: str) -> list[EventOut]:
        events = self.api.get(f"/items/{segment(ref)}/custody")
        return TypeAdapter(list[EventOut]).validate_python(events)

    def requests(self) -> list[RequestOut]:
        return TypeAdapter(list[RequestOut]).validate_python(self.api.get("/requests"))

    def request(self, number: str) -> RequestOut:
        return RequestOut.model_validate(self.api.get(f"/requests/{segment(number)}"))

    def decide(self, number: str, *, approve: bool, reason: str) -> RequestOut:
        verb = "approve" if approve else "refuse"
        answer = self.api.post(f"/requests/{segment(number)}/{verb}", {"reason": reason})
        return RequestOut.model_validate(answer)

    def ask(self, fields: dict[str, Any]) -> RequestOut:
        return RequestOut.model_validate(self.api.post("/requests", fields))

    def cases(self) -> list[CaseOut]:
        return TypeAdapter(list[CaseOut]).validate_python(self.api.get("/cases"))

    def case(self, number: str) -> CaseOut:
        return CaseOut.model_validate(self.api.get(f"/cases/{segment(number)}"))

    def holds(self, *, released_too: bool) -> list[HoldOut]:
        if released_too:
            raise InputRejected("the API lists active holds only: run --all on the vault's host")
        return TypeAdapter(list[HoldOut]).validate_python(self.api.get("/holds"))

    def gaps(self, *, device: str | None, explained_too: bool) -> list[GapOut]:
        found = self.api.get("/gaps", {"device": device, "unexplained": not explained_too})
        return TypeAdapter(list[GapOut]).validate_python(found)

    def alerts(self, *, limit: int, open_only: bool = False) -> list[AlertOut]:
        found = self.api.get("/alerts", {"limit": limit, "open": open_only})
        return TypeAdapter(list[AlertOut]).validate_python(found)

    def acknowledge(self, ref: str, *, reason: str) -> AlertOut:
        answer = self.api.post(f"/alerts/{segment(ref)}/acknowledge", {"reason": reason})
        return AlertOut.model_validate(answer)

    def sla(self) -> list[StationSlaOut]:
        return TypeAdapter(list[StationSlaOut]).validate_python(self.api.get("/sla"))
