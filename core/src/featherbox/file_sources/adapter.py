"""`FileAdapter`: the file machinery every file-system plugin shares.

A subclass says how to reach its files (an fsspec filesystem, the path DuckDB reads, secrets);
listing, time patterns, ranges, update strategies, the ledger and reading live here.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar

from featherbox.errors import FeatherBoxError
from featherbox.sql import quote_ident, quote_table, sql_string
from featherbox.extension import AdapterTemplate, AdapterType, Detection, LoadContext, LoadResult
from featherbox.file_sources.compression import compression_of
from featherbox.file_sources.diagnose import SNIFF, csv_bad_line, csv_line_error, first_paragraph
from featherbox.file_sources.headers import headers_match, probe_files
from featherbox.file_sources.integrity import IntegrityChecks
from featherbox.file_sources.patterns import PathPattern, listing_globs, parse_pattern
from featherbox.file_sources.reader import normalize_format, read_call, select_with_file_columns
from featherbox.file_sources.schema import config_issues, parse_time
from featherbox.file_sources.strategies import FileInfo, FileSelection, FileStrategy, FullStrategy
from featherbox.file_sources.template import FILE_OPTIONS, file_template
from featherbox.layout import RAW_SCHEMA, adapter_table
from featherbox.secrets import redact
from featherbox.state.ledger import loaded_files, record_files

if TYPE_CHECKING:
    import duckdb
    import fsspec

class FileAdapter(AdapterType):
    """Base of file sources; subclasses implement `filesystem`, `root` and may override `duckdb_path`."""

    location_label: ClassVar[str] = "files"
    new_options: ClassVar[dict[str, str]] = FILE_OPTIONS

    @classmethod
    def new_file(cls, name: str, options: dict[str, str], description: str | None = None) -> AdapterTemplate:
        """`path`, `format`, update strategy and range (`featherbox.file_sources.template`)."""
        return file_template(cls, name, options, description)

    @classmethod
    def config_issues(cls, document: dict) -> list[tuple[str, str]]:
        """See `featherbox.file_sources.schema.config_issues`."""
        return config_issues(document)

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

    def location_problem(self) -> str | None:
        """Why the files cannot be listed at all (the base is not a directory), or None."""
        return None

    def no_files_hint(self) -> str:
        """Why a listing may have found nothing (the base does not exist), or ""."""
        return ""

    def scrub(self, error: BaseException | str) -> str:
        """An error's text without credentials."""
        return redact(str(error))

    # --- shared machinery -------------------------------------------------------------------
    @property
    def table(self) -> str:
        return adapter_table(self.name)

    def output_tables(self) -> list[str]:
        self.strategy  # an unknown strategy is a configuration error, reported before anything runs
        return [self.table]

    @property
    def pattern(self) -> PathPattern:
        return parse_pattern(self.spec.raw["path"].lstrip("/"))

    @property
    def format(self) -> dict:
        return normalize_format(self.spec.raw.get("format"), self.spec.raw["path"])

    @classmethod
    def chosen_strategies(cls, document: dict) -> list[tuple[str, str, str]]:
        name = document.get("update_strategy", "filename")
        return [("update_strategy", "file", name)] if isinstance(name, str) else []

    @property
    def strategy(self) -> FileStrategy:
        """The registered file strategy `update_strategy:` names (default filename)."""
        name = self.spec.raw.get("update_strategy", "filename")
        from featherbox.registry import strategy_for

        cls = strategy_for(self, "file", name, "update_strategy")
        return cls(delete_missing=bool(self.spec.raw.get("delete_missing", False)))

    def time_range(self) -> tuple[datetime | None, datetime | None]:
        bounds = self.spec.raw.get("range") or {}
        return tuple(parse_time(bounds.get(key)) for key in ("since", "until"))  # type: ignore[return-value]

    def list_files(self, since: datetime | None = None) -> list[FileInfo]:
        """Files matching the path and range; with `since`, only those from that time on."""
        problem = self.location_problem()
        if problem:
            raise FeatherBoxError(f"adapter {self.name} ({self.spec.file}): {problem}")
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
        """path -> the file as it was loaded, for every file the ledger counts as loaded."""
        return {p: FileInfo(p, f.size, f.mtime, f.etag, f.file_time) for p, f in loaded_files(con, self.name).items()}

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
            message, rows = self._full_load(con, listing, ctx.run_id)
            files = len(listing)
        else:
            message, deleted, inserted = self._incremental_load(con, selection, ctx.run_id)
            files = (ctx.previous or {}).get("files", 0) + len(selection.new) - len(selection.removed)
            before = (ctx.previous or {}).get("rows")
            # the statements report what they wrote: the table is counted only when no count was recorded
            rows = before - deleted + inserted if isinstance(before, int) else \
                con.execute(f"SELECT count(*) FROM {quote_table(self.table)}").fetchone()[0]
        return LoadResult({self.table: rows}, {"files": files, "rows": rows}, message, incremental=not full)

    def _compression(self, info: FileInfo) -> str | None:
        return compression_of(info.path, self.format.get("compression", "auto"))

    def _bad_lines(self) -> str:
        return self.spec.raw.get("bad_lines", "fail") if self.format["type"] in ("csv", "tsv") else "fail"

    def _select(self, files: list[FileInfo]) -> tuple[str | None, list[FileInfo]]:
        """The query reading `files`, and the files left out of it because they hold no row (empty,
        blank lines only, a CSV header only, a JSON `[]`); the query is None when that is all of them."""
        root, fmt, fs = self.root(), self.format, self.filesystem()
        heads = probe_files(fs, [(f"{root}/{f.path}", self._compression(f)) for f in files], fmt)
        empty = [f for f, head in zip(files, heads) if head.rows is False]
        kept = [(f, head) for f, head in zip(files, heads) if head.rows is not False]
        if not kept:
            return None, empty
        mapping = [(self.duckdb_path(f"{root}/{f.path}"), f.path, f.file_time) for f, _ in kept]
        same_header = False
        if fmt["type"] in ("csv", "tsv") and not fmt.get("columns") and fmt.get("header", True):
            same_header = headers_match([head for _, head in kept])
        try:
            call = read_call([m[0] for m in mapping], fmt, same_header, self._bad_lines())
        except FeatherBoxError as exc:
            raise FeatherBoxError(f"adapter {self.name} ({self.spec.file}): {exc}") from None
        return select_with_file_columns(call, mapping, self.pattern.has_time), empty

    def _checks(self, files: list[FileInfo]) -> IntegrityChecks:
        root = self.root()
        enabled = self.spec.raw.get("verify_compressed", True) and self.spec.raw.get("verify_gzip", True)
        checked = [(f"{root}/{f.path}", f.path, self._compression(f)) for f in files]
        return IntegrityChecks(self.filesystem(), checked, self.name, enabled)

    def _read_error(self, exc: Exception, files: list[FileInfo], checks: IntegrityChecks) -> FeatherBoxError:
        """One line saying which file (and line) DuckDB could not read, and why."""
        problem = checks.first_problem()  # a truncated or corrupt file explains any read error
        if problem:
            return problem
        message = self.scrub(exc)
        root = self.root()
        shown = {self.duckdb_path(f"{root}/{f.path}"): f for f in files}
        kept = "nothing of this load was kept — fix or remove the file and run again"
        located = csv_line_error(message, self.format)
        if located and located[0] in shown:
            file, line, reason = located
            return FeatherBoxError(f"adapter {self.name}: file {shown[file].path}, line {line}: {reason}; {kept}")
        if self.format["type"] in ("csv", "tsv") and (SNIFF in message or located):
            for info in files:
                found = csv_bad_line(self.filesystem(), f"{root}/{info.path}", self._compression(info), self.format)
                if found:
                    return FeatherBoxError(f"adapter {self.name}: file {info.path}, line {found[0]}: {found[1]}; {kept}")
        text = first_paragraph(message)
        for full, info in shown.items():
            text = text.replace(full, info.path)
        names = ", ".join(f.path for f in files[:5]) + (" ..." if len(files) > 5 else "")
        return FeatherBoxError(f"adapter {self.name}: reading {_count(len(files), 'file')} ({names}) failed: {text}")

    def _no_files(self) -> FeatherBoxError:
        since, until = self.time_range()
        window = ""
        if since or until:
            window = " with a file time" + (f" from {since:%Y-%m-%d %H:%M:%S} UTC" if since else "") + (
                f" before {until:%Y-%m-%d %H:%M:%S} UTC" if until else ""
            ) + " (range)"
        hint = self.no_files_hint()
        return FeatherBoxError(
            f"adapter {self.name} ({self.spec.file}): no {self.location_label} match "
            f"path {self.spec.raw['path']!r} under {self.location()}{window}" + (f": {hint}" if hint else "")
        )

    def _read(self, con, files: list[FileInfo], write) -> tuple[str | None, list[FileInfo]]:
        """Read `files`: `write(query, files read)` runs the statement, with the integrity checks of
        every file alongside. Returns the query (None when no file holds a row) and the files without rows."""
        checks = self._checks(files)
        read = files
        try:
            query, empty = self._select(files)
            if query is not None:
                left_out = {f.path for f in empty}
                read = [f for f in files if f.path not in left_out]
                write(query, read)
        except FeatherBoxError:
            checks.close()
            raise
        except Exception as exc:
            raise self._read_error(exc, read, checks) from exc
        checks.raise_problems()
        return query, empty

    def _full_load(self, con, listing: list[FileInfo], run_id: str) -> str:
        if not listing:
            raise self._no_files()
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {quote_ident(RAW_SCHEMA)}")
        table = quote_table(self.table)
        written = [0]

        def write(query: str, _read: list[FileInfo]) -> None:
            written[0] = con.execute(f"CREATE OR REPLACE TABLE {table} AS {query}").fetchone()[0]

        query, empty = self._read(con, listing, write)
        if query is None:  # no file holds a row: the declared columns (if any) and FeatherBox's own
            con.execute(f"CREATE OR REPLACE TABLE {table} ({self._bare_columns()})")
        old = self.ledger(con)
        present = {f.path for f in listing}
        self._write_ledger(con, listing, run_id, removed=[f for p, f in old.items() if p not in present])
        message = f"loaded {_count(len(listing), 'file')}" + _empty_note(empty) + self._skipped_note(con, query)
        return message, written[0]

    def _bare_columns(self) -> str:
        """The columns of a table made from files that hold no row: the declared ones and FeatherBox's."""
        declared = [f'"{name}" {kind}' for name, kind in (self.format.get("columns") or {}).items()]
        own = ["_source_file VARCHAR"] + (["_file_time TIMESTAMP"] if self.pattern.has_time else [])
        return ", ".join(declared + own)

    def _incremental_load(self, con, selection: FileSelection, run_id: str) -> tuple[str, int, int]:
        """Apply `selection` to the table: (message, rows deleted, rows inserted)."""
        table = quote_table(self.table)
        replaced = selection.changed + selection.removed
        deleted = inserted = 0
        if replaced:
            paths = ", ".join(sql_string(f.path) for f in replaced)
            deleted = con.execute(f"DELETE FROM {table} WHERE _source_file IN ({paths})").fetchone()[0]
        to_read = selection.new + selection.changed
        query, empty = None, []
        if to_read:
            def write(query: str, read: list[FileInfo]) -> None:
                nonlocal inserted
                self._add_new_columns(con, query, read)
                inserted = con.execute(f"INSERT INTO {table} BY NAME {query}").fetchone()[0]

            query, empty = self._read(con, to_read, write)
        self._write_ledger(con, to_read, run_id, removed=selection.removed)
        return selection.describe() + _empty_note(empty) + self._skipped_note(con, query), deleted, inserted

    def _skipped_note(self, con, query: str | None) -> str:
        """With `bad_lines: skip`: which lines DuckDB left out of this load, from its reject tables."""
        if query is None or self._bad_lines() != "skip":
            return ""
        root = self.root()
        try:
            rows = con.execute(
                "SELECT s.file_path, e.line FROM reject_errors e JOIN reject_scans s USING (scan_id, file_id) "
                "ORDER BY s.file_path, e.line"
            ).fetchall()
        except Exception:
            return ""
        if not rows:
            return ""
        by_file: dict[str, list[int]] = {}
        for path, line in rows:
            shown = path[len(root) + 1 :] if path.startswith(root + "/") else path
            by_file.setdefault(shown, [])
            if line not in by_file[shown]:
                by_file[shown].append(line)
        count = sum(len(lines) for lines in by_file.values())
        detail = "; ".join(
            f"{path} line{'s' if len(lines) > 1 else ''} {', '.join(map(str, lines[:10]))}{' ...' if len(lines) > 10 else ''}"
            for path, lines in list(by_file.items())[:5]
        )
        more = f"; {len(by_file) - 5} more files" if len(by_file) > 5 else ""
        return f"; skipped {_count(count, 'bad line')} (bad_lines: skip): {detail}{more}"

    def _add_new_columns(self, con, query: str, files: list[FileInfo]) -> None:
        incoming = con.execute(f"DESCRIBE {query}").fetchall()
        existing = {row[0]: row[1] for row in con.execute(f"DESCRIBE {quote_table(self.table)}").fetchall()}
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
        record_files(con, self.name, run_id, files, removed)


def _widens(old: str, new: str) -> bool:
    order = ["TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT", "DOUBLE"]
    return old in order and new in order and order.index(new) <= order.index(old)




def _empty_note(files: list[FileInfo]) -> str:
    if not files:
        return ""
    names = ", ".join(f.path for f in files[:3]) + (" ..." if len(files) > 3 else "")
    return f" ({_count(len(files), 'file')} without rows: {names})"


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
