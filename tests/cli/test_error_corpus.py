"""Broken projects through every command that reads them: no traceback, a non-zero exit, and a
message that names the file (or the node, or the argument) at fault.

Each case is a project (files), the commands to try and what the message must contain. The commands
run in process through the console script's own `main()`; a few also through the installed script.
"""

from __future__ import annotations

import gzip
import os
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import zstandard

from featherbox.testing import write_project

from fboxcli import FBOX

ALL = ("run", "plan", "status", "query", "graph")
GRAPH = ("run", "plan", "status", "graph")  # `query` reads the lake only: graph and source problems do not stop it
QUERY_SQL = "SELECT 1 AS one"
GOOD_CSV = {"src/a.csv": "id,name\n1,a\n2,b\n"}
CSV_ADAPTER = "type: localfile\nconfig: {base_path: src}\npath: '*.csv'\nformat: csv\n"
GZ_ADAPTER = "type: localfile\nconfig: {base_path: src}\npath: '*.csv.gz'\n"
ZST_ADAPTER = "type: localfile\nconfig: {base_path: src}\npath: '*.csv.zst'\n"
_LONG = b"id,name\n" + b"".join(b"%d,n%d\n" % (i, i) for i in range(5000))
HALF_GZIP = gzip.compress(_LONG)[: len(gzip.compress(_LONG)) // 2]
BIG_CSV = "id,name\n" + "".join(f"{i},n{i}\n" for i in range(5000))  # written to Parquet files, not inlined in the catalog
HALF_ZSTD = zstandard.ZstdCompressor().compress(_LONG)[: len(zstandard.ZstdCompressor().compress(_LONG)) // 2]


@dataclass
class Case:
    id: str
    files: dict
    needles: tuple  # every one must appear in stdout + stderr
    commands: tuple = ALL
    args: dict = field(default_factory=dict)  # command -> extra arguments
    env: dict = field(default_factory=dict)
    prepare: str = ""  # "run": a successful run first (with `before` files), then the broken files
    before: dict = field(default_factory=dict)
    absent: tuple = ()  # none may appear


CASES = [
    # --- YAML and project.yml ---
    Case("adapter-bad-yaml", {"adapters/a.yml": "type: [localfile\n"}, ("adapters/a.yml",)),
    Case("adapter-tab-indent", {"adapters/a.yml": "type: localfile\nconfig:\n\tbase_path: x\n"}, ("adapters/a.yml",)),
    Case("model-bad-yaml", {"models/m.yml": "sql: 'SELECT 1\n"}, ("models/m.yml",)),
    Case("project-bad-yaml", {"project.yml": "storage: {type: local\n"}, ("project.yml",)),
    Case("project-is-a-list", {"project.yml": "- storage\n- database\n"}, ("project.yml",)),
    Case("adapter-empty-file", {"adapters/a.yml": "\n"}, ("adapters/a.yml",)),
    Case("model-is-a-list", {"models/m.yml": "- SELECT 1\n"}, ("models/m.yml",)),
    # --- wrong types and unknown types ---
    Case("adapter-type-not-string", {"adapters/a.yml": "type: 3\n"}, ("adapters/a.yml", "type")),
    Case("adapter-unknown-type", {"adapters/a.yml": "type: snowflake\n"}, ("adapters/a.yml", "unknown type 'snowflake'"),
         absent=("pip install",)),
    Case("storage-type-misspelt", {"project.yml": "storage: {type: s4}\n"}, ("project.yml", "storage.type", "did you mean s3?"),
         absent=("fbox-s4",)),
    Case("adapter-type-misspelt", {"adapters/a.yml": "type: sqllite\n"}, ("adapters/a.yml", "did you mean sqlite?")),
    Case("format-without-type", {"adapters/a.yml": "type: localfile\npath: '*.csv'\nformat: {header: true}\n"},
         ("adapters/a.yml:3", "format: missing required key 'type' (one of: csv, tsv, json, ndjson, parquet)")),
    Case("format-header-not-boolean", {"adapters/a.yml": "type: localfile\npath: '*.csv'\nformat: {type: csv, header: 3}\n"},
         ("adapters/a.yml:3", "format.header: 'header' must be true or false (got 3)")),
    Case("incremental-type-misspelt", {"adapters/a.yml": "type: postgresql\nconfig: {dbname: x}\nincremental: {type: colummn, column: u}\n"},
         ("adapters/a.yml:3", "incremental.type", "did you mean 'column'?")),
    Case("incremental-key-of-another-type", {"adapters/a.yml": "type: postgresql\nconfig: {dbname: x}\nincremental: {type: cdc, column: u}\n"},
         ("adapters/a.yml:3", "incremental: 'column' can only be used with type: column")),
    Case("relational-config-without-database", {"adapters/a.yml": "type: mysql\nconfig: {host: db}\n"},
         ("adapters/a.yml:2", "config: missing required key: one of 'url' or 'dbname'")),
    Case("localfile-path-not-string", {"adapters/a.yml": "type: localfile\npath: 5\n"}, ("adapters/a.yml", "path")),
    Case("localfile-bad-format", {"adapters/a.yml": "type: localfile\npath: '*.csv'\nformat: xml\n"}, ("adapters/a.yml", "format")),
    Case("sqlite-unknown-key", {"adapters/a.yml": "type: sqlite\nconfig: {path: x.sqlite, pth: y}\n"}, ("adapters/a.yml", "pth")),
    Case("sqlite-config-not-mapping", {"adapters/a.yml": "type: sqlite\nconfig: x.sqlite\n"}, ("adapters/a.yml", "config")),
    Case("unknown-storage-type", {"project.yml": "storage: {type: ftp}\n"}, ("project.yml", "ftp")),
    Case("unknown-database-type", {"project.yml": "database: {type: oracle}\n"}, ("project.yml", "oracle")),
    Case("adapter-bad-name", {"adapters/bad-name.yml": CSV_ADAPTER, **GOOD_CSV}, ("adapters/bad-name.yml",)),
    Case("model-sql-not-string", {"models/m.yml": "sql: [1, 2]\n"}, ("models/m.yml", "sql")),
    Case("model-without-sql", {"models/m.yml": "description: nothing to run\n"}, ("models/m.yml", "sql")),
    # --- SQL and the graph ---
    Case("model-sql-parse-error", {"models/m.yml": "sql: SELEC * FRM x\n"}, ("models/m.yml",), commands=GRAPH),
    Case("model-unknown-table", {"models/m.yml": "sql: SELECT * FROM nowhere\n"}, ("models/m.yml", "nowhere"), commands=GRAPH),
    Case("model-cycle", {"models/s/a.yml": "sql: SELECT * FROM s.b\n", "models/s/b.yml": "sql: SELECT * FROM s.a\n"},
         ("cycle", "s.a", "s.b"), commands=GRAPH),
    Case("model-reads-itself", {"adapters/events.yml": CSV_ADAPTER, **GOOD_CSV, "models/events.yml": "sql: SELECT * FROM main.events\n"},
         ("main.events", "reads itself", "write raw.events"), commands=GRAPH),
    Case("model-in-the-adapters-schema", {"models/raw_events/x.yml": "sql: SELECT 1 AS x\n"},
         ("models/raw_events/x.yml", "schema", "raw and raw_*")),
    Case("adapter-table-by-its-old-name", {"adapters/events.yml": CSV_ADAPTER, **GOOD_CSV, "models/m.yml": "sql: SELECT * FROM main.events\n"},
         ("main.events", "write raw.events"), commands=GRAPH),
    Case("model-not-a-select", {"models/m.yml": "sql: DROP TABLE x\n"}, ("models/m.yml",), commands=GRAPH),
    # --- variables and durations ---
    Case("missing-env-var", {"adapters/a.yml": "type: localfile\nconfig: {base_path: $FBOX_CORPUS_UNSET}\npath: '*.csv'\n"},
         ("adapters/a.yml", "FBOX_CORPUS_UNSET")),
    Case("bad-dotenv-line", {".env": "THIS IS NOT A VARIABLE\n", "adapters/a.yml": CSV_ADAPTER, **GOOD_CSV}, (".env",)),
    Case("model-bad-max-age", {"models/m.yml": "sql: SELECT 1 AS x\nmax_age: 3 fortnights\n"}, ("models/m.yml", "max_age")),
    Case("project-bad-timeout", {"project.yml": "deployments: {timeout: soon}\n"}, ("project.yml", "timeout")),
    # --- sources that are missing or broken ---
    Case("sqlite-missing-file", {"adapters/a.yml": "type: sqlite\nconfig: {path: missing.sqlite}\n"},
         ("adapters/a.yml", "missing.sqlite"), commands=GRAPH),
    Case("sqlite-not-a-database", {"adapters/a.yml": "type: sqlite\nconfig: {path: junk.sqlite}\n", "junk.sqlite": "not sqlite at all " * 100},
         ("adapters/a.yml", "junk.sqlite"), commands=GRAPH),
    Case("localfile-no-files", {"adapters/a.yml": CSV_ADAPTER, "src/.keep": ""}, ("a",), commands=("run",)),
    Case("localfile-corrupt-gzip", {"adapters/a.yml": "type: localfile\nconfig: {base_path: src}\npath: '*.csv.gz'\nformat: csv\n",
                                     "src/a.csv.gz": b"\x1f\x8b\x08\x00garbage-not-deflate"},
         ("a.csv.gz",), commands=("run",)),
    Case("localfile-bad-line", {"adapters/a.yml": CSV_ADAPTER, "src/a.csv": "id,name\n1,a\n2,b,c\n"},
         ("a.csv", "line 3", "3 fields where the header has 2"), commands=("run",)),
    Case("localfile-bad-line-new-file", {"adapters/a.yml": GZ_ADAPTER, "src/b.csv.gz": gzip.compress(b"id,name\n3,c\n4,d,x\n")},
         ("b.csv.gz", "line 3"), commands=("run",), prepare="run",
         before={"adapters/a.yml": GZ_ADAPTER, "src/a.csv.gz": gzip.compress(b"id,name\n1,a\n")}),
    Case("localfile-truncated-gzip", {"adapters/a.yml": GZ_ADAPTER, "src/a.csv.gz": HALF_GZIP}, ("a.csv.gz", "truncated gzip"),
         commands=("run",)),
    Case("localfile-truncated-zstd", {"adapters/a.yml": ZST_ADAPTER, "src/a.csv.zst": HALF_ZSTD}, ("a.csv.zst", "truncated zstd"),
         commands=("run",)),
    Case("localfile-range-not-a-date", {"adapters/a.yml": "type: localfile\npath: '[YYYY].csv'\nrange: {since: 2024-13-45}\n"},
         ("adapters/a.yml:3", "range.since", "2024-13-45")),
    Case("localfile-range-until-before-since",
         {"adapters/a.yml": "type: localfile\npath: '[YYYY].csv'\nrange:\n  since: 2024-02-01\n  until: 2024-01-01\n"},
         ("adapters/a.yml:5", "range.until", "before range.since")),
    Case("localfile-base-path-is-a-file", {"adapters/a.yml": "type: localfile\nconfig: {base_path: a.csv}\npath: '*.csv'\n",
                                           "a.csv": "id\n1\n"},
         ("adapters/a.yml", "config.base_path 'a.csv' is a file"), commands=("run",)),
    Case("localfile-unquoted-time-path", {"adapters/a.yml": "type: localfile\npath: [YYYY]/[MM]/app_[DD].csv\n"},
         ("adapters/a.yml:2", "put path's value in quotes: path: '[YYYY]/[MM]/app_[DD].csv'")),
    # --- files and folders in the way, data that is not where the catalog says ---
    Case("storage-path-is-a-file", {"project.yml": "storage: {type: local, path: blocker}\n", "blocker": "x",
                                    "adapters/a.yml": CSV_ADAPTER, **GOOD_CSV},
         ("project.yml storage", "blocker is a file"), commands=("run",)),
    Case("storage-path-is-a-file-after-a-run", {"project.yml": "storage: {type: local, path: blocker/lake}\n", "blocker": "x"},
         ("project.yml storage", "blocker is a file"), commands=("run", "plan", "status", "query"),
         prepare="run", before={"adapters/a.yml": CSV_ADAPTER, "src/a.csv": BIG_CSV}),
    Case("storage-path-changed", {"project.yml": "storage: {type: local, path: lake}\n"},
         ("project.yml storage", "the lake's data files are in", "/data/", "/lake/", "mv "), commands=("run", "plan", "status", "query"),
         prepare="run", before={"adapters/a.yml": CSV_ADAPTER, "src/a.csv": BIG_CSV}),
    Case("database-path-under-a-file", {"project.yml": "database: {type: sqlite, path: blocker/c.sqlite}\n", "blocker": "x"},
         ("blocker is a file",), commands=("run",)),
    Case("catalog-not-a-database", {".fbox/catalog.sqlite": "not a database\n" * 200}, (".fbox/catalog.sqlite", "not a database"),
         commands=("run", "plan", "status", "query", "logs")),
    Case("init-under-a-file", {"blocker": "x"}, ("blocker is a file",), commands=("init",), args={"init": ["blocker/sub"]}),
    # --- runtime failures ---
    Case("model-fails-at-runtime", {"models/m.yml": "sql: SELECT error('corpus boom') AS x\n"}, ("main.m", "corpus boom"),
         commands=("run",)),
    Case("model-divides-by-zero-cast", {"adapters/a.yml": CSV_ADAPTER, **GOOD_CSV, "models/m.yml": "sql: SELECT name::INTEGER AS n FROM a\n"},
         ("main.m",), commands=("run",)),
    # --- bad arguments ---
    Case("bad-selector", {"adapters/a.yml": CSV_ADAPTER, **GOOD_CSV}, ("nope",), commands=("run", "plan", "graph"),
         args={c: ["--select", "nope"] for c in ("run", "plan", "graph")}),
    Case("empty-selector", {"adapters/a.yml": CSV_ADAPTER, **GOOD_CSV}, ("selector",), commands=("run", "plan", "graph"),
         args={c: ["--select", "+"] for c in ("run", "plan", "graph")}),
    Case("query-syntax-error", {}, ("SELEC",), commands=("query",), args={"query": ["SELEC 1"]}),
    Case("query-unknown-table", {}, ("nowhere",), commands=("query",), args={"query": ["SELECT * FROM nowhere"]}),
    Case("query-bad-format", {}, ("--format",), commands=("query",), args={"query": [QUERY_SQL, "--format", "xml"]}),
    Case("graph-bad-format", {}, ("--format",), commands=("graph",), args={"graph": ["--format", "png"]}),
    Case("logs-unknown-run", {}, ("no-such-run",), commands=("logs",), args={"logs": ["no-such-run"]}),
]

DEFAULT_ARGS = {"query": [QUERY_SQL]}


def _write(root: Path, files: dict) -> None:
    write_project(root, {k: v for k, v in files.items() if isinstance(v, str)})
    for rel, data in files.items():
        if isinstance(data, bytes):
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)


SCRUBBED_ENV = ("FBOX_DEBUG", "FBOX_PROJECT", "FBOX_CORPUS_UNSET")


@dataclass
class Done:
    """What a command did: its exit code and what it printed (as `subprocess.run` reports it)."""

    returncode: int
    stdout: str
    stderr: str


@pytest.fixture
def fbox_main(monkeypatch, capfd):
    """`fbox` in this process: the real `featherbox.cli.app.main()` (its error handling included) with
    `sys.argv` set, output captured at the file descriptors and the exit code taken from SystemExit.
    Each call starts from what a new process would have: the CLI state and the secrets registry
    reset, the environment without FBOX_DEBUG / FBOX_PROJECT / FBOX_CORPUS_UNSET plus `env`, and
    `cwd` as the current directory. Any other exception escaping `main()` fails the test with its
    traceback: the in-process form of "a traceback escaped". test_secrets.py runs `fbox` with it too."""
    from featherbox import secrets
    from featherbox.cli import app

    def run(root: Path | None, args: list[str], env: dict, cwd: Path | None = None) -> Done:
        argv = ["fbox", *(["-C", str(root)] if root else []), *args]
        with monkeypatch.context() as mp:
            for name in SCRUBBED_ENV:
                mp.delenv(name, raising=False)
            for name, value in env.items():
                mp.setenv(name, value)
            if cwd is not None:
                mp.chdir(cwd)
            mp.setattr(sys, "argv", argv)
            secrets.clear()
            capfd.readouterr()
            code = 0
            try:
                app.main()
            except SystemExit as exc:
                if exc.code is None or isinstance(exc.code, int):
                    code = exc.code or 0
                else:  # sys.exit("text"): the interpreter prints it and exits 1
                    print(exc.code, file=sys.stderr)
                    code = 1
            except BaseException as exc:
                exc.add_note(f"escaped from `{' '.join(argv)}` (the console script would print this traceback)")
                raise
            finally:
                out, err = capfd.readouterr()
                secrets.clear()
        return Done(code, out, err)

    return run


def _fbox_process(root: Path | None, args: list[str], env: dict, cwd: Path | None = None) -> Done:
    """The installed console script in a new process."""
    command = [FBOX, *(["-C", str(root)] if root else []), *args]
    clean = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, env={**clean, **env}, cwd=cwd)
    return Done(done.returncode, done.stdout, done.stderr)


#: what jsonschema says about an anyOf/oneOf/not as a whole (the schema dumped into the message)
JSONSCHEMA_DUMPS = ("is not valid under any of the given schemas", "should not be valid under", "is valid under each of")


def _check(done: Done, needles, label, absent=()):
    out = done.stdout + done.stderr
    assert "Traceback" not in out, f"{label}: a traceback escaped:\n{out}"
    assert done.returncode != 0, f"{label}: exited 0:\n{out}"
    assert "unexpected error" not in out, f"{label}: an unexpected (unhandled) error:\n{out}"
    for dump in JSONSCHEMA_DUMPS:
        assert dump not in out, f"{label}: a jsonschema message, not the sub-error that matters:\n{out}"
    missing = [n for n in needles if n not in out]
    assert not missing, f"{label}: the message does not name {missing}:\n{out}"
    present = [n for n in absent if n in out]
    assert not present, f"{label}: the message should not say {present}:\n{out}"


def _command_args(case: Case, command: str) -> list[str]:
    return [command, *case.args.get(command, DEFAULT_ARGS.get(command, []))]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id if isinstance(c, Case) else None)
def test_broken_project(case: Case, tmp_path, fbox_main):
    root = tmp_path / "p"
    if case.prepare == "run":
        _write(root, case.before)
        first = fbox_main(root, ["run"], case.env)
        assert first.returncode == 0, first.stdout + first.stderr
        for rel in case.before:
            if rel not in case.files:
                (root / rel).unlink()
    _write(root, case.files)
    failures = []
    for command in case.commands:
        args = _command_args(case, command)
        done = fbox_main(root, args, case.env)
        try:
            _check(done, case.needles, f"fbox {' '.join(args)}", case.absent)
        except AssertionError as exc:
            failures.append(str(exc))
    assert not failures, "\n\n".join(failures)


@pytest.mark.parametrize("command", ALL + ("logs",))
def test_outside_a_project(command, tmp_path, fbox_main):
    args = [command, *DEFAULT_ARGS.get(command, [])]
    done = fbox_main(None, args, {}, cwd=tmp_path)
    _check(done, ("project.yml",), f"fbox {command} (outside a project)")
    missing = fbox_main(tmp_path / "does-not-exist", args, {})
    _check(missing, ("does-not-exist",), f"fbox -C does-not-exist {command}")


def test_current_folder_deleted(tmp_path, monkeypatch, fbox_main):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    gone.rmdir()
    done = fbox_main(None, ["plan"], {})
    _check(done, ("the current folder no longer exists",), "fbox plan (in a deleted folder)")


CASES_BY_ID = {case.id: case for case in CASES}


@pytest.mark.parametrize(
    "case_id, command",
    [("adapter-unknown-type", "plan"), ("model-fails-at-runtime", "run"), ("outside-a-project", "status"),
     ("missing-dir", "query")],
)
def test_console_script(case_id, command, tmp_path, fbox_main):
    """A few of the above through the installed `fbox` in a new process: it fails as the cases say,
    and prints what `main()` prints in this process (each in a directory of its own), to the letter
    but for run ids, durations and the directory."""
    results = {}
    for how, fbox in (("process", _fbox_process), ("main", fbox_main)):
        base = tmp_path / how
        base.mkdir()
        cwd = None
        if case_id == "missing-dir":  # `-C` a directory that is not there
            root, needles, args, env = base / "does-not-exist", ("does-not-exist",), [command, QUERY_SQL], {}
        elif case_id == "outside-a-project":
            root, needles, args, env, cwd = None, ("project.yml",), [command], {}, base
        else:
            case = CASES_BY_ID[case_id]
            root, needles, args, env = base / "p", case.needles, _command_args(case, command), case.env
            _write(root, case.files)
        label = f"fbox {' '.join(args)} ({case_id}, {how})"
        done = fbox(root, args, env, cwd=cwd)
        _check(done, needles, label)
        results[how] = _normalized(done, base)
    assert results["process"] == results["main"], f"fbox {command} ({case_id}): the console script and main() differ"


def _normalized(done: Done, base: Path) -> Done:
    def clean(text: str) -> str:
        text = text.replace(str(base.resolve()), "<dir>").replace(str(base), "<dir>")
        text = re.sub(r"\b\d{8}T\d{6}-[0-9a-f]+\b", "<run>", text)
        return re.sub(r"\b\d+(\.\d+)?(ms|s)\b", "<time>", text)

    return Done(done.returncode, clean(done.stdout), clean(done.stderr))
