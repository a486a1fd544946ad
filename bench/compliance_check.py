"""What the whole pre-authorisation check adds to a confirm, with the full OFAC SDN list.

Times :func:`api.compliance_wiring.check_payment` — the check payments calls on every
confirm: the active-index lookup, screening the payer and the merchant against the full
SDN set, converting the amount to the rule set's base currency (ECB rates), and
:func:`compliance.assessment.assess` (rules, history, observation, audit entry, review when
held) — each in its own committed transaction, against a floor transaction doing one
trivial write. Payers are ordinary names (tests/sanctions/data) plus a few listed ones,
in EUR, USD and JPY. Prints the list load and index build times, median and p99, ratio.

    python bench/compliance_check.py                 # SQLite in a temp dir
    python bench/compliance_check.py --quick
    python bench/compliance_check.py --database-url postgresql+psycopg://postgres@127.0.0.1/db
"""

from __future__ import annotations

import argparse
import base64
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

from sqlalchemy import text

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from cryptography.hazmat.primitives import serialization  # noqa: E402
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey  # noqa: E402

from core.database import Base, Database  # noqa: E402
from core.settings import get_settings  # noqa: E402
from tests.shared_data import locate  # noqa: E402

SDN = locate("sanctions", "ofac_sdn")  # ../shared/data wherever the clone is
NAMES = ROOT / "tests" / "sanctions" / "data" / "ordinary_names.txt"
LISTED = ["Artem Lifshits", "Oleg Deripaska", "Dmitry Khoroshev"]


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def _people() -> list[str]:
    names, kind = [], "person"
    for raw in NAMES.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            kind = line.strip("[]")
        elif kind == "person":
            names.append(line)
    return names


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--database-url")
    parser.add_argument("--payments", type=int, default=2_000)
    parser.add_argument("--listed-share", type=float, default=0.02)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    if args.quick:
        args.payments = 300

    tmp = Path(tempfile.mkdtemp(prefix="corridor-bench-"))
    key = Ed25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw, serialization.PrivateFormat.Raw, serialization.NoEncryption()
    )
    os.environ["CORRIDOR_AUDIT_SIGNING_KEY"] = base64.b64encode(key).decode()
    os.environ["CORRIDOR_DATA_DIR"] = str(tmp)
    get_settings.cache_clear()

    import api.models  # noqa: F401  (every table)
    import compliance.audit
    import compliance.reviews.tables
    import compliance.rules.observations
    import compliance.rules.store  # noqa: F401
    from api.compliance_wiring import check_payment
    from compliance.active_index import active_index
    from compliance.list_loads import load_sanctions_list
    from compliance.rules.ip_country import default_resolver
    from core.accounts import open_account
    from core.ids import new_id
    from payments.preauthorisation import PaymentFacts

    url = args.database_url or f"sqlite:///{tmp / 'bench.db'}"
    db = Database(url)
    if db.dialect == "postgresql":
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA IF EXISTS public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    Base.metadata.create_all(db.engine)

    started = time.perf_counter()
    with db.transaction() as session:
        report = load_sanctions_list(session, SDN, "ofac_sdn", actor="bench")
    load_seconds = time.perf_counter() - started
    with db.transaction(write=False) as session:
        built = active_index(session)
    with db.transaction() as session:
        account = open_account(
            session, business_name="Bäckerei Müller GmbH", country="DE", default_currency="EUR"
        )
        account_id = account.id
    default_resolver()("8.8.8.8")  # load the IP data outside the timed loop
    with db.engine.begin() as conn:
        conn.execute(
            text("CREATE TABLE IF NOT EXISTS bench_floor (id INTEGER PRIMARY KEY, v TEXT)")
        )

    rng = random.Random(42)
    people = _people()
    amounts = {"EUR": [1_999, 4_500, 12_000, 89_900], "USD": [2_500, 75_000], "JPY": [3_000]}

    def facts() -> PaymentFacts:
        currency = rng.choice(["EUR", "EUR", "USD", "JPY"])
        name = rng.choice(LISTED) if rng.random() < args.listed_share else rng.choice(people)
        return PaymentFacts(
            intent_id=new_id("pi"),
            account_id=account_id,
            amount=rng.choice(amounts[currency]),
            currency=currency,
            payer={
                "name": name,
                "country": rng.choice(["DE", "FR", "US", "JP"]),
                "email": f"p{rng.randrange(5000)}@example.com",
                "ip_address": f"8.8.{rng.randrange(256)}.{rng.randrange(256)}",
            },
            method_type="card",
            card_fingerprint=f"fp_{rng.randrange(50_000)}",
            card_country="DE",
        )

    floor: list[float] = []
    timed: list[float] = []
    cpu: list[float] = []  # this process's CPU time: less disturbed by other load
    floor_cpu: list[float] = []
    decisions: dict[str, int] = {}
    for i in range(args.payments):
        payment = facts()
        t, c = time.perf_counter(), time.process_time()
        with db.transaction() as s:
            s.execute(text("INSERT INTO bench_floor (id, v) VALUES (:i, 'x')"), {"i": i})
        floor.append(time.perf_counter() - t)
        floor_cpu.append(time.process_time() - c)
        t, c = time.perf_counter(), time.process_time()
        with db.transaction() as s:
            s.execute(text("INSERT INTO bench_floor (id, v) VALUES (:i, 'y')"), {"i": -1 - i})
            verdict = check_payment(s, payment)
        timed.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        decisions[verdict.decision] = decisions.get(verdict.decision, 0) + 1

    ms = 1000.0
    med_floor, med = statistics.median(floor) * ms, statistics.median(timed) * ms
    print(f"backend            {db.dialect}")
    print(
        f"list               ofac_sdn, {report.entry_count} entries, loaded in {load_seconds:.1f} s"
    )
    print(
        f"index build        {built.build_seconds:.1f} s "
        f"({built.index.record_count} name records), once per process per list set"
    )
    print(f"payments timed     {args.payments}  decisions {decisions}")
    print(
        f"floor txn          median {med_floor:.3f} ms  p99 {_percentile(floor, 0.99) * ms:.3f} ms"
    )
    print(f"txn + check        median {med:.3f} ms  p99 {_percentile(timed, 0.99) * ms:.3f} ms")
    print(f"added by check     median {med - med_floor:.3f} ms  (target <= 5 ms)")
    print(f"ratio              {med / med_floor:.2f}x the floor transaction")
    med_cpu = (statistics.median(cpu) - statistics.median(floor_cpu)) * ms
    print(f"added by check CPU median {med_cpu:.3f} ms (this process's CPU time)")
    print(f"load average       {os.getloadavg()[0]:.2f} (2 cores; other work inflates wall times)")
    db.dispose()


if __name__ == "__main__":
    main()
