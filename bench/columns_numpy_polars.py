"""Benchmark: the report's columnar steps in NumPy and in Polars, to choose between them (docs/report.md).

Run from the repository root: `PYTHONPATH=. python bench/columns_numpy_polars.py [-n 1000000]` (Polars is not a
dependency of statusgen: `pip install polars` first). Times, for N tickets with ~6 instants each, the three steps
`report/columnar.py` does: (1) columns from the Python integers the validated tickets give, (2) calendar positions
by one sorted lookup in a year's local midnights plus a clamp to opening hours, (3) nearest-rank p50/p90 per
tenant and severity. Best of three, CPU seconds of this process (the machine is shared: wall time is noise).
"""
from __future__ import annotations

import argparse
import random
import resource


def cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def best(step, runs: int = 3) -> float:
    times = []
    for _ in range(runs):
        started = cpu()
        step()
        times.append(cpu() - started)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=1_000_000)
    n = parser.parse_args().n
    import numpy as np
    import polars as pl

    rng = random.Random(7)
    day = 86_400_000_000
    base = 1_759_276_800_000_000  # 2025-10-01 UTC
    instants = [base + rng.randrange(31 * day) for _ in range(6 * n)]  # Python ints, as from the tickets
    midnights = np.arange(base - 10 * day, base + 50 * day, day, dtype=np.int64)
    openings = midnights[:-1] + 9 * 3_600_000_000
    closings = midnights[:-1] + 18 * 3_600_000_000
    before = np.arange(len(midnights), dtype=np.int64) * 9 * 3_600_000_000
    tenants = [rng.randrange(1000) for _ in range(n)]
    severities = [rng.randrange(4) for _ in range(n)]
    seconds = [rng.randrange(100_000) for _ in range(n)]

    def numpy_steps():
        utc = np.array(instants, dtype=np.int64)
        d = np.searchsorted(midnights, utc, side="right") - 1
        position = before[d] + np.clip(utc - openings[d], 0, closings[d] - openings[d])
        key = np.array(tenants, dtype=np.int64) * 4 + np.array(severities, dtype=np.int64)
        values = np.array(seconds, dtype=np.int64)
        order = np.lexsort((values, key))
        counts = np.bincount(key, minlength=4000)
        starts = np.concatenate(([0], np.cumsum(counts)[:-1]))
        present = counts > 0
        p50 = values[order][starts[present] + np.maximum(1, -(-50 * counts[present] // 100)) - 1]
        p90 = values[order][starts[present] + np.maximum(1, -(-90 * counts[present] // 100)) - 1]
        return position, p50, p90

    def polars_steps():
        utc = pl.Series("utc", instants, dtype=pl.Int64)
        d = pl.Series(midnights).search_sorted(utc, side="right") - 1
        frame = pl.DataFrame({"utc": utc, "d": d})
        tables = pl.DataFrame({"d": pl.Series(range(len(openings)), dtype=d.dtype), "opening": openings,
                               "closing": closings, "before": before[:-1]})
        position = frame.join(tables, on="d", how="left").select(
            pl.col("before") + (pl.col("utc") - pl.col("opening")).clip(0, pl.col("closing") - pl.col("opening")))
        groups = pl.DataFrame({"tenant": tenants, "severity": severities, "seconds": seconds}).group_by(
            "tenant", "severity").agg(
            pl.col("seconds").sort().gather((pl.len() * 50 / 100).ceil().cast(pl.Int64).clip(1) - 1).alias("p50"),
            pl.col("seconds").sort().gather((pl.len() * 90 / 100).ceil().cast(pl.Int64).clip(1) - 1).alias("p90"))
        return position, groups

    def numpy_columns():
        return np.array(instants, dtype=np.int64)

    def polars_columns():
        return pl.Series("utc", instants, dtype=pl.Int64)

    print(f"{n:,} tickets, {6 * n:,} instants, 4,000 tenant x severity groups; CPU seconds, best of three")
    print(f"NumPy  {numpy_columns.__name__:<13} {best(numpy_columns):6.2f} s (step 1 alone)")
    print(f"Polars {polars_columns.__name__:<13} {best(polars_columns):6.2f} s (step 1 alone)")
    print(f"NumPy  {numpy_steps.__name__:<13} {best(numpy_steps):6.2f} s")
    print(f"Polars {polars_steps.__name__:<13} {best(polars_steps):6.2f} s (CPU of all its threads)")


if __name__ == "__main__":
    main()
