"""Evidence items and their custody timelines (metadata only: bytes go through delivery)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request, Response
from sqlalchemy import select
from sqlalchemy.orm import Session

from api.context import AppContext
from api.http.callers import Caller, known_caller, read_once
from api.http.convert import item_out
from api.http.copy_reads import copies_out
from api.http.copy_schemas import CopiesOut
from api.http.deps import EVIDENCE_READERS, app_context
from api.http.item_reads import custody_json, item_json, items_json
from api.http.moments import moment
from api.http.problems import PROBLEM_SCHEMA
from api.http.retention_schemas import ReasonIn
from api.http.schemas import DeviceOut, EventOut, ItemOut, StationOut
from api.http.work import Work, work_for
from custody.access.virus_release import release_infected
from vault.items import ItemFilter, find_item
from vault.models import Device, ItemStatus, Role, Station, User

MOMENT = (
    "recorded {}: an ISO 8601 time with its offset or Z, or a date (the start of that day in"
    " the vault's display time zone); a time without a zone is refused"
)
router = APIRouter(responses={401: PROBLEM_SCHEMA, 403: PROBLEM_SCHEMA})
Reader = Annotated[Work, Depends(work_for(*EVIDENCE_READERS))]
# The hottest reads: the caller as looked up at most a second ago (api.http.callers).
KnownReader = Annotated[Caller, Depends(known_caller(*EVIDENCE_READERS))]
Context = Annotated[AppContext, Depends(app_context)]
JSON = "application/json"


@router.get("/items", response_model=list[ItemOut], tags=["items"], summary="List items")
async def get_items(
    work: Reader,
    context: Annotated[AppContext, Depends(app_context)],
    station: Annotated[str | None, Query(max_length=100, examples=["station-01"])] = None,
    device: Annotated[str | None, Query(max_length=100, examples=["CAM1"])] = None,
    officer: Annotated[str | None, Query(max_length=100, examples=["P1001"])] = None,
    since: Annotated[
        str | None,
        Query(
            max_length=40,
            description=MOMENT.format("at or after"),
            examples=["2026-12-02T10:00:00+08:00"],
        ),
    ] = None,
    until: Annotated[
        str | None,
        Query(max_length=40, description=MOMENT.format("before"), examples=["2026-12-03"]),
    ] = None,
    status: ItemStatus | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 200,
) -> Response:
    """Newest first. Filters combine; times are ISO 8601 with a zone, or dates."""
    zone = context.settings.display_timezone
    flt = ItemFilter(
        station, device, officer, moment(since, name="since", zone=zone),
        moment(until, name="until", zone=zone), status, limit,
    )  # fmt: skip
    return Response(await work(lambda session, _: items_json(session, flt)), media_type=JSON)


@router.get(
    "/items/{ref}",
    response_model=ItemOut,
    tags=["items"],
    summary="One item",
    responses={404: PROBLEM_SCHEMA},
)
async def get_item(_: KnownReader, request: Request, context: Context, ref: str) -> Response:
    """``ref`` is the item id, a unique prefix of it, or a unique prefix of its digest."""
    return Response(await read_once(request, context, item_json, ref), media_type=JSON)


@router.get(
    "/items/{ref}/custody",
    response_model=list[EventOut],
    tags=["items"],
    summary="An item's custody chain",
    responses={404: PROBLEM_SCHEMA},
)
async def get_custody(_: KnownReader, request: Request, context: Context, ref: str) -> Response:
    """Every custody event of the item in order, with the hashes that chain them."""
    return Response(await read_once(request, context, custody_json, ref), media_type=JSON)


@router.get(
    "/items/{ref}/copies",
    response_model=CopiesOut,
    tags=["items"],
    summary="An item's stored copies, their fixity, and its rendition",
    responses={404: PROBLEM_SCHEMA},
)
async def get_copies(work: Reader, ref: str) -> CopiesOut:
    """Each stored copy (sealed, access, rendition, derived copies, sidecars) with its digest,
    size and last fixity result; the rendition's state. A destroyed item's copies are listed
    as destroyed, with when."""
    return await work(lambda session, _: copies_out(session, find_item(session, ref)))


@router.get("/stations", response_model=list[StationOut], tags=["stations"])
async def get_stations(work: Reader) -> list[StationOut]:
    def listed(session: Session, _: User) -> list[StationOut]:
        rows = session.execute(select(Station).order_by(Station.name)).scalars()
        return [StationOut.model_validate(s, from_attributes=True) for s in rows]

    return await work(listed)


@router.get("/devices", response_model=list[DeviceOut], tags=["stations"])
async def get_devices(work: Reader) -> list[DeviceOut]:
    def listed(session: Session, _: User) -> list[DeviceOut]:
        rows = session.execute(select(Device).order_by(Device.serial)).scalars()
        return [DeviceOut.model_validate(d, from_attributes=True) for d in rows]

    return await work(listed)


@router.post(
    "/items/{ref}/virus-release",
    response_model=ItemOut,
    tags=["items"],
    responses={404: PROBLEM_SCHEMA, 409: PROBLEM_SCHEMA, 422: PROBLEM_SCHEMA},
)
async def post_virus_release(
    work: Annotated[Work, Depends(work_for(Role.APPROVER))], ref: str, body: ReasonIn
) -> ItemOut:
    """Let a recording that the virus check flagged infected be handed out (renditions,
    deliveries, exports). The decision and its reason are a `virus_override` custody event."""
    return await work(
        lambda session, user: item_out(
            release_infected(session, ref=ref, approver=user, reason=body.reason)
        )
    )
