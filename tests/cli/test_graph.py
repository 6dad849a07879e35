"""`fbox graph`: mermaid, dot and a self-contained HTML page coloured by status; --select.

The HTML test renders the page in headless Chromium (`/usr/bin/chromium`, Debian package `chromium`:
`apt-get install -y chromium`). Without it the test skips, except under CI=true, where it fails.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from featherbox.testing import write_project

from fboxcli import fbox

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None)
CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]

NODES = ["events", "shop", "staging.events", "staging.orders", "marts.daily", "marts.broken"]
EDGES = {
    ("events", "staging.events"), ("shop", "staging.orders"), ("staging.events", "marts.daily"),
    ("staging.orders", "marts.daily"), ("shop", "marts.daily"), ("staging.orders", "marts.broken"),
}


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    import sqlite3

    root = write_project(tmp_path_factory.mktemp("graph") / "p", {
        "adapters/events.yml": "type: localfile\nconfig: {base_path: src}\npath: '*.csv'\nformat: csv\n",
        "src/a.csv": "id,user_id\n1,1\n2,2\n",
        "adapters/shop.yml": "type: sqlite\nconfig: {path: shop.sqlite}\n",
        "models/staging/events.yml": "sql: SELECT * FROM raw.events\n",
        "models/staging/orders.yml": "sql: SELECT * FROM raw_shop.orders\nmax_age: 1d\n",
        "models/marts/daily.yml": "sql: |\n  SELECT count(*) AS n FROM staging.events e, staging.orders o, raw_shop.users u\n",
        "models/marts/broken.yml": "sql: SELECT 1 / (SELECT count(*) - count(*) FROM staging.orders)::INTEGER AS x, error('boom') AS y FROM staging.orders\n",
    })
    con = sqlite3.connect(root / "shop.sqlite")
    con.executescript("CREATE TABLE orders (id INTEGER); INSERT INTO orders VALUES (1); CREATE TABLE users (id INTEGER); INSERT INTO users VALUES (1);")
    con.commit()
    con.close()
    return root


def mermaid_graph(text: str) -> tuple[set[str], set[tuple[str, str]]]:
    assert text.startswith("flowchart LR\n")
    labels = dict(re.findall(r'^\s+(n\d+)\[\(?"([^"<]+)', text, re.M))
    edges = {(labels[a], labels[b]) for a, b in re.findall(r"^\s+(n\d+) --> (n\d+)$", text, re.M)}
    return set(labels.values()), edges


def test_mermaid_has_every_node_and_edge(project):
    result = fbox("graph", project=project)
    assert result.returncode == 0, result.stderr
    nodes, edges = mermaid_graph(result.stdout)
    assert nodes == set(NODES)
    assert edges == EDGES
    assert "classDef" not in result.stdout  # no status unless asked: stable output for READMEs


def test_select_limits_nodes(project):
    result = fbox("graph", "--select", "+marts.daily", "--select", "events+", project=project)
    nodes, edges = mermaid_graph(result.stdout)
    assert nodes == {"events", "shop", "staging.events", "staging.orders", "marts.daily"}
    assert ("staging.orders", "marts.broken") not in edges and ("shop", "marts.daily") in edges
    only = mermaid_graph(fbox("graph", "-s", "staging.orders", project=project).stdout)
    assert only == ({"staging.orders"}, set())


def test_dot_is_valid(project, tmp_path):
    result = fbox("graph", "--format", "dot", project=project)
    assert result.returncode == 0, result.stderr
    text = result.stdout
    assert text.startswith("digraph featherbox {") and text.rstrip().endswith("}")
    for node in NODES:
        assert re.search(rf'^\s+"{re.escape(node)}" \[', text, re.M), node
    assert {tuple(e) for e in re.findall(r'^\s+"([^"]+)" -> "([^"]+)";$', text, re.M)} == EDGES
    assert text.count("{") == text.count("}") and text.count('"') % 2 == 0
    dot = shutil.which("dot")
    if dot:
        done = subprocess.run([dot, "-Tsvg"], input=text, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        for node in NODES:
            assert node in done.stdout


def test_output_file_and_format_from_suffix(project, tmp_path):
    out = tmp_path / "sub" / "lineage.dot"
    result = fbox("graph", "-o", str(out), project=project)
    assert result.returncode == 0 and "Wrote" in result.stdout, result.stderr
    assert out.read_text().startswith("digraph")


def test_bad_format_and_selector(project):
    for args, needle in ((["--format", "png"], "--format must be mermaid, dot or html"),
                         (["--select", "nope"], "no adapter or model named 'nope'")):
        result = fbox("graph", *args, project=project)
        assert result.returncode == 1 and needle in result.stderr and "Traceback" not in result.stderr + result.stdout


def _html(project, tmp_path, name: str) -> tuple[Path, str]:
    out = tmp_path / name
    result = fbox("graph", "--format", "html", "--output", str(out), project=project)
    assert result.returncode == 0, result.stderr
    return out, out.read_text()


def _node_classes(text: str) -> dict[str, str]:
    return {node: cls for cls, node in re.findall(r'<g class="node \w+ status-([\w-]+)" data-node="([^"]+)"', text)}


def test_html_is_self_contained_and_coloured_by_status(project, tmp_path):
    _, before = _html(project, tmp_path, "before.html")
    assert _node_classes(before) == {n: "never-run" for n in NODES}
    for pattern in ("<script src", "http://", "https://", "<link", "@import"):
        assert pattern not in before.replace('xmlns="http://www.w3.org/2000/svg"', ""), pattern
    fbox("run", project=project)  # marts.broken fails at runtime
    _, after = _html(project, tmp_path, "after.html")
    classes = _node_classes(after)
    assert classes.pop("marts.broken") == "failed"
    assert set(classes.values()) == {"completed"}, classes
    assert "max 1d" in after and "age " in after
    (project / "src" / "b.csv").write_text("id,user_id\n3,3\n")
    _, pending = _html(project, tmp_path, "pending.html")
    assert _node_classes(pending)["events"] == "pending"
    assert "1 new file" in pending or "new file" in pending


def _chromium(ci: bool) -> str:
    """The browser; under CI=true as root on Debian it is installed when missing (apt-get)."""
    found = CHROMIUM
    if not found and ci and os.geteuid() == 0 and shutil.which("apt-get"):
        for command in (["apt-get", "update", "-q"], ["apt-get", "install", "-y", "-q", "chromium"]):
            subprocess.run(command, capture_output=True, timeout=900, env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
        found = shutil.which("chromium")
    if not found:
        reason = "chromium is not installed (Debian: apt-get install -y chromium; /usr/bin/chromium)"
        if ci:
            pytest.fail(f"CI=true and {reason}")
        pytest.skip(reason)
    return found


def test_html_renders_every_node_in_chromium(project, tmp_path, ci):
    chromium = _chromium(ci)
    out, _ = _html(project, tmp_path, "render.html")
    done = subprocess.run(
        [chromium, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", "--dump-dom", out.as_uri()],
        capture_output=True, text=True, timeout=120, env={**os.environ, "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-2000:]
    dom = done.stdout
    svg = dom[dom.index("<svg"):dom.index("</svg>")]
    for node in NODES:
        assert f">{node}</text>" in svg, node
    assert svg.count('class="edge"') == len(EDGES)
