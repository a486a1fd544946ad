"""``/v1/compliance/lists``: the sanctions list snapshots, and loading a new one.

``GET`` lists every loaded snapshot, newest first (``source``, ``status`` filter them).

``POST`` loads a list file set as the new active snapshot of its source, either

* as a ``multipart/form-data`` upload: the list's files in any file fields, under their
  published names (``sdn.csv``, ``alt.csv``, ``add.csv`` for OFAC SDN; ``dpl.txt``; the UN
  XML ...), with the form fields ``source`` and optionally ``publication_date``
  (``YYYY-MM-DD``, for formats that do not carry one) and ``rescreen_days``; or
* with an ``admin`` key only, as ``{"source": ..., "path": "/srv/lists/ofac_sdn"}``: a
  folder or file already on the server.

The answer reports what the load added, removed and changed (entry ids) against the
previous snapshot of that source; the load is audited and the recent counterparties are
re-screened against the additions in the background. A malformed file set is refused
before anything is written; an identical one leaves the active snapshot in place
(``status: "unchanged"``).
"""

from __future__ import annotations

import datetime as dt
import re
import tempfile
from functools import partial
from pathlib import Path
from typing import Annotated, Any, Literal

import anyio
import msgspec
from litestar import Request as HttpRequest
from litestar import get, post
from litestar.datastructures import UploadFile
from litestar.params import QueryParameter
from sqlalchemy import Select, select, tuple_
from sqlalchemy.orm import Session

from api.auth import ADMIN, COMPLIANCE, Principal, roles
from api.context import PrincipalDep, SessionDep
from api.envelope import Request, timestamp
from api.errors import Forbidden, InvalidRequest, param_from_path
from api.pagination import PAGE, PageDep, list_object
from compliance import rescreening
from compliance.list_loads import load_sanctions_list
from compliance.sanctions import SOURCES, ListFormatError, LoadReport
from compliance.sanctions.tables import SanctionsSnapshot

REPORTED_IDS = 1000
"""At most this many entry ids per added / removed / changed list in the answer."""

Source = Literal["ofac_sdn", "ofac_consolidated", "un", "bis_dpl", "eu"]
DateText = Annotated[str, msgspec.Meta(pattern=r"^\d{4}-\d{2}-\d{2}$")]
RescreenDays = Annotated[int, msgspec.Meta(ge=1, le=3650)]
_FILE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


class ListLoadFromPath(Request):
    source: Source
    path: Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]
    publication_date: DateText | None = None
    rescreen_days: RescreenDays = rescreening.DEFAULT_DAYS


class ListLoadForm(Request):
    """The non-file fields of an upload."""

    source: Source
    publication_date: DateText | None = None
    rescreen_days: RescreenDays = rescreening.DEFAULT_DAYS


def render_snapshot(row: SanctionsSnapshot) -> dict[str, Any]:
    return {
        "id": row.id,
        "object": "sanctions_list",
        "source": row.source,
        "status": row.status,
        "active": row.active_source is not None,
        "publication_date": row.publication_date.isoformat() if row.publication_date else None,
        "checksum": row.checksum,
        "entry_count": row.entry_count,
        "files": list(row.files),
        "created": timestamp(row.loaded_at),
        "livemode": False,
        "previous_snapshot": row.previous_id,
        "added_count": row.added_count,
        "removed_count": row.removed_count,
        "changed_count": row.changed_count,
    }


def _ids(ids: tuple[str, ...]) -> dict[str, Any]:
    return {
        "count": len(ids),
        "entry_ids": list(ids[:REPORTED_IDS]),
        "truncated": len(ids) > REPORTED_IDS,
    }


def render_load(session: Session, report: LoadReport, rescreen_days: int) -> dict[str, Any]:
    snapshot = session.get(SanctionsSnapshot, report.snapshot_id)
    assert snapshot is not None
    queued = report.status == "loaded" and bool(report.added)
    return {
        "object": "sanctions_list_load",
        "status": report.status,
        "source": report.source,
        "message": report.message,
        "snapshot": render_snapshot(snapshot),
        "previous_snapshot": report.previous_snapshot_id,
        "added": _ids(report.added),
        "removed": _ids(report.removed),
        "changed": _ids(report.changed),
        "rescreen": {"queued": queued, "days": rescreen_days if queued else None},
    }


def _decode(raw: bytes | dict[str, Any], model: type[Any]) -> Any:
    try:
        if isinstance(raw, bytes):
            return msgspec.json.decode(raw or b"{}", type=model)
        return msgspec.convert(raw, type=model, strict=False)
    except msgspec.ValidationError as exc:
        message = str(exc)
        at = re.search(r" - at `([^`]+)`$", message)
        param = param_from_path(at.group(1)) if at else None
        text = message[: at.start()] if at else message
        missing = re.match(r"Object missing required field `([^`]+)`", text)
        if missing:
            field = missing.group(1)
            raise InvalidRequest(
                f"Missing required param: {field}.", param=field, code="parameter_missing"
            ) from exc
        unknown = re.match(r"Object contains unknown field `([^`]+)`", text)
        if unknown:
            field = unknown.group(1)
            raise InvalidRequest(
                f"Received unknown parameter: {field}", param=field, code="parameter_unknown"
            ) from exc
        raise InvalidRequest(
            f"Invalid {param}: {text}" if param else text, param=param, code="parameter_invalid"
        ) from exc
    except msgspec.DecodeError as exc:
        raise InvalidRequest("Invalid JSON in the request body.") from exc


def _date(text: str | None) -> dt.date | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise InvalidRequest(
            f"Invalid publication_date: {text!r} is not a date.", param="publication_date"
        ) from exc


def _load(
    session: Session,
    principal: Principal,
    path: Path,
    source: str,
    publication_date: dt.date | None,
    rescreen_days: int,
    param: str,
) -> dict[str, Any]:
    try:
        report = load_sanctions_list(
            session,
            path,
            source,
            actor=principal.key_id,
            publication_date=publication_date,
            rescreen_days=rescreen_days,
        )
    except ListFormatError as exc:
        raise InvalidRequest(
            f"The files are not a {source} list: {exc}", param=param, code="list_format_invalid"
        ) from exc
    return render_load(session, report, rescreen_days)


async def _save_uploads(files: list[UploadFile], folder: Path) -> None:
    seen: set[str] = set()
    for upload in files:
        name = Path(upload.filename or "").name
        if not _FILE_NAME.match(name) or name in seen:
            raise InvalidRequest(
                f"Invalid file name {upload.filename!r}: upload each list file once, under its "
                "published name (e.g. sdn.csv, alt.csv, add.csv).",
                param="file",
            )
        seen.add(name)
        (folder / name).write_bytes(await upload.read())


@post(
    "/v1/compliance/lists",
    status_code=200,
    opt={**roles(COMPLIANCE, ADMIN), "upload": True},
)
async def load_list(
    request: HttpRequest[Any, Any, Any], session: SessionDep, principal: PrincipalDep
) -> dict[str, Any]:
    """Load a sanctions list (an upload, or a server-side path with an admin key)."""
    if request.content_type[0] != "multipart/form-data":
        data: ListLoadFromPath = _decode(await request.body(), ListLoadFromPath)
        if principal.role != ADMIN:
            raise Forbidden(
                "Loading a list from a server-side path needs an admin key; upload the files "
                "instead (multipart/form-data)."
            )
        return await anyio.to_thread.run_sync(
            partial(
                _load,
                session,
                principal,
                Path(data.path),
                data.source,
                _date(data.publication_date),
                data.rescreen_days,
                "path",
            )
        )
    form = await request.form()
    files = [value for _, value in form.multi_items() if isinstance(value, UploadFile)]
    fields = {key: value for key, value in form.multi_items() if isinstance(value, str)}
    upload: ListLoadForm = _decode(fields, ListLoadForm)
    if not files:
        raise InvalidRequest("Upload the list's files (multipart file fields).", param="file")
    with tempfile.TemporaryDirectory(prefix="corridor-list-") as folder:
        await _save_uploads(files, Path(folder))
        return await anyio.to_thread.run_sync(
            partial(
                _load,
                session,
                principal,
                Path(folder),
                upload.source,
                _date(upload.publication_date),
                upload.rescreen_days,
                "file",
            )
        )


def _snapshots_query(source: str | None, status: str | None) -> Select[Any]:
    query = select(SanctionsSnapshot)
    if source:
        query = query.where(SanctionsSnapshot.source == source)
    if status:
        query = query.where(SanctionsSnapshot.status == status)
    return query


@get("/v1/compliance/lists", sync_to_thread=True, dependencies=PAGE, opt=roles(COMPLIANCE, ADMIN))
def list_snapshots(
    session: SessionDep,
    page: PageDep,
    source: Annotated[str | None, QueryParameter(max_length=40)] = None,
    status: Annotated[str | None, QueryParameter(pattern="^(active|superseded)$")] = None,
) -> dict[str, Any]:
    """Every loaded snapshot, newest first (Stripe's cursors over snapshot ids)."""
    if source is not None and source not in SOURCES:
        raise InvalidRequest(
            f"Invalid source: must be one of {', '.join(SOURCES)}.", param="source"
        )
    query = _snapshots_query(source, status)
    key = tuple_(SanctionsSnapshot.loaded_at, SanctionsSnapshot.id)
    cursor_id = page.starting_after or page.ending_before
    if cursor_id:
        cursor = session.get(SanctionsSnapshot, cursor_id)
        if cursor is None:
            param = "starting_after" if page.starting_after else "ending_before"
            raise InvalidRequest(
                f"No such sanctions list: '{cursor_id}'", param=param, code="resource_missing"
            )
        bound = tuple_(cursor.loaded_at, cursor.id)
        query = query.where(key < bound if page.starting_after else key > bound)
    if page.ending_before:
        ordered = query.order_by(SanctionsSnapshot.loaded_at, SanctionsSnapshot.id)
        rows = list(session.scalars(ordered.limit(page.limit + 1)))
        has_more = len(rows) > page.limit
        rows = list(reversed(rows[: page.limit]))
    else:
        ordered = query.order_by(SanctionsSnapshot.loaded_at.desc(), SanctionsSnapshot.id.desc())
        rows = list(session.scalars(ordered.limit(page.limit + 1)))
        has_more = len(rows) > page.limit
        rows = rows[: page.limit]
    return list_object("/v1/compliance/lists", [render_snapshot(r) for r in rows], has_more)


ROUTES = [list_snapshots, load_list]
