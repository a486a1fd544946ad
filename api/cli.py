"""The ``corridor`` command: serve, migrate, keys, worker, beat, and operators' tools.

Every command reads the same ``CORRIDOR_*`` settings, so ``CORRIDOR_DATABASE_URL`` and
``CORRIDOR_BROKER_URL`` describe one deployment for all of them.
"""

from __future__ import annotations

import argparse
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from sqlalchemy import func, select

import api.models  # noqa: F401  (every table, for the schema and for jobs' handlers)
from api import compliance_cli, wiring
from api.compliance_wiring import record_key_event
from api.keys import ROLES, InvalidKeyRequest, issue_key, revoke_key
from api.logs import configure_logging
from core import tasks
from core.accounts import Account, open_account
from core.database import Database, migrate, set_database
from core.settings import Settings, get_settings

log = logging.getLogger("corridor")

Command = Callable[[argparse.Namespace, Settings], int]


def _database(settings: Settings) -> Database:
    db = Database(settings.database_url)
    set_database(db)
    return db


def cmd_migrate(args: argparse.Namespace, settings: Settings) -> int:
    migrate(settings.database_url)
    print("database is at the latest schema", file=sys.stderr)
    return 0


def quickstart(db: Database) -> tuple[str, str, str] | None:
    """On an empty embedded database: a demo merchant, its key and an admin key, shown once."""
    with db.transaction() as session:
        if session.scalar(select(func.count()).select_from(Account)):
            return None
        merchant = open_account(
            session,
            business_name="Demo Merchant GmbH",
            country="DE",
            default_currency="EUR",
            email="demo@merchant.example",
        )
        merchant_key = issue_key(session, "merchant", merchant.id, "quickstart").secret
        admin_key = issue_key(session, "admin", None, "quickstart").secret
    return merchant.id, merchant_key, admin_key


def cmd_serve(args: argparse.Namespace, settings: Settings) -> int:
    import uvicorn

    from api.app import create_app

    if not args.no_migrate:
        migrate(settings.database_url)
    db = _database(settings)
    created = quickstart(db) if settings.is_sqlite else None
    if created:
        account_id, merchant_key, admin_key = created
        print(
            "\nCorridor quickstart — these keys are shown once; store them now.\n"
            f"  demo merchant account: {account_id}\n"
            f"  merchant secret key:   {merchant_key}\n"
            f"  admin secret key:      {admin_key}\n",
            file=sys.stderr,
        )
    where = "embedded SQLite" if settings.is_sqlite else "PostgreSQL"
    queue = "in-process worker" if settings.embedded_tasks else "Celery broker"
    print(f"Corridor on http://{args.host}:{args.port} ({where}, {queue})", file=sys.stderr)
    uvicorn.run(create_app(db, settings), host=args.host, port=args.port, log_level="warning")
    return 0


def cmd_keys(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    if args.keys_command == "create":
        try:
            with db.transaction() as session:
                if args.account and session.get(Account, args.account) is None:
                    print(f"no such account: {args.account}", file=sys.stderr)
                    return 2
                issued = issue_key(session, args.role, args.account, args.description)
                record_key_event(
                    session,
                    "keys.create",
                    issued.key.id,
                    {"role": args.role, "account": args.account},
                )
        except InvalidKeyRequest as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
        print(issued.secret)
        return 0
    if args.keys_command == "revoke":
        with db.transaction() as session:
            key = revoke_key(session, args.key_id)
        if key is None:
            print(f"no such key: {args.key_id}", file=sys.stderr)
            return 2
        print(f"revoked {key.id}", file=sys.stderr)
        return 0
    return 2


def cmd_accounts(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    with db.transaction() as session:
        account = open_account(
            session,
            business_name=args.name,
            country=args.country,
            default_currency=args.currency,
            email=args.email,
        )
    print(account.id)
    return 0


def cmd_worker(args: argparse.Namespace, settings: Settings) -> int:

    db = _database(settings)
    tasks.configure(settings, db)
    wiring.install()
    if settings.embedded_tasks:
        print("no CORRIDOR_BROKER_URL: running the embedded worker loop", file=sys.stderr)
        worker = tasks.EmbeddedWorker(db, threads=args.concurrency).start()
        try:
            threading.Event().wait()
        except KeyboardInterrupt:
            worker.stop()
        return 0
    argv = [
        "worker",
        "--loglevel",
        args.loglevel,
        "--concurrency",
        str(args.concurrency),
        "--pool",
        "threads",
        "--without-gossip",
        "--without-mingle",
    ]
    tasks.celery_app.worker_main(argv)
    return 0


def cmd_beat(args: argparse.Namespace, settings: Settings) -> int:
    tasks.configure(settings, _database(settings))
    if settings.embedded_tasks:
        print(
            "corridor beat needs CORRIDOR_BROKER_URL (the embedded worker schedules itself)",
            file=sys.stderr,
        )
        return 2
    schedule = settings.data_dir / "celerybeat-schedule"
    # On PostgreSQL nothing else may have created the data directory yet, and Celery's
    # schedule store does not create it: beat would die at start.
    schedule.parent.mkdir(parents=True, exist_ok=True)
    tasks.celery_app.start(["beat", "--loglevel", args.loglevel, "--schedule", str(schedule)])
    return 0


def cmd_demo(args: argparse.Namespace, settings: Settings) -> int:
    from api import demo

    return demo.run(data_dir=args.data_dir)


def cmd_jobs(args: argparse.Namespace, settings: Settings) -> int:
    db = _database(settings)
    ran = tasks.run_pending(db)
    print(f"ran {ran} jobs", file=sys.stderr)
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="corridor", description=__doc__)
    sub = root.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the API (migrates first)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--no-migrate", action="store_true", help="a migration job runs them")
    serve.set_defaults(run=cmd_serve)

    sub.add_parser("migrate", help="apply database migrations").set_defaults(run=cmd_migrate)

    keys = sub.add_parser("keys", help="create or revoke API keys")
    keys_sub = keys.add_subparsers(dest="keys_command", required=True)
    create = keys_sub.add_parser("create", help="print a new secret key (alone on stdout)")
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--account", help="acct_... (merchant keys)")
    create.add_argument("--description")
    revoke = keys_sub.add_parser("revoke")
    revoke.add_argument("key_id")
    keys.set_defaults(run=cmd_keys)

    accounts = sub.add_parser("accounts", help="open a merchant account (prints its id)")
    accounts.add_argument("--name", required=True)
    accounts.add_argument("--country", required=True)
    accounts.add_argument("--currency", required=True)
    accounts.add_argument("--email")
    accounts.set_defaults(run=cmd_accounts)

    worker = sub.add_parser("worker", help="run background jobs (Celery, or embedded)")
    worker.add_argument("--concurrency", type=int, default=4)
    worker.add_argument("--loglevel", default="INFO")
    worker.set_defaults(run=cmd_worker)

    beat = sub.add_parser("beat", help="schedule periodic work (Celery beat)")
    beat.add_argument("--loglevel", default="INFO")
    beat.set_defaults(run=cmd_beat)

    jobs = sub.add_parser("jobs", help="run every due background job once, here")
    jobs.set_defaults(run=cmd_jobs)
    demo = sub.add_parser("demo", help="tell one cross-border payment story, end to end")
    demo.add_argument("--data-dir", type=Path, default=None, help="default: a new temp dir")
    demo.set_defaults(run=cmd_demo)
    compliance_cli.register(sub)
    return root


def main(argv: Sequence[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # CORRIDOR_LOG_FORMAT=json|text; the level is --loglevel, else CORRIDOR_LOG_LEVEL, else
    # INFO (one line a request).
    configure_logging(level=getattr(args, "loglevel", None))
    settings = get_settings()
    if args.command not in ("serve", "migrate", "demo"):
        migrate(settings.database_url)
    return int(args.run(args, settings) or 0)


if __name__ == "__main__":
    raise SystemExit(main())
