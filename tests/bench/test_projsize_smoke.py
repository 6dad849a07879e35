"""The project-size benchmark's two sides build the same tables (bench/projsize), on a 12-model project.

Not a timing test: FeatherBox's `fbox run` and bench/projsize/plain.py build the generated project;
every model is compared (EXCEPT ALL both ways, columns and types) after the cold build and after the
edit step. To show the comparison can fail, the edit is first applied to FeatherBox's copy only: the
edited model and exactly its downstream models must then differ.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[2] / "bench"
sys.path.insert(0, str(BENCH))

from projsize import generate as gen  # noqa: E402
from projsize import plain  # noqa: E402
from projsize import run as projsize  # noqa: E402

FBOX = str(Path(sys.executable).parent / "fbox")


def fbox_run(project: Path) -> None:
    subprocess.run([FBOX, "-C", str(project), "run"], check=True, capture_output=True)


def plain_run(*args: str) -> None:
    subprocess.run([sys.executable, str(BENCH / "projsize" / "plain.py"), *args], check=True, capture_output=True)


def test_generated_project_shape(tmp_path: Path):
    a, b = gen.build_graph(100), gen.build_graph(100)
    assert a == b  # deterministic
    assert a["mix"] == {"table": 70, "delete+insert": 20, "view": 10}
    assert all(a["shapes"][s] > 0 for s in ("root", "chain", "fanin", "dim"))
    assert all(2 <= len(m["parents"]) <= 3 for m in a["models"] if m["shape"] == "fanin")
    graph = gen.generate(tmp_path, 20)
    assert len(list((tmp_path / "fbox" / "models").rglob("*.yml"))) == 20
    assert len(list((tmp_path / "dbt" / "models").rglob("m*.sql"))) == 20
    di = [m for m in graph["models"] if m["materialized"] == "delete+insert"]
    text = (tmp_path / "fbox" / "models" / di[0]["schema"] / f"{di[0]['name']}.yml").read_text()
    assert "time_column: day" in text and "time_grain: day" in text
    sql = (tmp_path / "dbt" / "models" / di[0]["schema"] / f"{di[0]['name']}.sql").read_text()
    assert "incremental_strategy='delete+insert'" in sql and "unique_key='day'" in sql


def test_fbox_and_plain_build_identical_tables(tmp_path: Path):
    graph = gen.generate(tmp_path / "source", 12)
    copies = {"fbox": tmp_path / "fbox", "plain": tmp_path / "plain"}
    for copy in copies.values():
        shutil.copytree(tmp_path / "source" / "fbox", copy)

    fbox_run(copies["fbox"])
    plain_run("cold", str(copies["plain"]))
    cold = projsize.check(copies, graph, with_dbt=False)["fbox_vs_plain"]
    assert cold["identical"], cold
    assert cold["models"] == 12 and cold["rows"] > 12 * 40

    history = projsize.per_node(copies["fbox"])
    assert history["actions"] == 15 and history["window"] == 7 and history["first_mean_s"] > 0

    # the edit on FeatherBox's side only: the edited model and its downstream models differ, no other
    edited = gen.apply_edit(copies["fbox"], "fbox", graph)
    fbox_run(copies["fbox"])
    skewed = projsize.check(copies, graph, with_dbt=False)["fbox_vs_plain"]
    changed = plain.descendants(graph, edited)
    assert len(changed) >= 2
    assert not skewed["identical"]
    assert set(skewed["only_fbox"]) == changed and set(skewed["only_plain"]) == changed

    # the same edit on the plain side, rebuilt from that model down: identical again
    gen.apply_edit(copies["plain"], "fbox", graph)
    plain_run("edit", str(copies["plain"]), edited)
    after = projsize.check(copies, graph, with_dbt=False)["fbox_vs_plain"]
    assert after["identical"], after
