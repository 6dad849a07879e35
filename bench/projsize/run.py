"""Project size: FeatherBox against plain DuckDB + DuckLake (and dbt-duckdb) on N tiny models.

    .venv/bin/python bench/projsize/run.py --models 100,300,1000 [--timeout 3600] [--repeat 1]

For each N: generates the project once (bench/projsize/generate.py, cached in bench/.work/projsize-N/source),
then, on fresh copies (bench/.work/projsize-N/run), measures each of these as a child process (wall,
CPU user+sys and peak RSS from os.wait4, see bench/measure.py):

  fbox cold    `fbox -C DIR run` on a fresh project (3 adapters + N models)
  fbox no-op   `fbox -C DIR run` again, nothing changed
  fbox plan    `fbox -C DIR plan` on the unchanged project
  fbox edit    `fbox -C DIR run` after the edit step (one `table` model in the middle of the graph gets
               a new constant, so it and everything downstream changes)
  plain cold   `python bench/projsize/plain.py cold DIR --commit level` (one transaction per dependency
               level; --plain-commit changes it), and once more with --commit all (the floor)
  plain edit   `python bench/projsize/plain.py edit DIR`: that model and everything downstream
  dbt cold / rerun / edit   `dbt run` on a fresh DuckDB file, `dbt run` again, `dbt run --select MODEL+`
               after the same edit, when bench/.work/dbt-venv exists (see bench/projsize/dbt.py)

Per-node overhead comes from FeatherBox's run history of the cold run (fbox_actions in the project
database): the completed actions ordered by finished_at, the intervals between consecutive finishes;
the mean of the first 100 against the last 100 (fewer when the run has fewer than 200 actions: half each).
After the cold run and after the edit, every model of FeatherBox's lake is compared with the plain
script's (and dbt's, when it ran): EXCEPT ALL both ways of all rows, and the columns' names and types.
Prints a table, checks the targets and writes bench/projsize-results.json (--out).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import sqlite3
import statistics
import sys
import time
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
BENCH = HERE.parent
# run as a script, sys.path[0] is bench/projsize: keep its module names (generate, plain, run) out of the way
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != HERE]
sys.path.insert(0, str(BENCH))

import duckdb  # noqa: E402
import yaml  # noqa: E402

from featherbox.duckdb_extensions import load_extensions  # noqa: E402
from measure import measure  # noqa: E402
from projsize import dbt as dbt_side  # noqa: E402
from projsize import generate as gen  # noqa: E402

FBOX = str(Path(sys.executable).parent / "fbox")
PLAIN = str(HERE / "plain.py")
TARGETS = {"per_node_ratio": 1.3, "cold_ratio": 1.2, "noop_seconds": 0.5, "plan_seconds": 1.0, "memory_ratio": 1.5}
WINDOW = 100


# ---------------------------------------------------------------------------------------------- projects

def source_project(work: Path, n: int) -> Path:
    """bench/.work/projsize-N/source (fbox/ and dbt/), generated once per version of generate.py."""
    root = work / f"projsize-{n}" / "source"
    stamp = hashlib.sha256(Path(gen.__file__).read_bytes()).hexdigest()[:16]
    done = root / ".complete"
    if not done.exists() or done.read_text().strip() != stamp:
        started = time.perf_counter()
        graph = gen.generate(root, n)
        done.write_text(stamp + "\n")
        print(f"generated {n} models in {time.perf_counter() - started:.1f}s: {graph['mix']}, depth {graph['depth']}, "
              f"edit {graph['edit']} ({graph['edit_downstream']} downstream)", flush=True)
    return root


def fresh_copies(source: Path, run: Path) -> dict[str, Path]:
    shutil.rmtree(run, ignore_errors=True)
    run.mkdir(parents=True)
    copies = {"fbox": run / "fbox", "plain": run / "plain", "plain_all": run / "plain-all", "dbt": run / "dbt"}
    for side in ("fbox", "plain", "plain_all"):
        shutil.copytree(source / "fbox", copies[side])
    shutil.copytree(source / "dbt", copies["dbt"])
    return copies


# ---------------------------------------------------------------------------------------------- lakes

def fbox_lake(project: Path) -> tuple[Path, Path]:
    """(catalog sqlite file, data path) from the project's project.yml."""
    config = yaml.safe_load((project / "project.yml").read_text()) or {}
    database = (config.get("database") or {}).get("path", ".fbox/catalog.sqlite")
    storage = (config.get("storage") or {}).get("path", "data")
    return (project / database).resolve(), (project / storage).resolve()


def _q(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def snapshot(con, side: str, attach: str, alias: str, models: list[dict]) -> None:
    """Copy every model's rows (with the model's name) into memory table rows_<side>, its columns into cols_<side>."""
    con.execute(attach)
    con.execute(f"USE {alias}")
    union = "\nUNION ALL ".join(f"SELECT {_q(m['node'])} AS model, day, user_id, v FROM {m['node']}" for m in models)
    con.execute(f"CREATE OR REPLACE TABLE memory.main.rows_{side} AS {union}")
    con.execute(
        f"CREATE OR REPLACE TABLE memory.main.cols_{side} AS SELECT table_schema || '.' || table_name AS model, "
        f"column_name, data_type, ordinal_position FROM information_schema.columns WHERE table_catalog = {_q(alias)}"
    )
    con.execute("USE memory")
    con.execute(f"DETACH {alias}")


def compare(a: str, b: str, con, models: list[dict]) -> dict:
    """Rows one side has and the other lacks (EXCEPT ALL both ways), per model; and columns and types."""
    diff = con.execute(
        f"""
        WITH only_a AS (SELECT * FROM rows_{a} EXCEPT ALL SELECT * FROM rows_{b}),
             only_b AS (SELECT * FROM rows_{b} EXCEPT ALL SELECT * FROM rows_{a})
        SELECT 'a' AS side, model, count(*) FROM only_a GROUP BY ALL
        UNION ALL SELECT 'b', model, count(*) FROM only_b GROUP BY ALL
        """
    ).fetchall()
    names = [m["node"] for m in models]
    listed = "[" + ", ".join(_q(x) for x in names) + "]"
    cols = con.execute(
        f"""
        SELECT model FROM (
            (SELECT * FROM cols_{a} WHERE list_contains({listed}, model) EXCEPT SELECT * FROM cols_{b})
            UNION (SELECT * FROM cols_{b} WHERE list_contains({listed}, model) EXCEPT SELECT * FROM cols_{a}))
        """
    ).fetchall()
    rows = dict(con.execute(f"SELECT model, count(*) FROM rows_{a} GROUP BY ALL").fetchall())
    rows_b = dict(con.execute(f"SELECT model, count(*) FROM rows_{b} GROUP BY ALL").fetchall())
    only_a = {m: c for s, m, c in diff if s == "a"}
    only_b = {m: c for s, m, c in diff if s == "b"}
    empty = [x for x in names if rows.get(x, 0) == 0 and rows_b.get(x, 0) == 0]
    column_mismatch = sorted({r[0] for r in cols})
    return {
        "models": len(names), "rows": sum(rows.values()), f"rows_{b}": sum(rows_b.values()),
        f"only_{a}": only_a, f"only_{b}": only_b, "column_mismatch": column_mismatch, "empty_both": empty,
        "identical": not only_a and not only_b and not column_mismatch and not empty,
    }


def check(copies: dict[str, Path], graph: dict, with_dbt: bool) -> dict:
    models = graph["models"]
    con = duckdb.connect(config={"autoinstall_known_extensions": False})
    load_extensions(con, ["ducklake", "sqlite"])
    catalog, data = fbox_lake(copies["fbox"])
    snapshot(con, "fbox", f"ATTACH {_q('ducklake:sqlite:' + str(catalog))} AS fb (DATA_PATH {_q(str(data))}, READ_ONLY)",
             "fb", models)
    plain = copies["plain"] / ".plain"
    snapshot(con, "plain", f"ATTACH {_q('ducklake:sqlite:' + str(plain / 'catalog.sqlite'))} AS pl "
                           f"(DATA_PATH {_q(str(plain / 'lake'))}, READ_ONLY)", "pl", models)
    out = {"fbox_vs_plain": compare("fbox", "plain", con, models)}
    if with_dbt:
        database = dbt_side.database(copies["dbt"])
        # dbt-duckdb's views name their tables with the file's catalog name: attach it under that name
        snapshot(con, "dbt", f"ATTACH {_q(str(database))} AS {database.stem} (READ_ONLY)", database.stem, models)
        out["dbt_vs_plain"] = compare("dbt", "plain", con, models)
    con.close()
    return out


# ---------------------------------------------------------------------------------------------- history

def per_node(project: Path) -> dict:
    """Intervals between consecutive finishes of the cold run's completed actions (fbox_actions)."""
    catalog, _ = fbox_lake(project)
    lite = sqlite3.connect(catalog)
    try:
        run_id = lite.execute("SELECT id FROM fbox_deployments ORDER BY started_at LIMIT 1").fetchone()[0]
        rows = lite.execute(
            "SELECT node, started_at, finished_at, seconds FROM fbox_actions "
            "WHERE deployment_id = ? AND status = 'completed' AND finished_at IS NOT NULL ORDER BY finished_at",
            (run_id,),
        ).fetchall()
        deployment = lite.execute("SELECT started_at, finished_at FROM fbox_deployments WHERE id = ?", (run_id,)).fetchone()
    finally:
        lite.close()
    finishes = [datetime.fromisoformat(r[2]) for r in rows]
    intervals = [(b - a).total_seconds() for a, b in zip(finishes, finishes[1:])]
    w = min(WINDOW, len(intervals) // 2)
    if w == 0:
        return {"actions": len(rows), "window": 0}
    first, last = statistics.mean(intervals[:w]), statistics.mean(intervals[-w:])
    node_seconds = [r[3] or 0.0 for r in rows]
    started = datetime.fromisoformat(deployment[0])
    return {
        "run_id": run_id, "actions": len(rows), "window": w,
        "first_mean_s": first, "last_mean_s": last, "ratio": last / first if first else None,
        # the action's own `seconds` (its build) for the same windows: is the growth inside or between nodes
        "first_node_seconds_mean": statistics.mean(node_seconds[1: w + 1]),
        "last_node_seconds_mean": statistics.mean(node_seconds[-w:]),
        "sum_node_seconds": sum(node_seconds),
        "first_finish_after_s": (finishes[0] - started).total_seconds() if finishes else None,
        "deployment_seconds": (datetime.fromisoformat(deployment[1]) - started).total_seconds() if deployment[1] else None,
    }


# ---------------------------------------------------------------------------------------------- one N

class Runner:
    def __init__(self, log: Path, timeout: float | None):
        self.log, self.timeout = log, timeout

    def __call__(self, command: list[str], cwd: Path | None = None) -> dict:
        r = measure(command, self.log, cwd=cwd, timeout=self.timeout, check=False)
        r["ok"] = r["returncode"] == 0 and not r["timed_out"]
        if not r["ok"]:
            why = f"timed out after {self.timeout:g}s" if r["timed_out"] else f"exited {r['returncode']}"
            print(f"  ! {' '.join(command[-4:])} {why}; see {self.log}", flush=True)
        return r


def one_n(n: int, args, dbt_info: dict, log: Path, check_tables: bool) -> dict:
    source = source_project(args.work, n)
    graph = gen.load_graph(source / "fbox")
    copies = fresh_copies(source, args.work / f"projsize-{n}" / "run")
    run = Runner(log, args.timeout)
    fb, pl = copies["fbox"], copies["plain"]
    out: dict = {}

    def step(name: str, command: list[str], cwd: Path | None = None) -> bool:
        out[name] = run(command, cwd)
        print(f"  {name:<16}{out[name]['seconds']:8.2f}s {out[name]['cpu_seconds']:8.2f} CPU s "
              f"{out[name]['rss_mb']:6.0f} MB{'' if out[name]['ok'] else '  FAILED'}", flush=True)
        return out[name]["ok"]

    fbox_ok = step("fbox_cold", [FBOX, "-C", str(fb), "run"])
    if fbox_ok:
        step("fbox_noop", [FBOX, "-C", str(fb), "run"])
        step("fbox_plan", [FBOX, "-C", str(fb), "plan"])
    step("plain_cold", [sys.executable, PLAIN, "cold", str(pl), "--commit", args.plain_commit])
    if args.plain_commit != "all":
        step("plain_cold_all", [sys.executable, PLAIN, "cold", str(copies["plain_all"]), "--commit", "all"])
    dbt_ok = False
    if dbt_info["available"] and not args.no_dbt:
        dbt_side.prepare(copies["dbt"])
        dbt_ok = step("dbt_cold", dbt_side.command(copies["dbt"]), cwd=copies["dbt"])
        if dbt_ok:
            step("dbt_rerun", dbt_side.command(copies["dbt"]), cwd=copies["dbt"])
    checks = {}
    if check_tables and fbox_ok and out["plain_cold"]["ok"]:
        checks["after_cold"] = check(copies, graph, dbt_ok)
        out["per_node"] = per_node(fb)

    edited = gen.apply_edit(fb, "fbox", graph)
    gen.apply_edit(pl, "fbox", graph)
    gen.apply_edit(copies["dbt"], "dbt", graph)
    if fbox_ok:
        step("fbox_edit", [FBOX, "-C", str(fb), "run"])
    step("plain_edit", [sys.executable, PLAIN, "edit", str(pl), edited, "--commit", args.plain_commit])
    if dbt_ok:
        dbt_ok = step("dbt_edit", dbt_side.command(copies["dbt"], edited.split(".", 1)[1]), cwd=copies["dbt"])
    if check_tables and fbox_ok and out.get("fbox_edit", {}).get("ok") and out["plain_edit"]["ok"]:
        checks["after_edit"] = check(copies, graph, dbt_ok)
    out["checks"] = checks
    return out


def summarize(n: int, graph: dict, repeats: list[dict]) -> dict:
    phases = sorted({k for r in repeats for k, v in r.items() if isinstance(v, dict) and "seconds" in v})
    med = {}
    for p in phases:
        runs = [r[p] for r in repeats if p in r and r[p]["ok"]]
        if runs:
            med[p] = {f: statistics.median(x[f] for x in runs) for f in ("seconds", "cpu_seconds", "rss_mb")}
            med[p]["min_seconds"] = min(x["seconds"] for x in runs)
    first = repeats[0]

    def ratio(a: str, b: str, field: str = "seconds"):
        return med[a][field] / med[b][field] if a in med and b in med and med[b][field] else None

    ratios = {
        "cold_vs_plain": ratio("fbox_cold", "plain_cold"),
        "cold_vs_plain_all": ratio("fbox_cold", "plain_cold_all"),
        "cold_vs_dbt": ratio("fbox_cold", "dbt_cold"),
        "edit_vs_plain": ratio("fbox_edit", "plain_edit"),
        "edit_vs_dbt": ratio("fbox_edit", "dbt_edit"),
        "cold_cpu_vs_plain": ratio("fbox_cold", "plain_cold", "cpu_seconds"),
        "memory_cold_vs_plain": ratio("fbox_cold", "plain_cold", "rss_mb"),
        "memory_edit_vs_plain": ratio("fbox_edit", "plain_edit", "rss_mb"),
    }
    pn = first.get("per_node") or {}
    checks = first.get("checks", {})
    correct = bool(checks) and all(c["identical"] for stage in checks.values() for c in stage.values())

    def at_most(value, limit):
        return None if value is None else value <= limit

    memory = [x for x in (ratios["memory_cold_vs_plain"], ratios["memory_edit_vs_plain"]) if x is not None]
    targets = {
        f"per-node overhead last/first {pn.get('window', 0)} <= {TARGETS['per_node_ratio']}x": at_most(pn.get("ratio"), TARGETS["per_node_ratio"]),
        f"cold <= {TARGETS['cold_ratio']}x plain": at_most(ratios["cold_vs_plain"], TARGETS["cold_ratio"]),
        "cold faster than dbt": None if ratios["cold_vs_dbt"] is None else ratios["cold_vs_dbt"] < 1.0,
        f"no-op <= {TARGETS['noop_seconds']} s": at_most(med.get("fbox_noop", {}).get("seconds"), TARGETS["noop_seconds"]),
        f"plan <= {TARGETS['plan_seconds']} s": at_most(med.get("fbox_plan", {}).get("seconds"), TARGETS["plan_seconds"]),
        f"peak memory <= {TARGETS['memory_ratio']}x plain": at_most(max(memory) if memory else None, TARGETS["memory_ratio"]),
        "same tables (fbox = plain" + (" = dbt)" if any("dbt_vs_plain" in s for s in checks.values()) else ")"): correct if checks else None,
    }
    return {"models": n, "graph": {k: graph[k] for k in ("mix", "shapes", "depth", "edit", "edit_downstream")},
            "medians": med, "ratios": ratios, "per_node": pn, "checks": checks, "targets": targets, "repeats": repeats}


def print_summary(s: dict, plain_commit: str) -> None:
    med, r = s["medians"], s["ratios"]

    def cell(x, fmt, w):
        return f"{x:>{w}{fmt}}" if x is not None else f"{'-':>{w}}"

    def get(phase, field="seconds"):
        return med.get(phase, {}).get(field) if phase else None

    g = s["graph"]
    print(f"\nN = {s['models']} models ({g['mix']}; depth {g['depth']}; edit {g['edit']}, {g['edit_downstream']} downstream); "
          f"plain commits per {plain_commit}")
    print(f"{'phase':<8}{'fbox s':>8}{'plain s':>9}{'ratio':>7}{'dbt s':>8}{'fbox/dbt':>9}{'fbox CPU':>9}{'plain CPU':>10}"
          f"{'dbt CPU':>8}{'fbox MB':>8}{'plain MB':>9}{'ratio':>7}{'dbt MB':>7}")
    rows = (("cold", "fbox_cold", "plain_cold", "dbt_cold"), ("no-op", "fbox_noop", None, "dbt_rerun"),
            ("plan", "fbox_plan", None, None), ("edit", "fbox_edit", "plain_edit", "dbt_edit"))
    for label, f, p, d in rows:
        a, b, c = get(f), get(p), get(d)
        print(f"{label:<8}{cell(a, '.2f', 8)}{cell(b, '.2f', 9)}{cell(a / b if a and b else None, '.2f', 7)}"
              f"{cell(c, '.2f', 8)}{cell(a / c if a and c else None, '.2f', 9)}{cell(get(f, 'cpu_seconds'), '.2f', 9)}"
              f"{cell(get(p, 'cpu_seconds'), '.2f', 10)}{cell(get(d, 'cpu_seconds'), '.2f', 8)}{cell(get(f, 'rss_mb'), '.0f', 8)}"
              f"{cell(get(p, 'rss_mb'), '.0f', 9)}{cell(get(f, 'rss_mb') / get(p, 'rss_mb') if get(f, 'rss_mb') and get(p, 'rss_mb') else None, '.2f', 7)}"
              f"{cell(get(d, 'rss_mb'), '.0f', 7)}")
    if "plain_cold_all" in med:
        print(f"  plain cold in one transaction (the floor): {med['plain_cold_all']['seconds']:.2f}s "
              f"(fbox cold {r['cold_vs_plain_all'] or 0:.2f}x)")
    print("  dbt's no-op row is a full `dbt run` again (dbt has no change detection); its edit is `dbt run --select MODEL+`")
    pn = s["per_node"]
    if pn.get("window"):
        print(f"  per-node overhead (cold, intervals between finishes): first {pn['window']} {pn['first_mean_s'] * 1000:.0f} ms, "
              f"last {pn['window']} {pn['last_mean_s'] * 1000:.0f} ms, ratio {pn['ratio']:.2f}; the nodes' own seconds "
              f"{pn['first_node_seconds_mean'] * 1000:.0f} -> {pn['last_node_seconds_mean'] * 1000:.0f} ms; "
              f"first finish after {pn['first_finish_after_s']:.2f}s")
    for stage, sides in s["checks"].items():
        for pair, c in sides.items():
            print(f"  {stage} {pair}: {'identical' if c['identical'] else 'DIFFERENT'} ({c['models']} models, {c['rows']} rows)")
    for name, ok in s["targets"].items():
        print(f"  [{'met' if ok else 'n/a' if ok is None else 'NOT met'}] {name}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", default="100,300,1000", help="comma-separated project sizes")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--timeout", type=float, default=3600, help="seconds one measured command may take (then killed)")
    parser.add_argument("--plain-commit", choices=("level", "all", "node"), default="level",
                        help="the plain script's transactions: per dependency level (default), all in one, per node")
    parser.add_argument("--no-dbt", action="store_true", help="skip dbt even when bench/.work/dbt-venv exists")
    parser.add_argument("--work", type=Path, default=BENCH / ".work")
    parser.add_argument("--out", type=Path, default=BENCH / "projsize-results.json")
    args = parser.parse_args(argv)
    sizes = [int(x) for x in args.models.split(",") if x.strip()]
    args.work.mkdir(parents=True, exist_ok=True)
    log = args.work / "projsize.log"
    log.write_text("")
    dbt_info = dbt_side.available()
    if args.no_dbt:
        print("dbt skipped: --no-dbt")
    elif dbt_info["available"]:
        print(f"dbt: {', '.join(f'{k} {v}' for k, v in dbt_info['versions'].items())}")
    else:
        print(f"dbt skipped: {dbt_info['reason']}")

    results = {}
    for n in sizes:
        repeats = []
        for i in range(args.repeat):
            print(f"N = {n}, repeat {i + 1}/{args.repeat}", flush=True)
            started = time.perf_counter()
            repeats.append(one_n(n, args, dbt_info, log, check_tables=(i == 0)))
            print(f"  done in {time.perf_counter() - started:.1f}s", flush=True)
        graph = gen.load_graph(args.work / f"projsize-{n}" / "source" / "fbox")
        results[str(n)] = summarize(n, graph, repeats)
        print_summary(results[str(n)], args.plain_commit)
        write(args, dbt_info, results)

    correct = all(t for s in results.values() for name, t in s["targets"].items() if name.startswith("same tables"))
    print(f"wrote {args.out}")
    return 0 if correct else 1


def write(args, dbt_info: dict, results: dict) -> None:
    args.out.write_text(json.dumps({
        "models": [int(n) for n in results], "repeat": args.repeat, "timeout": args.timeout,
        "plain_commit": args.plain_commit, "cpus": os.cpu_count(), "load_average": os.getloadavg(),
        "python": platform.python_version(), "duckdb": duckdb.__version__, "machine": platform.platform(),
        "dbt": dbt_info if not args.no_dbt else {"available": False, "reason": "--no-dbt"},
        "targets": TARGETS, "results": results,
    }, indent=2, default=str) + "\n")


if __name__ == "__main__":
    sys.exit(main())
