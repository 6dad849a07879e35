"""Where FeatherBox's time goes: import time of the CLI and cProfile of in-process runs.

    .venv/bin/python bench/profile_fbox.py --scale 0.2

Writes bench/.work/profile/{importtime.txt, cold.txt, noop.txt, incremental.txt}: the `python -X importtime`
listing of `import featherbox.cli` (sorted, top 25 cumulative) and, for each phase, the top functions
by cumulative time of `featherbox.workspace.Workspace(root).run()` on a fresh copy of the data set.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import pstats
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
import generate  # noqa: E402
import run as bench  # noqa: E402


def importtime(out: Path) -> float:
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", "import featherbox.cli"],
                            capture_output=True, text=True, check=True)
    rows = []
    for line in result.stderr.splitlines():
        if not line.startswith("import time:") or "cumulative" in line:
            continue
        self_us, cumulative, name = line[len("import time:"):].split("|")
        rows.append((int(cumulative), int(self_us), name.rstrip()))
    rows.sort(reverse=True)
    total = max(r[0] for r in rows) / 1e6
    text = "cumulative_us self_us module\n" + "\n".join(f"{c:>12} {s:>8} {n}" for c, s, n in rows[:40])
    out.write_text(text + "\n")
    wall = []
    for _ in range(3):
        t = time.perf_counter()
        subprocess.run([str(Path(sys.executable).parent / "fbox"), "--help"], capture_output=True, check=True)
        wall.append(time.perf_counter() - t)
    print(f"import featherbox.cli: {total:.2f}s cumulative; `fbox --help` wall min {min(wall):.2f}s")
    return total


def profiled_run(root: Path, out: Path) -> float:
    from featherbox.workspace import Workspace

    profile = cProfile.Profile()
    started = time.perf_counter()
    profile.enable()
    Workspace(root).run()
    profile.disable()
    seconds = time.perf_counter() - started
    text = io.StringIO()
    pstats.Stats(profile, stream=text).sort_stats("cumulative").print_stats(45)
    out.write_text(text.getvalue())
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--scale", type=float, default=0.2)
    parser.add_argument("--work", type=Path, default=HERE / ".work")
    args = parser.parse_args()
    out = args.work / "profile"
    out.mkdir(parents=True, exist_ok=True)
    importtime(out / "importtime.txt")
    data = bench.data_set(args.work, args.scale)
    project = bench.fresh_copy(data, args.work / "profile-project", project=True)
    for phase in ("cold", "noop", "incremental"):
        if phase == "incremental":
            generate.increment(project / "data", args.scale)
        seconds = profiled_run(project, out / f"{phase}.txt")
        print(f"{phase}: {seconds:.2f}s in process (profile in {out / (phase + '.txt')})")


if __name__ == "__main__":
    main()
