"""Compliance commands of the ``corridor`` CLI: load a sanctions list, verify the audit trail.

::

    corridor sanctions load PATH --source ofac_sdn [--publication-date YYYY-MM-DD]
    corridor audit verify

``api.cli`` adds them with :func:`register`. ``sanctions load`` goes through the same
service as ``POST /v1/compliance/lists`` (one transaction: snapshot, audit entry,
re-screening job, which a worker then runs) and prints what was added and removed.
``audit verify`` exits with status 1 when the chain is broken, so a cron job or a
monitoring check can alert on it.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from compliance import audit, rescreening
from compliance.list_loads import load_sanctions_list
from compliance.sanctions import SOURCES, ListFormatError
from core import tasks
from core.database import Database
from core.settings import Settings

SHOWN_IDS = 20
"""Entry ids printed per added / removed list (the counts are always printed)."""


def _database(settings: Settings) -> Database:
    """A database of this command's own (not the process default: tests run commands
    next to a live service)."""
    return Database(settings.database_url)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD)") from exc


def _ids(label: str, ids: tuple[str, ...]) -> str:
    shown = ", ".join(ids[:SHOWN_IDS])
    more = f" (and {len(ids) - SHOWN_IDS} more)" if len(ids) > SHOWN_IDS else ""
    return f"{label}: {len(ids)}" + (f" [{shown}{more}]" if ids else "")


def cmd_sanctions_load(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    tasks.configure(settings, db)
    try:
        with db.transaction() as session:
            report = load_sanctions_list(
                session,
                args.path,
                args.source,
                actor="cli",
                publication_date=args.publication_date,
                rescreen_days=args.rescreen_days,
            )
    except ListFormatError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        db.dispose()
    print(report.message)
    if report.status == "loaded":
        print(_ids("added", report.added))
        print(_ids("removed", report.removed))
        print(_ids("changed", report.changed))
        if report.added:
            print(
                f"re-screening counterparties of the last {args.rescreen_days} days against "
                f"the {len(report.added)} additions (job {rescreening.JOB})"
            )
    return 0


def cmd_audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    try:
        with db.transaction(write=False) as session:
            result = audit.verify(session)
    finally:
        db.dispose()
    if result.ok:
        print(
            f"audit trail intact: {result.entries_checked} entries, head {result.head_sequence} "
            f"{result.head_hash}"
        )
        return 0
    print(
        f"audit trail BROKEN at entry {result.first_bad_sequence}: {result.problem} "
        f"({result.entries_checked} entries verified before it)",
        file=sys.stderr,
    )
    return 1


def register(subparsers: Any) -> None:
    """Add ``sanctions`` and ``audit`` to the ``corridor`` command's subparsers."""
    sanctions = subparsers.add_parser("sanctions", help="sanctions lists")
    sanctions_sub = sanctions.add_subparsers(dest="sanctions_command", required=True)
    load = sanctions_sub.add_parser(
        "load", help="load a list file set as the new active snapshot of its source"
    )
    load.add_argument("path", help="the list's folder or file (e.g. a folder with sdn.csv...)")
    load.add_argument("--source", required=True, choices=SOURCES)
    load.add_argument(
        "--publication-date", type=_date, help="YYYY-MM-DD, for formats that carry none"
    )
    load.add_argument(
        "--rescreen-days",
        type=int,
        default=rescreening.DEFAULT_DAYS,
        help="re-screen payers and beneficiaries of this many past days against additions",
    )
    load.set_defaults(run=cmd_sanctions_load)

    audit_parser = subparsers.add_parser("audit", help="the compliance audit trail")
    audit_sub = audit_parser.add_subparsers(dest="audit_command", required=True)
    audit_sub.add_parser(
        "verify", help="check every hash, link and signature (exit 1 if broken)"
    ).set_defaults(run=cmd_audit_verify)
