"""MySQL / MariaDB change data capture: the row binlog, read with the `mysql-replication` package.

Each load connects as a replica (a random server id), reads from the stored position (`{"file",
"pos"}`, just after the last whole transaction the lake committed) to the end of the binlog as it
was when the read started, without blocking, and hands the row events of the adapter's tables to
`featherbox.database_sources.cdc.ChangeSink`. Nothing is held at the server: a killed run reads the same
events again next time. A position whose binlog file was purged means a new snapshot.

The server needs `log_bin` on, `binlog_format=ROW`, `binlog_row_image=FULL` and
`binlog_row_metadata=FULL` (column names in the binlog), and the user REPLICATION SLAVE and
REPLICATION CLIENT (MariaDB: BINLOG MONITOR) privileges.

Snapshot handoff: on MariaDB `START TRANSACTION WITH CONSISTENT SNAPSHOT` reports the binlog position
its snapshot matches (`binlog_snapshot_file/position`); elsewhere a brief `FLUSH TABLES WITH READ
LOCK` around `SHOW MASTER STATUS`. Either way every transaction before the position is committed
and visible to the copy that follows; changes after it are replayed (idempotently) on top.
"""

from __future__ import annotations

import datetime as dt
import json
import random
import re
from decimal import Decimal

from featherbox.errors import FeatherBoxError
from featherbox.database_sources.cdc import CdcReader, ChangeSink
from featherbox.database_sources.connection import run_query


def _file_key(name: str) -> tuple[str, int]:
    m = re.match(r"^(.*?)(\d+)$", name)
    return (m.group(1), int(m.group(2))) if m else (name, 0)


def at_or_after(a: tuple[str, int], b: tuple[str, int]) -> bool:
    return (_file_key(a[0]), a[1]) >= (_file_key(b[0]), b[1])


def text_of(value) -> str | None:
    """A binlog value as the text DuckDB casts to the lake column type."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        seconds = int(value.total_seconds())
        sign = "-" if seconds < 0 else ""
        seconds = abs(seconds)
        micro = f".{value.microseconds:06d}" if value.microseconds and not sign else ""
        return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}{micro}"
    if isinstance(value, (dict, list)):
        return json.dumps(value, default=str)
    if isinstance(value, (set, frozenset)):
        return ",".join(sorted(str(v) for v in value))
    if isinstance(value, float):
        return repr(value)
    if isinstance(value, Decimal):
        return format(value, "f")
    return str(value)


class MySQLCdc(CdcReader):
    def __init__(self, adapter):
        super().__init__(adapter)
        self.schema = adapter.params["dbname"]

    def _var(self, name: str):
        rows = run_query(self.conn, f"SHOW GLOBAL VARIABLES LIKE '{name}'")
        return rows[0][1] if rows else None

    def check(self) -> None:
        fix = "set binlog_format=ROW and binlog_row_metadata=FULL (and log_bin on, binlog_row_image=FULL) in the server configuration and restart it"
        log_bin, fmt = self._var("log_bin"), self._var("binlog_format")
        image, metadata = self._var("binlog_row_image"), self._var("binlog_row_metadata")
        problems = []
        if str(log_bin).upper() not in ("ON", "1"):
            problems.append("the binary log is off (log_bin)")
        if str(fmt).upper() != "ROW":
            problems.append(f"binlog_format is {fmt}")
        if image is not None and str(image).upper() != "FULL":
            problems.append(f"binlog_row_image is {image}")
        if str(metadata).upper() != "FULL":
            problems.append(f"binlog_row_metadata is {metadata or 'not supported'}")
        if problems:
            raise self._fail(f"incremental cdc reads the row binlog, but {', '.join(problems)}; {fix}")

    def _master_status(self) -> tuple[str, int]:
        for statement in ("SHOW BINARY LOG STATUS", "SHOW MASTER STATUS"):
            try:
                rows = run_query(self.conn, statement)
            except Exception:
                continue
            if rows:
                return rows[0][0], int(rows[0][1])
        raise self._fail("cannot read the binlog position (SHOW MASTER STATUS): the user needs the "
                         "REPLICATION CLIENT (MariaDB: BINLOG MONITOR) privilege")

    def resume(self, previous: dict | None) -> dict | None:
        position = (previous or {}).get("position") or {}
        if not position.get("file"):
            return None
        try:
            files = {r[0] for r in run_query(self.conn, "SHOW BINARY LOGS")}
        except Exception as exc:
            raise self._fail("cannot list the binary logs", exc) from None
        return position if position["file"] in files else None  # purged: take a new snapshot

    def start_snapshot(self) -> dict:
        conn = self.conn
        try:
            run_query(conn, "START TRANSACTION WITH CONSISTENT SNAPSHOT")
            status = dict(run_query(conn, "SHOW STATUS LIKE 'binlog_snapshot_%'"))
            run_query(conn, "COMMIT")
        except Exception as exc:
            raise self._fail("cannot start a consistent snapshot", exc) from None
        if status.get("Binlog_snapshot_file"):  # MariaDB
            return {"file": status["Binlog_snapshot_file"], "pos": int(status["Binlog_snapshot_position"])}
        try:
            run_query(conn, "FLUSH TABLES WITH READ LOCK")
        except Exception as exc:
            raise self._fail("cannot take the snapshot position (FLUSH TABLES WITH READ LOCK needs RELOAD)", exc) from None
        try:
            file, pos = self._master_status()
        finally:
            run_query(conn, "UNLOCK TABLES")
        return {"file": file, "pos": pos}

    def _stream(self, position: dict):
        from pymysqlreplication import BinLogStreamReader
        from pymysqlreplication.event import QueryEvent, XidEvent
        from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

        p = self.adapter.params
        settings = {"host": p["host"], "port": int(p["port"]), "user": p["user"] or "root", "password": p["password"] or ""}
        return BinLogStreamReader(
            connection_settings=settings, server_id=random.randint(100_000, 2**31 - 1), resume_stream=True,
            log_file=position["file"], log_pos=int(position["pos"]), blocking=False,
            only_events=[WriteRowsEvent, UpdateRowsEvent, DeleteRowsEvent, XidEvent, QueryEvent],
            only_schemas=[self.schema], only_tables=[t["name"] for t in self.adapter.tables()],
        )

    def _events(self, position: dict, on_row):
        """Feed row changes to `on_row(op, event, row)`; return the position after the last whole
        transaction up to the binlog end as it was when the read started."""
        from pymysqlreplication.event import QueryEvent, XidEvent
        from pymysqlreplication.row_event import DeleteRowsEvent, UpdateRowsEvent, WriteRowsEvent

        end = self._master_status()
        last = dict(position)
        if at_or_after((last["file"], int(last["pos"])), end):
            return last
        try:
            stream = self._stream(position)
        except Exception as exc:
            raise self._fail("cannot read the binlog (the user needs REPLICATION SLAVE)", exc) from None
        try:
            for event in stream:
                if isinstance(event, (XidEvent, QueryEvent)):
                    if isinstance(event, QueryEvent) and event.query.strip().upper() not in ("COMMIT", "COMMIT;"):
                        continue
                    last = {"file": stream.log_file, "pos": int(stream.log_pos)}
                    if at_or_after((last["file"], last["pos"]), end):
                        break
                elif isinstance(event, WriteRowsEvent):
                    for row in event.rows:
                        on_row("insert", event, row["values"], None)
                elif isinstance(event, UpdateRowsEvent):
                    for row in event.rows:
                        on_row("update", event, row["after_values"], row["before_values"])
                elif isinstance(event, DeleteRowsEvent):
                    for row in event.rows:
                        on_row("delete", event, row["values"], None)
        except FeatherBoxError:
            raise
        except Exception as exc:
            raise self._fail("reading the binlog failed", exc) from None
        finally:
            stream.close()
        return last

    def read(self, position: dict, sink: ChangeSink) -> tuple[dict, int]:
        count = 0

        def on_row(op, event, values, before):
            nonlocal count
            table = event.table
            at = dt.datetime.fromtimestamp(event.timestamp, dt.timezone.utc).isoformat()
            where = f"{event.packet.log_pos}"
            row = {k: text_of(v) for k, v in values.items()}
            if before is not None:
                old = {k: text_of(v) for k, v in before.items()}
                if any(old.get(k) != row.get(k) for k in sink.primary_keys.get(table, [])):
                    sink.add(table, "delete", old, where, at)
                    count += 1
            sink.add(table, op, row, where, at)
            count += 1

        last = self._events(position, on_row)
        return last, count

    def pending(self, position: dict, limit: int) -> int:
        count = 0

        def on_row(op, event, values, before):
            nonlocal count
            count += 1

        self._events(position, on_row)
        return count
