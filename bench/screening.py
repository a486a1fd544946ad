"""Benchmark: name screening against the full OFAC SDN list (names and aliases).

Prints the index build time, the index's memory, and the median / p99 time per
query over a realistic mix (names as listed, variants of listed names, ordinary
names that should not hit), on one core, next to a brute-force baseline measured
in the same run: rapidfuzz ``process.extractOne`` over every listed name and alias.

    python bench/screening.py            # full run
    python bench/screening.py --quick    # CI-sized run
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path

from rapidfuzz import fuzz, process

from compliance.sanctions import EntryKind, ListEntry, ScreeningIndex, parse_list
from compliance.sanctions.names import display_fold

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.shared_data import locate  # noqa: E402

DEFAULT_LIST = locate("sanctions", "ofac_sdn")  # ../shared/data wherever the clone is
ORDINARY = ROOT / "tests" / "sanctions" / "data" / "ordinary_names.txt"


def _one_core() -> str:
    if hasattr(os, "sched_setaffinity"):
        core = min(os.sched_getaffinity(0))
        os.sched_setaffinity(0, {core})
        return f"pinned to CPU {core}"
    return "not pinned (no sched_setaffinity)"


def _variant(name: str, kind: EntryKind, rng: random.Random) -> str:
    """A realistic mistyped or reordered rendering of a listed name."""
    if kind is EntryKind.PERSON and "," in name:
        surname, given = (part.strip() for part in name.split(",", 1))
        words = given.split()
        choice = rng.randrange(4)
        if choice == 0:
            return f"{given} {surname}"  # natural order
        if choice == 1 and len(words) > 1:
            return f"{words[0]} {surname}"  # middle name dropped
        if choice == 2 and words:
            return f"{words[0][0]}. {surname}"  # initial
        name = f"{given} {surname}"
    elif kind is EntryKind.ENTITY and rng.random() < 0.5:
        return f"{name} {rng.choice(['LLC', 'Ltd', 'S.A.', 'GmbH'])}"
    letters = list(name)
    positions = [i for i, char in enumerate(letters) if char.isalpha()]
    if positions:
        position = rng.choice(positions)
        letters[position] = rng.choice("aeiourstnl")  # one-letter typo
    return "".join(letters)


def _ordinary() -> list[str]:
    lines = ORDINARY.read_text(encoding="utf-8").splitlines()
    return [line.strip() for line in lines if line.strip() and line[0] not in "#["]


def _queries(entries: tuple[ListEntry, ...], count: int, seed: int) -> list[tuple[str, str]]:
    rng = random.Random(seed)
    names = [(alias.name, entry.kind) for entry in entries for alias in entry.names()]
    ordinary = _ordinary()
    mix: list[tuple[str, str]] = []
    for _ in range(count):
        roll = rng.random()
        if roll < 0.3:
            mix.append((rng.choice(names)[0], "listed"))
        elif roll < 0.6:
            name, kind = rng.choice(names)
            mix.append((_variant(name, kind, rng), "variant"))
        else:
            mix.append((rng.choice(ordinary), "ordinary"))
    return mix


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small query counts, for CI")
    parser.add_argument("--list", type=Path, default=DEFAULT_LIST, help="OFAC SDN folder")
    parser.add_argument("--seed", type=int, default=20260227)
    args = parser.parse_args()
    queries_indexed = 300 if args.quick else 3000
    queries_brute = 40 if args.quick else 300

    print(f"screening benchmark ({'quick' if args.quick else 'full'}), {_one_core()}")
    parsed = parse_list(args.list, "ofac_sdn")
    entries = parsed.entries
    alias_count = sum(len(entry.aliases) for entry in entries)
    print(f"list: {len(entries)} entries, {alias_count} aliases ({args.list})")

    started = time.perf_counter()
    index = ScreeningIndex.build(entries)
    build_seconds = time.perf_counter() - started
    print(f"index build: {build_seconds:.2f} s, {index.record_count} name records")

    tracemalloc.start()
    measured = ScreeningIndex.build(entries)
    retained, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del measured
    print(f"index memory (tracemalloc): {retained / 1e6:.1f} MB retained, {peak / 1e6:.1f} MB peak")

    mix = _queries(entries, queries_indexed, args.seed)
    for name, _ in mix[:50]:  # warm the interpreter, not the index's caches for the timed mix
        index.screen(name + " warmup")
    timings: dict[str, list[float]] = {"listed": [], "variant": [], "ordinary": []}
    hits = {"listed": 0, "variant": 0, "ordinary": 0}
    for name, group in mix:
        started = time.perf_counter()
        result = index.screen(name)
        timings[group].append(time.perf_counter() - started)
        hits[group] += result.decision != "allow"
    everything = [t for values in timings.values() for t in values]

    cold: list[float] = []
    for name, _ in mix[: min(len(mix), 1000)]:
        index.clear_cache()  # worst case: no token seen before
        started = time.perf_counter()
        index.screen(name)
        cold.append(time.perf_counter() - started)

    choices = [display_fold(alias.name) for entry in entries for alias in entry.names()]
    brute: list[float] = []
    for name, _ in mix[:queries_brute]:
        started = time.perf_counter()
        process.extractOne(display_fold(name), choices, scorer=fuzz.token_sort_ratio)
        brute.append(time.perf_counter() - started)

    median = statistics.median(everything)
    print(f"queries: {len(everything)} ({', '.join(f'{k} {len(v)}' for k, v in timings.items())})")
    for group, values in timings.items():
        print(
            f"  {group:9} median {statistics.median(values) * 1e3:.3f} ms, "
            f"p99 {_percentile(values, 0.99) * 1e3:.3f} ms, "
            f"flagged {hits[group]}/{len(values)}"
        )
    print(
        f"indexed screen: median {median * 1e3:.3f} ms, "
        f"p99 {_percentile(everything, 0.99) * 1e3:.3f} ms"
    )
    print(
        f"indexed screen, token cache cleared before each query: "
        f"median {statistics.median(cold) * 1e3:.3f} ms, p99 {_percentile(cold, 0.99) * 1e3:.3f} ms"
    )
    brute_median = statistics.median(brute)
    print(
        f"brute force extractOne over {len(choices)} names: median {brute_median * 1e3:.3f} ms, "
        f"p99 {_percentile(brute, 0.99) * 1e3:.3f} ms ({len(brute)} queries)"
    )
    print(f"ratio brute/indexed (median): {brute_median / median:.1f}x")
    print(f"target median <= 0.5 ms: {'met' if median <= 0.0005 else 'NOT met'}")


if __name__ == "__main__":
    main()
