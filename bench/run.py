"""FeatherBox vs plain DuckDB + DuckLake on the same generated data.

    .venv/bin/python bench/run.py      # = --scale 1 --repeat 3 --noop-scales 0.2,2

For every repeat, on fresh copies of the same generated data set:
  fbox cold         `fbox run` on a fresh copy of bench/project
  fbox no-op        `fbox run` again (nothing changed)
  fbox incremental  `fbox run` after the increment step (generate.increment)
  plain cold        `python bench/plain.py cold`
  plain incremental `python bench/plain.py incremental` after the same increment step
Each is a child process (started by a bare helper process, see bench/measure.py); its wall time, CPU time
and peak RSS (os.wait4 rusage of that child alone) are recorded.
After the first repeat's cold and incremental runs, the three output tables of both sides are compared
with EXCEPT ALL both ways. The no-op run is also measured at each of --noop-scales.
Prints a table and writes bench/results.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import time
from pathlib import Path

import duckdb

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402
from measure import measure  # noqa: E402,F401  (child processes: wall, CPU, peak RSS)

from featherbox.duckdb_extensions import load_extensions  # noqa: E402

FBOX = str(Path(sys.executable).parent / "fbox")
PLAIN = str(HERE / "plain.py")
OUTPUTS = ("daily_active_users", "sales_by_day", "user_activity")
TARGETS = {"cold_ratio": 1.2, "noop_seconds": 0.5, "incremental_ratio": 1.5, "memory_ratio": 1.5}


def data_set(work: Path, scale: float) -> Path:
    """The base data set of `scale`, generated once and kept under `work`."""
    path = work / f"data-{scale:g}"
    done = path / ".complete"
    if not done.exists():
        shutil.rmtree(path, ignore_errors=True)
        started = time.perf_counter()
        generate.generate(path, scale)
        done.write_text(f"{time.perf_counter() - started:.2f}\n")
        print(f"generated scale {scale:g} in {time.perf_counter() - started:.1f}s", flush=True)
    return path


def fresh_copy(source: Path, target: Path, project: bool) -> Path:
    """target/data = the data set (log files hard-linked, the SQLite file copied); plus the project files."""
    shutil.rmtree(target, ignore_errors=True)
    if project:
        shutil.copytree(HERE / "project", target)
    shutil.copytree(source / "logs", target / "data" / "logs", copy_function=os.link)
    shutil.copy2(source / "app.sqlite", target / "data" / "app.sqlite")
    return target


def fbox_run(project: Path, log: Path) -> dict:
    return measure([FBOX, "-C", str(project), "run"], log)


def plain_run(mode: str, work: Path, log: Path) -> dict:
    return measure([sys.executable, PLAIN, mode, str(work)], log)


def compare(fb_project: Path, plain_work: Path) -> dict:
    """Rows of each output that one side has and the other lacks (EXCEPT ALL both ways), and row counts."""
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    load_extensions(con, ["ducklake", "sqlite"])
    con.execute(f"ATTACH 'ducklake:sqlite:{fb_project / '.fbox' / 'catalog.sqlite'}' AS fb (READ_ONLY)")
    con.execute(f"ATTACH 'ducklake:sqlite:{plain_work / '.plain' / 'catalog.sqlite'}' AS pl (READ_ONLY)")
    result = {}
    for name in OUTPUTS:
        a, b = f"fb.datastore.{name}", f"pl.datastore.{name}"
        only_fb = con.execute(f"SELECT count(*) FROM (SELECT * FROM {a} EXCEPT ALL SELECT * FROM {b})").fetchone()[0]
        only_pl = con.execute(f"SELECT count(*) FROM (SELECT * FROM {b} EXCEPT ALL SELECT * FROM {a})").fetchone()[0]
        rows = con.execute(f"SELECT (SELECT count(*) FROM {a}), (SELECT count(*) FROM {b})").fetchone()
        same_columns = con.execute(f"DESCRIBE {a}").fetchall() == con.execute(f"DESCRIBE {b}").fetchall()
        result[name] = {"rows_fbox": rows[0], "rows_plain": rows[1], "only_fbox": only_fb, "only_plain": only_pl,
                        "same_columns": same_columns,
                        "identical": only_fb == 0 and only_pl == 0 and rows[0] == rows[1] and same_columns}
    con.close()
    return result


def one_repeat(data: Path, scale: float, work: Path, log: Path, check: bool, hours: int = generate.HOURS) -> dict:
    fb = fresh_copy(data, work / "fbox", project=True)
    pl = fresh_copy(data, work / "plain", project=False)
    out = {"fbox_cold": fbox_run(fb, log)}
    out["fbox_noop"] = fbox_run(fb, log)
    out["plain_cold"] = plain_run("cold", pl, log)
    checks = {}
    if check:
        checks["after_cold"] = compare(fb, pl)
    generate.increment(fb / "data", scale, hours)
    generate.increment(pl / "data", scale, hours)
    out["fbox_incremental"] = fbox_run(fb, log)
    out["plain_incremental"] = plain_run("incremental", pl, log)
    if check:
        checks["after_incremental"] = compare(fb, pl)
    out["checks"] = checks
    return out


def noop_at(work: Path, scale: float, repeat: int, log: Path) -> dict:
    data = data_set(work, scale)
    fb = fresh_copy(data, work / f"noop-{scale:g}", project=True)
    cold = fbox_run(fb, log)
    runs = [fbox_run(fb, log) for _ in range(repeat)]
    shutil.rmtree(fb, ignore_errors=True)
    return {"cold_seconds": cold["seconds"], "runs": runs,
            "median_seconds": statistics.median(r["seconds"] for r in runs),
            "median_cpu_seconds": statistics.median(r["cpu_seconds"] for r in runs),
            "min_seconds": min(r["seconds"] for r in runs),
            "median_rss_mb": statistics.median(r["rss_mb"] for r in runs)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=1, help="data set size; 1 = 5M log rows, 2M orders")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--noop-scales", default="0.2,2", help="comma-separated scales to measure the no-op run at too ('' for none)")
    parser.add_argument("--work", type=Path, default=HERE / ".work", help="scratch directory (data sets are cached here)")
    parser.add_argument("--out", type=Path, default=HERE / "results.json")
    args = parser.parse_args(argv)
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / "run.log"
    log.write_text("")

    data = data_set(args.work, args.scale)
    repeats = []
    for i in range(args.repeat):
        started = time.perf_counter()
        repeats.append(one_repeat(data, args.scale, args.work / "repeat", log, check=(i == 0)))
        print(f"repeat {i + 1}/{args.repeat} done in {time.perf_counter() - started:.1f}s", flush=True)

    def med(key: str, field: str = "seconds") -> float:
        return statistics.median(r[key][field] for r in repeats)

    phases = ("fbox_cold", "plain_cold", "fbox_noop", "fbox_incremental", "plain_incremental")
    medians = {p: {"seconds": med(p), "rss_mb": med(p, "rss_mb"), "cpu_seconds": med(p, "cpu_seconds"),
                   "min_seconds": min(r[p]["seconds"] for r in repeats)} for p in phases}
    ratios = {
        "cold_ratio": medians["fbox_cold"]["seconds"] / medians["plain_cold"]["seconds"],
        "incremental_ratio": medians["fbox_incremental"]["seconds"] / medians["plain_incremental"]["seconds"],
        "memory_ratio_cold": medians["fbox_cold"]["rss_mb"] / medians["plain_cold"]["rss_mb"],
        "memory_ratio_incremental": medians["fbox_incremental"]["rss_mb"] / medians["plain_incremental"]["rss_mb"],
        "cold_cpu_ratio": medians["fbox_cold"]["cpu_seconds"] / medians["plain_cold"]["cpu_seconds"],
        "incremental_cpu_ratio": medians["fbox_incremental"]["cpu_seconds"] / medians["plain_incremental"]["cpu_seconds"],
    }
    noop = {f"{args.scale:g}": {"median_seconds": medians["fbox_noop"]["seconds"], "median_rss_mb": medians["fbox_noop"]["rss_mb"],
                                "median_cpu_seconds": medians["fbox_noop"]["cpu_seconds"],
                                "min_seconds": medians["fbox_noop"]["min_seconds"]}}
    for s in [float(x) for x in args.noop_scales.split(",") if x.strip()]:
        if f"{s:g}" not in noop:
            noop[f"{s:g}"] = noop_at(args.work, s, args.repeat, log)
            print(f"no-op at scale {s:g}: {noop[f'{s:g}']['median_seconds']:.2f}s", flush=True)

    checks = repeats[0]["checks"]
    correct = all(t["identical"] for stage in checks.values() for t in stage.values())
    noop_values = [v["median_seconds"] for v in noop.values()]
    # flatness on CPU seconds: wall time on a shared machine swings more than the no-op itself varies
    noop_cpu = [v["median_cpu_seconds"] for v in noop.values()]
    targets = {
        f"cold <= {TARGETS['cold_ratio']}x plain": ratios["cold_ratio"] <= TARGETS["cold_ratio"],
        f"no-op <= {TARGETS['noop_seconds']} s": max(noop_values) <= TARGETS["noop_seconds"],
        "no-op flat across scales (CPU s max/min <= 1.5)": len(noop_cpu) < 2 or max(noop_cpu) / min(noop_cpu) <= 1.5,
        "incremental <= 1.5x plain": ratios["incremental_ratio"] <= TARGETS["incremental_ratio"],
        "peak memory <= 1.5x plain": max(ratios["memory_ratio_cold"], ratios["memory_ratio_incremental"]) <= TARGETS["memory_ratio"],
        "same three tables": correct,
    }

    print()
    print(f"scale {args.scale:g}, {args.repeat} repeats, medians; {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    print(f"{'phase':<14}{'fbox s':>8}{'plain s':>8}{'ratio':>7}{'fbox cpu':>9}{'plain cpu':>10}{'ratio':>7}"
          f"{'fbox min':>9}{'plain min':>10}{'fbox MB':>8}{'plain MB':>9}{'ratio':>7}")
    rows = (("cold", "fbox_cold", "plain_cold"), ("incremental", "fbox_incremental", "plain_incremental"), ("no-op", "fbox_noop", None))
    for label, f, p in rows:
        a = medians[f]
        b = medians[p] if p else None
        def cell(x, fmt, w):
            return f"{x:>{w}{fmt}}" if x is not None else f"{'-':>{w}}"
        print(f"{label:<14}{cell(a['seconds'], '.2f', 8)}{cell(b and b['seconds'], '.2f', 8)}"
              f"{cell(b and a['seconds'] / b['seconds'], '.2f', 7)}{cell(a['cpu_seconds'], '.2f', 9)}"
              f"{cell(b and b['cpu_seconds'], '.2f', 10)}{cell(b and a['cpu_seconds'] / b['cpu_seconds'], '.2f', 7)}"
              f"{cell(a['min_seconds'], '.2f', 9)}{cell(b and b['min_seconds'], '.2f', 10)}"
              f"{cell(a['rss_mb'], '.0f', 8)}{cell(b and b['rss_mb'], '.0f', 9)}{cell(b and a['rss_mb'] / b['rss_mb'], '.2f', 7)}")
    for s, v in sorted(noop.items(), key=lambda kv: float(kv[0])):
        print(f"  no-op at scale {s:<6} median {v['median_seconds']:.2f} s wall (min {v['min_seconds']:.2f}), "
              f"{v['median_cpu_seconds']:.2f} CPU s")
    for name, ok in targets.items():
        print(f"  [{'met' if ok else 'NOT met'}] {name}")
    if not correct:
        print(json.dumps(checks, indent=2))

    args.out.write_text(json.dumps({
        "scale": args.scale, "repeat": args.repeat, "cpus": os.cpu_count(), "load_average": os.getloadavg(),
        "python": platform.python_version(), "duckdb": duckdb.__version__, "machine": platform.platform(),
        "medians": medians, "ratios": ratios, "noop_by_scale": noop, "targets": targets,
        "checks": checks, "repeats": repeats,
    }, indent=2, default=str) + "\n")
    print(f"wrote {args.out}")
    return 0 if correct else 1


if __name__ == "__main__":
    sys.exit(main())
