"""`FileAdapter`: the file machinery every file-system plugin shares.

A subclass says how to reach its files (an fsspec filesystem, the path DuckDB reads, secrets);
listing, time patterns, ranges, update strategies, the ledger and reading live here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from featherbox.errors import FeatherBoxError
from featherbox.execute.lake import quote_table, sql_string, values_sql
from featherbox.extension import AdapterType, Detection, LoadContext, LoadResult
from featherbox.files.headers import headers_match
from featherbox.files.integrity import GzipChecks
from featherbox.files.patterns import PathPattern, listing_globs, parse_pattern
from featherbox.files.reader import FORMAT_SCHEMA, normalize_format, read_call, select_with_file_columns
from featherbox.files.strategies import FileInfo, FileSelection, FileStrategy, FullStrategy
from featherbox.secrets import redact
from featherbox.state.versions import LEDGER

if TYPE_CHECKING:
    import duckdb
    import fsspec

ISO_TIME = r"^\d{4}-\d{2}-\d{2}([T ]\d{2}(:\d{2}(:\d{2}(\.\d+)?)?)?)?(Z|[+-]\d{2}:?\d{2})?$"


def file_adapter_schema(type_name: str, config_properties: dict, config_required: list[str]) -> dict:
    return {
        "type": "object",
        "properties": {
            "type": {"const": type_name},
            "description": {"type": "string"},
            "config": {
                "type": "object",
                "properties": config_properties,
                "required": config_required,
                "additionalProperties": False,
            },
            "path": {"type": "string", "minLength": 1, "description": "glob or time pattern, relative to the base"},
            "format": FORMAT_SCHEMA,
            "range": {
                "type": "object",
                "properties": {
                    "since": {"type": "string", "pattern": ISO_TIME, "description": "ISO-8601; files from this time on"},
                    "until": {"type": "string", "pattern": ISO_TIME, "description": "ISO-8601, exclusive; open if omitted"},
                },
                "additionalProperties": False,
            },
            "update_strategy": {
                "type": "string",
                "description": "a files strategy: filename (default), content, full, or one a plugin provides",
            },
            "delete_missing": {"type": "boolean", "description": "content strategy: drop rows of files that vanished"},
            "verify_gzip": {
                "type": "boolean",
                "description": "stream every .gz file through zlib while DuckDB reads it, so a truncated "
                "file fails the load instead of loading part of its rows (default true)",
            },
            "lookback": {
                "type": "string",
                "pattern": r"^(\d+[wdhms])+$",
                "description": "time patterns: after the first load, list only folders from the newest loaded "
                "file time minus this (e.g. 2d); late files older than that are not seen",
            },
        },
        "required": ["type", "path"],
        "additionalProperties": False,
    }


class FileAdapter(AdapterType):
    """Base of file sources; subclasses implement `filesystem`, `root` and may override `duckdb_path`."""

    location_label: ClassVar[str] = "files"

    # --- what a file-system plugin provides -------------------------------------------------
    def filesystem(self) -> fsspec.AbstractFileSystem:
        raise NotImplementedError

    def root(self) -> str:
        """The base location, in the filesystem's own path syntax, without a trailing slash."""
        raise NotImplementedError

    def duckdb_path(self, fs_path: str) -> str:
        return fs_path

    def prepare(self, con: duckdb.DuckDBPyConnection) -> None:
        """Make the files readable from DuckDB (secrets or a registered filesystem)."""

    def location(self) -> str:
        """Where the files are, for messages (no credentials)."""
        return self.root()

    def scrub(self, error: BaseException | str) -> str:
        """An error's text without credentials."""
        return redact(str(error))

    # --- shared machinery -------------------------------------------------------------------
    @property
    def table(self) -> str:
        return f"main.{self.name}"

    def output_tables(self) -> list[str]:
        self.strategy  # an unknown strategy is a configuration error, reported before anything runs
        return [self.table]

    @property
    def pattern(self) -> PathPattern:
        return parse_pattern(self.spec.raw["path"].lstrip("/"))

    @property
    def format(self) -> dict:
        return normalize_format(self.spec.raw.get("format"), self.spec.raw["path"])

    @property
    def strategy(self) -> FileStrategy:
        from featherbox.registry import default_registry

        name = self.spec.raw.get("update_strategy", "filename")
        strategies = {n: s for n, s in default_registry().strategies.items() if issubclass(s, FileStrategy)}
        if name not in strategies:
            raise FeatherBoxError(
                f"{self.spec.file}: update_strategy: unknown files strategy {name!r} "
                f"(installed: {', '.join(sorted(strategies))})"
            )
        return strategies[name](delete_missing=bool(self.spec.raw.get("delete_missing", False)))

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        bounds = self.spec.raw.get("range") or {}
        return tuple(_parse_time(bounds.get(key)) for key in ("since", "until"))  # type: ignore[return-value]

    def list_files(self, since: datetime | None = None) -> list[FileInfo]:
        """Files matching the path and range; with `since`, only those from that time on."""
        fs, root, pattern = self.filesystem(), self.root(), self.pattern
        range_since, until = self.time_range()
        since = max(filter(None, (since, range_since)), default=None)
        self.listed_globs = listing_globs(pattern, since, until)
        found: dict = {}
        try:
            for glob in self.listed_globs:
                found.update(fs.glob(f"{root}/{glob}", detail=True))
        except Exception as exc:
            reason = self.scrub(exc) or type(exc).__name__
            raise FeatherBoxError(f"adapter {self.name}: listing {self.location()} failed: {reason}") from None
        files = []
        for full, info in found.items():
            if info.get("type") == "directory":
                continue
            rel = full[len(root) + 1 :] if full.startswith(root + "/") else full
            file_time = pattern.file_time(rel)
            if pattern.has_time and file_time is None:
                continue
            if since and file_time and file_time < since:
                continue
            if until and file_time and file_time >= until:
                continue
            files.append(FileInfo(rel, int(info.get("size") or 0), _mtime(info), _etag(info), file_time))
        return sorted(files, key=lambda f: f.path)

    def ledger(self, con: duckdb.DuckDBPyConnection) -> dict[str, FileInfo]:
        rows = con.execute(
            f"""SELECT path, size, mtime, etag, file_time, removed FROM {LEDGER} WHERE adapter = {sql_string(self.name)}
                QUALIFY row_number() OVER (PARTITION BY path ORDER BY seq DESC) = 1"""
        ).fetchall()
        return {p: FileInfo(p, s, m, e, t) for p, s, m, e, t, removed in rows if not removed}

    def source_signature(self) -> str | None:
        import hashlib

        files = self.list_files()
        self._listed = files  # `detect` in the same run uses it instead of listing again
        listing = sorted((f.path, f.size, f.mtime, f.etag) for f in files)
        return hashlib.sha256(repr(listing).encode()).hexdigest()

    def detect(self, con, previous):
        # a listing taken for the run's digest is older than this moment: what arrived since then
        # changes the next run's digest, so it is loaded then
        listed = self.__dict__.pop("_listed", None)
        if previous is None:
            listing = self.list_files() if listed is None else listed
            return Detection(True, f"never loaded ({_count(len(listing), 'file')})", (listing, None))
        ledger = self.ledger(con)
        since = self._lookback_start(ledger)
        listing = self.list_files(since) if listed is None or since is not None else listed
        if since is not None:
            ledger = {p: f for p, f in ledger.items() if f.file_time is None or f.file_time >= since}
        selection = self.strategy.select(listing, ledger)
        return Detection(not selection.empty, selection.describe(), (listing, selection))

    def _lookback_start(self, ledger: dict[str, FileInfo]) -> datetime | None:
        lookback = self.spec.raw.get("lookback")
        times = [f.file_time for f in ledger.values() if f.file_time is not None]
        if not lookback or not times:
            return None
        from featherbox.config.durations import parse_duration

        return max(times) - parse_duration(lookback)

    def load(self, ctx: LoadContext) -> LoadResult:
        con = ctx.con
        self.prepare(con)
        listing, selection = ctx.detection.payload or (self.list_files(), None)
        full = (
            ctx.full_refresh or ctx.previous is None or selection is None
            or isinstance(self.strategy, FullStrategy) or not ctx.table_exists(self.table)
        )
        if full:
            message = self._full_load(con, listing, ctx.run_id)
            files = len(listing)
        else:
            message = self._incremental_load(con, selection, ctx.run_id)
            files = (ctx.previous or {}).get("files", 0) + len(selection.new) - len(selection.removed)
        rows = con.execute(f"SELECT count(*) FROM {quote_table(self.table)}").fetchone()[0]
        return LoadResult({self.table: rows}, {"files": files}, message, incremental=not full)

    def _select(self, files: list[FileInfo]) -> str:
        root, fmt = self.root(), self.format
        mapping = [(self.duckdb_path(f"{root}/{f.path}"), f.path, f.file_time) for f in files]
        same_header = False
        if fmt["type"] in ("csv", "tsv") and not fmt.get("columns") and fmt.get("header", True):
            same_header = headers_match(self.filesystem(), [f"{root}/{f.path}" for f in files], int(fmt.get("skip", 0)))
        call = read_call([m[0] for m in mapping], fmt, same_header)
        return select_with_file_columns(call, mapping, self.pattern.has_time)

    def _gzip_checks(self, files: list[FileInfo]) -> GzipChecks:
        root = self.root()
        enabled = self.spec.raw.get("verify_gzip", True)
        return GzipChecks(self.filesystem(), [(f"{root}/{f.path}", f.path) for f in files], self.name, enabled)

    def _read_error(self, exc: Exception, files: list[FileInfo]) -> FeatherBoxError:
        names = ", ".join(f.path for f in files[:5]) + (" ..." if len(files) > 5 else "")
        return FeatherBoxError(
            f"adapter {self.name}: reading {_count(len(files), 'file')} ({names}) failed: {self.scrub(exc)}"
        )

    def _full_load(self, con, listing: list[FileInfo], run_id: str) -> str:
        if not listing:
            raise FeatherBoxError(
                f"adapter {self.name} ({self.spec.file}): no {self.location_label} match "
                f"path {self.spec.raw['path']!r} under {self.root()}"
            )
        con.execute("CREATE SCHEMA IF NOT EXISTS main")
        checks = self._gzip_checks(listing)
        try:
            con.execute(f"CREATE OR REPLACE TABLE {quote_table(self.table)} AS {self._select(listing)}")
        except Exception as exc:
            checks.close()
            raise self._read_error(exc, listing) from exc
        checks.raise_problems()
        old = self.ledger(con)
        present = {f.path for f in listing}
        self._write_ledger(con, listing, run_id, removed=[f for p, f in old.items() if p not in present])
        return f"loaded {_count(len(listing), 'file')}"

    def _incremental_load(self, con, selection: FileSelection, run_id: str) -> str:
        table = quote_table(self.table)
        replaced = selection.changed + selection.removed
        if replaced:
            paths = ", ".join(sql_string(f.path) for f in replaced)
            con.execute(f"DELETE FROM {table} WHERE _source_file IN ({paths})")
        to_read = selection.new + selection.changed
        if to_read:
            query = self._select(to_read)
            checks = self._gzip_checks(to_read)
            try:
                self._add_new_columns(con, query, to_read)
                con.execute(f"INSERT INTO {table} BY NAME {query}")
            except FeatherBoxError:
                checks.close()
                raise
            except Exception as exc:
                checks.close()
                raise self._read_error(exc, to_read) from exc
            checks.raise_problems()
        self._write_ledger(con, to_read, run_id, removed=selection.removed)
        return selection.describe()

    def _add_new_columns(self, con, query: str, files: list[FileInfo]) -> None:
        incoming = con.execute(f"DESCRIBE {query}").fetchall()
        schema, _, name = self.table.partition(".")
        existing = dict(
            con.execute(
                "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'lake' AND schema_name = ? AND table_name = ?",
                [schema, name],
            ).fetchall()
        )
        for column, kind, *_ in incoming:
            if column not in existing:
                con.execute(f'ALTER TABLE {quote_table(self.table)} ADD COLUMN "{column}" {kind}')
            elif existing[column] != kind and not _widens(existing[column], kind):
                names = ", ".join(f.path for f in files[:5]) + (" ..." if len(files) > 5 else "")
                raise FeatherBoxError(
                    f"adapter {self.name}: column {column!r} is {existing[column]} in table {self.table} "
                    f"but {kind} in the new files ({names}); fix the files, declare `format.columns`, "
                    "or run with --full-refresh"
                )

    def _write_ledger(self, con, files: list[FileInfo], run_id: str, removed: list[FileInfo] = ()) -> None:
        import time

        rows = [(f, False) for f in files] + [(f, True) for f in removed]
        if not rows:
            return
        seq = time.time_ns()
        values = values_sql([self.name, f.path, f.size, f.mtime, f.etag, f.file_time, run_id, seq, gone] for f, gone in rows)
        con.execute(f"INSERT INTO {LEDGER} {values}")


def _widens(old: str, new: str) -> bool:
    order = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE"]
    return old in order and new in order and order.index(new) <= order.index(old)


def _parse_time(value) -> datetime | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.replace(tzinfo=None)
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).replace(tzinfo=None)


def _mtime(info: dict) -> float | None:
    value = info.get("mtime") or info.get("LastModified") or info.get("last_modified") or info.get("updated")
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return float(value)


def _etag(info: dict) -> str | None:
    value = info.get("ETag") or info.get("etag") or info.get("md5Hash")
    return str(value).strip('"') if value else None


def _count(n: int, noun: str) -> str:
    return f"{n} {noun}{'s' if n != 1 else ''}"
