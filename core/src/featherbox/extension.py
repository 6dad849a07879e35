"""Base classes that plugins subclass and hand to the core through the hooks in `hookspecs`."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from featherbox.errors import FeatherBoxError

if TYPE_CHECKING:
    import duckdb

    from featherbox.config.project import AdapterSpec, Project


class DeadlineExceeded(Exception):
    """The run's `deployments.timeout` passed; the node ends as `timed_out`, nothing of it committed."""


class NotImplementedSource(Exception):
    """Raised when a project uses a type whose plugin is installed but does not implement it yet."""


class SourceUnreachable(FeatherBoxError):
    """The adapter's source cannot be reached (a server that is down, a file that is gone).

    Raised by `output_tables()` when it cannot know its tables without the source: the graph is then
    built with the tables the adapter's last successful load wrote, and the adapter fails on its own
    when it is checked (`detect`) or loaded. The message names the adapter and where its source is."""


@dataclass
class Detection:
    """What an adapter found new at its source since the state recorded by the last successful load."""

    changed: bool
    reason: str = ""
    payload: Any = None


@dataclass
class LoadResult:
    """What an adapter load wrote: rows per output table, and the state to record with it."""

    rows: dict[str, int]
    state: dict[str, Any] = field(default_factory=dict)
    message: str = ""
    #: True when the load applied changes to existing tables instead of replacing them; the
    #: empty-result guard (a non-empty table replaced by 0 rows) then does not apply
    incremental: bool = False


@dataclass
class AdapterTemplate:
    """What `fbox adapter new` writes for one adapter file (`AdapterType.new_file`)."""

    #: the YAML text of `adapters/<name>.yml`
    text: str
    #: the lake tables the file will write, for the command's summary (`raw.logs`, `raw_app.users`)
    tables: list[str] = field(default_factory=list)
    #: True when the text loads as written (nothing to fill in): `fbox adapter new` then refuses to
    #: write it when it does not pass the schemas. False (the default): problems are shown as things
    #: to fill in, and the file is written all the same.
    complete: bool = False
    #: more lines for the user (`to fill in: ...`), besides the CHANGE_ME placeholders and schema
    #: problems `fbox adapter new` finds itself
    warnings: list[str] = field(default_factory=list)


class AdapterType(ABC):
    """One `type:` of adapter file. The engine creates one instance per adapter file."""

    type_name: ClassVar[str]
    config_schema: ClassVar[dict]
    description: ClassVar[str] = ""
    implemented: ClassVar[bool] = True
    #: the options `fbox adapter new --type <this>` takes, name -> one line of help. A name is
    #: written like a flag (`db-path`): `--db-path`, `--tables`, `--path`, `--format` and
    #: `--base-path` have flags of their own, any other is given as `--option NAME=VALUE`. The
    #: command refuses an option the type does not list, naming the installed types that do.
    new_options: ClassVar[dict[str, str]] = {}

    #: the registry the project was loaded with: the engine sets it on each adapter it makes
    #: (`Backends.of`), and strategies are looked up there (`featherbox.registry.strategy_for`). An
    #: adapter made without it (`AdapterType(spec, project)` in a plugin's own tests) uses the
    #: installed plugins.
    registry: Any = None

    def __init__(self, spec: AdapterSpec, project: Project):
        self.spec = spec
        self.project = project

    @classmethod
    def new_file(cls, name: str, options: dict[str, str], description: str | None = None) -> AdapterTemplate:
        """The commented `adapters/<name>.yml` that `fbox adapter new <name> --type <this>` writes.

        `options` holds only names of `new_options` (the command refused others), with the values as
        given; raise `FeatherBoxError` for a value that cannot be used. `description` is the
        `--description` text, if any. The default writes `type`, `description` and a `config:`
        made from `config_schema`: required settings as CHANGE_ME, optional ones commented out."""
        from featherbox.yaml_text import generic_adapter

        return AdapterTemplate(generic_adapter(name, cls.type_name, cls.config_schema, description))

    @classmethod
    def chosen_strategies(cls, document: dict) -> list[tuple[str, str, str]]:
        """The incremental strategies an adapter file selects, as (field, kind, name): the project
        loader reports a name the registry has no strategy of that kind for, with the file and the
        line of the field. The default selects none."""
        return []

    @property
    def name(self) -> str:
        return self.spec.name

    @abstractmethod
    def output_tables(self) -> list[str]:
        """Qualified names (`schema.table`) of the lake tables this adapter writes. Raise
        `SourceUnreachable` when they cannot be known because the source cannot be reached."""

    @classmethod
    def config_issues(cls, document: dict) -> list[tuple[str, str]]:
        """Problems in an adapter file that `config_schema` cannot express (a date that does not
        exist, two keys that contradict each other), as (field, message) pairs: `fbox` reports them
        with the file and line of the field, like schema errors, before anything runs. Called only
        when the document passed the schema. The default finds none."""
        return []

    def data_config(self) -> dict:
        """The part of the adapter file that changes what is loaded (fingerprinted by the planner)."""
        return {k: v for k, v in self.spec.raw.items() if k != "description"}

    def duckdb_extensions(self) -> list[str]:
        """DuckDB extensions `load` needs."""
        return []

    def detect(self, con: duckdb.DuckDBPyConnection, previous: dict | None) -> Detection:
        """Report whether the source has data the last load (`previous` state) did not take.

        The default says nothing changed once a load succeeded; sources with an incremental
        strategy override it.
        """
        return Detection(changed=previous is None, reason="never loaded" if previous is None else "")

    def source_signature(self) -> str | None:
        """A cheap text that changes whenever the source may hold data the last load did not take
        (a file listing with sizes and times, a database file's size and mtime), found without the lake.

        After a complete run, `fbox run` stores the signatures of every source; while they and the
        config stay the same it has nothing to do and does not open the lake. None (the default):
        no cheap signature, so every run opens the lake and asks `detect`.
        """
        return None

    @abstractmethod
    def load(self, ctx: LoadContext) -> LoadResult:
        """Write this adapter's tables through `ctx.con`, inside the transaction the engine opened."""

    def on_delete(self) -> None:
        """Release what the source holds for this adapter (replication slots, ...) when it is deleted."""

    def describe_failure(self, what: str, exc: BaseException) -> str:
        """How the engine reports `exc`, raised while it did `what` for this adapter outside `load`
        (the COMMIT of the load's transaction, which also ends the read transactions of sources the
        load attached): naming the adapter and its file. Sources with a host name it too, and keep
        passwords and connection strings out of the text."""
        return f"adapter {self.name} ({self.spec.file}): {what} failed: {type(exc).__name__}: {exc}"


@dataclass
class LoadContext:
    """What an adapter load gets from the engine."""

    con: duckdb.DuckDBPyConnection
    previous: dict | None
    detection: Detection
    full_refresh: bool
    run_id: str
    log: Any
    #: the lake's tables and views as of the transaction's start (`featherbox.state.objects.LakeObjects`)
    lake_objects: Any = None
    #: when the run must end (`time.monotonic()` seconds; None: no `deployments.timeout`). DuckDB
    #: statements are interrupted at the deadline, Python code is not: a load that works in Python
    #: for long calls `check_deadline()` between steps. A load that ends after the deadline is
    #: rolled back all the same.
    deadline: float | None = None
    #: this load's scratch folder in the project (`.fbox/tmp/<run id>/<adapter>`), made by `scratch_dir()`
    scratch: Path | None = None

    def scratch_dir(self) -> Path:
        """A folder in the project for this load's temporary files (spill files, downloads); made on
        first use and removed, with everything in it, when the load ends, whether it committed or not."""
        if self.scratch is None:
            raise FeatherBoxError("this load has no scratch folder (LoadContext made outside a run)")
        self.scratch.mkdir(parents=True, exist_ok=True)
        return self.scratch

    def check_deadline(self) -> None:
        """Raise `DeadlineExceeded` when the run's deadline has passed."""
        import time

        if self.deadline is not None and time.monotonic() >= self.deadline:
            raise DeadlineExceeded("the run's deadline passed during the load")

    def table_exists(self, qualified: str) -> bool:
        """Whether the lake has a table or view `schema.name` (as of the start of this load)."""
        return self.lake_objects.exists(qualified)


class IncrementalStrategy(ABC):
    """Decides which part of a source is new since the last successful load.

    `kind` says which adapters can use it: `file` strategies (`featherbox.file_sources.strategies.FileStrategy`,
    picked by `update_strategy:`) select files from a listing against the ledger of loaded files;
    `database` strategies (`featherbox.database_sources.strategies.DatabaseStrategy`, picked by
    `incremental.type`) detect and load a database adapter's tables. `name` is what the adapter file writes."""

    name: ClassVar[str]
    kind: ClassVar[str]
    description: ClassVar[str] = ""


class ProjectBackend(ABC):
    """A `type:`d section of project.yml (`database:` or `storage:`), made for one project."""

    type_name: ClassVar[str]
    config_schema: ClassVar[dict]
    description: ClassVar[str] = ""
    implemented: ClassVar[bool] = True

    def __init__(self, config: dict, root: Path):
        self.config = config
        self.root = root

    def duckdb_extensions(self) -> list[str]:
        """DuckDB extensions the lake connection needs for this backend."""
        return []


class MetadataBackend(ProjectBackend):
    """Where the DuckLake catalog and FeatherBox's run history live (`database:` in project.yml)."""

    #: DB-API paramstyle of `connect()`: "qmark" (?) or "format" (%s)
    paramstyle: ClassVar[str] = "qmark"
    #: False when the catalog has a single writer: node transactions then take turns
    parallel_transactions: ClassVar[bool] = True

    @abstractmethod
    def ducklake_catalog(self) -> str:
        """The DuckLake catalog part of `ATTACH 'ducklake:<this>'`.

        DuckDB prints this text (`duckdb_databases()`, connection errors): it must hold no password.
        Put credentials in a DuckDB secret made in `prepare` and name it with `META_SECRET`."""

    def ducklake_options(self) -> dict[str, str]:
        """Extra `ATTACH` options (`META_*` settings of the catalog connection)."""
        return {}

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Make the catalog reachable from `con` before the `ATTACH` (create the secrets it names)."""

    def catalog_exists(self) -> bool | None:
        """Whether the catalog (and the run history) has been created: False for a project that
        never ran, so commands that only read (plan, status, graph, query, logs) create nothing;
        None when it cannot be told without connecting (such a catalog is attached as before)."""
        return None

    @abstractmethod
    def connect(self, lake: Any = None) -> Any:
        """A new DB-API connection to the database that holds FeatherBox's own tables.

        `lake` is the open DuckDB connection of the lake, when there is one: a backend that reaches
        its database through DuckDB may reuse that instance (and its loaded extensions).
        """

    @abstractmethod
    def run_lock(self) -> RunLock:
        """The lock that lets one `fbox run` at a time work on this project."""

    def describe(self) -> str:
        """A one-line description without secrets."""
        return self.type_name


class RunLock(ABC):
    """A project-wide lock; `acquire` returns False when `timeout` passed and someone else holds it."""

    @abstractmethod
    def acquire(self, timeout: float) -> bool: ...

    @abstractmethod
    def release(self) -> None: ...

    @abstractmethod
    def holder(self) -> str:
        """Who holds the lock now (host, pid, since), for the refusal message."""


class StorageBackend(ProjectBackend):
    """Where DuckLake writes data files (`storage:` in project.yml)."""

    @abstractmethod
    def data_path(self) -> str:
        """The DuckLake `DATA_PATH`."""

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Make `data_path()` reachable from `con` (secrets, registered filesystems)."""


def placeholder_adapter(type_name: str, distribution: str) -> type[AdapterType]:
    """An adapter class for a source a plugin announces but does not implement yet."""

    def _refuse(self, *args, **kwargs):
        raise NotImplementedSource(
            f"type: {type_name} is provided by {distribution}, which does not implement it yet"
        )

    return type(
        f"Placeholder{type_name.title()}Adapter",
        (AdapterType,),
        {
            "type_name": type_name,
            "config_schema": {"type": "object"},
            "description": f"{type_name} source (not implemented yet)",
            "implemented": False,
            "output_tables": _refuse,
            "load": _refuse,
        },
    )

