"""PostgreSQL change data capture: a logical replication slot decoded with `pgoutput`, polled over SQL.

Why pgoutput (and not test_decoding or wal2json): it is built into every PostgreSQL >= 10 server
(managed ones included; test_decoding is a contrib example and wal2json an extra package), its tuple
values are length-prefixed text (no quoting to undo), every relation is described by a Relation
message (column names, key flags), and it only decodes the tables of its publication. psycopg 3 has
no streaming-replication API, so the slot is polled with `pg_logical_slot_peek_binary_changes`
(protocol version 1) and released with `pg_replication_slot_advance` - only up to a position the
lake has committed (the `previous` state), so a killed run reads the same changes again.

Objects at the source, both named after the slot (`incremental.slot`, default
`fbox_<adapter>_<hash>`): a publication `FOR TABLE` the adapter's tables (created first, so the
slot decodes them), and the slot. `fbox adapter delete` drops both.

Values are decoded in this session with DateStyle ISO, TimeZone UTC and bytea_output hex, which
DuckDB casts back to the lake column types (featherbox.database_sources.cdc.cast_expr).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import struct

from featherbox.database_sources.cdc import CdcReader, ChangeSink

PG_EPOCH = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)
SESSION = ("SET DateStyle = 'ISO, YMD'", "SET TimeZone = 'UTC'", "SET bytea_output = 'hex'",
           "SET IntervalStyle = 'postgres'", "SET extra_float_digits = 3")


def lsn_int(lsn: str) -> int:
    hi, lo = lsn.split("/")
    return (int(hi, 16) << 32) | int(lo, 16)


def lsn_text(value: int) -> str:
    return f"{value >> 32:X}/{value & 0xFFFFFFFF:X}"


class Reader:
    """A cursor over one pgoutput message."""

    def __init__(self, data: bytes):
        self.data, self.at = data, 0

    def take(self, fmt: str):
        value = struct.unpack_from(fmt, self.data, self.at)
        self.at += struct.calcsize(fmt)
        return value[0]

    def string(self) -> str:
        end = self.data.index(b"\0", self.at)
        text = self.data[self.at:end].decode()
        self.at = end + 1
        return text

    def tuple(self) -> list[tuple[str, str | None]]:
        """[(kind, text)]: kind n = NULL, u = unchanged TOAST value, t = text."""
        out = []
        for _ in range(self.take("!h")):
            kind = chr(self.take("!B"))
            if kind == "t" or kind == "b":
                size = self.take("!i")
                out.append(("t", self.data[self.at:self.at + size].decode()))
                self.at += size
            else:
                out.append((kind, None))
        return out


class PostgresCdc(CdcReader):
    session = SESSION

    def __init__(self, adapter):
        super().__init__(adapter)
        inc = adapter.spec.raw.get("incremental") or {}
        default = f"fbox_{adapter.name.lower()}_" + hashlib.sha256(
            f"{adapter.project.root.resolve()}:{adapter.name}".encode()).hexdigest()[:8]
        self.slot = (inc.get("slot") or default)[:63]
        self.schema = adapter.dialect.source_schema(adapter)

    # connection and checks

    def _one(self, sql: str, params=()):
        return self.conn.execute(sql, params).fetchone()

    def check(self) -> None:
        level = self._one("SHOW wal_level")[0]
        if level != "logical":
            raise self._fail(
                f"incremental cdc needs logical decoding, but the server runs with wal_level = {level}; "
                "set wal_level = logical in postgresql.conf and restart the server"
            )
        allowed = self._one("SELECT rolsuper OR rolreplication FROM pg_roles WHERE rolname = current_user")
        if not allowed or not allowed[0]:
            user = self._one("SELECT current_user")[0]
            raise self._fail(
                f"incremental cdc needs the REPLICATION privilege to use a replication slot; "
                f"run ALTER ROLE {user} WITH REPLICATION as a superuser"
            )

    def _tables(self) -> list[str]:
        return [t["name"] for t in self.adapter.tables()]

    def _slot(self):
        return self._one(
            "SELECT plugin, database, confirmed_flush_lsn::text, active FROM pg_replication_slots WHERE slot_name = %s",
            (self.slot,),
        )

    # positions

    def resume(self, previous: dict | None) -> dict | None:
        if previous is None:
            return None
        lsn = (previous.get("position") or {}).get("lsn")
        slot = self._slot()
        if slot is None or lsn is None:
            return None  # the slot was dropped: changes may be lost, take a new snapshot
        plugin, database, confirmed, active = slot
        if plugin != "pgoutput" or database != self.adapter.params["dbname"]:
            raise self._fail(f"replication slot {self.slot} belongs to something else (plugin {plugin}, database "
                             f"{database}); set incremental.slot to another name")
        if confirmed is None or lsn_int(confirmed) > lsn_int(lsn):
            return None  # someone moved the slot past what the lake holds
        if lsn_int(confirmed) < lsn_int(lsn):  # release what the lake committed last time
            try:
                self.conn.execute("SELECT pg_replication_slot_advance(%s, %s::pg_lsn)", (self.slot, lsn))
            except Exception as exc:
                raise self._fail(f"cannot advance replication slot {self.slot}", exc) from None
        return {"lsn": lsn}

    def start_snapshot(self) -> dict:
        self._check_identity()
        self._drop()
        q = self.adapter.dialect.quote
        tables = ", ".join(f"{q(self.schema)}.{q(t)}" for t in self._tables())
        try:
            self.conn.execute(f"CREATE PUBLICATION {q(self.slot)} FOR TABLE {tables}")
        except Exception as exc:
            raise self._fail(f"cannot create publication {self.slot} (the user must own the tables)", exc) from None
        try:
            lsn = self._one("SELECT lsn::text FROM pg_create_logical_replication_slot(%s, 'pgoutput')", (self.slot,))[0]
        except Exception as exc:
            text = str(exc)
            if "all replication slots are in use" in text:
                raise self._fail("no free replication slot: raise max_replication_slots in postgresql.conf "
                                 "(restart needed) or drop an unused slot (see pg_replication_slots)") from None
            raise self._fail(f"cannot create replication slot {self.slot}", exc) from None
        return {"lsn": lsn}

    def _check_identity(self) -> None:
        """Refuse tables whose UPDATE/DELETE would not carry the configured key (and would make the
        source refuse UPDATE/DELETE once in the publication)."""
        for table in self.adapter.keyed_tables():
            row = self._one(
                "SELECT c.relreplident, (SELECT array_agg(a.attname::text) FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) WHERE i.indrelid = c.oid AND "
                "((c.relreplident = 'd' AND i.indisprimary) OR (c.relreplident = 'i' AND i.indisreplident))) "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relname = %s "
                "AND c.relkind IN ('r', 'p')",
                (self.schema, table["name"]),
            )
            if row is None:
                raise self._fail(f"incremental cdc follows tables only: {self.schema}.{table['name']} is not a table")
            ident, key = row[0], row[1] or []
            if ident == "f":
                continue
            wanted = self.adapter.primary_key(table)
            if not key or not set(wanted) <= set(key):
                raise self._fail(
                    f"table {self.schema}.{table['name']} needs a primary key (or replica identity index) on "
                    f"{', '.join(wanted)}, or REPLICA IDENTITY FULL, so that updates and deletes carry the key"
                )

    # reading

    def _peek(self, upto: str, limit: int | None):
        return (
            "SELECT lsn::text, data FROM pg_logical_slot_peek_binary_changes(%s, %s::pg_lsn, %s, "
            "'proto_version', '1', 'publication_names', %s)",
            (self.slot, upto, limit, self.slot),
        )

    def pending(self, position: dict, limit: int) -> int:
        upto = self._one("SELECT pg_current_wal_flush_lsn()::text")[0]
        sql, params = self._peek(upto, limit)
        return self._one(f"SELECT count(*) FROM ({sql}) AS m WHERE get_byte(m.data, 0) IN (73, 85, 68, 84)", params)[0]

    def read(self, position: dict, sink: ChangeSink) -> tuple[dict, int]:
        upto = self._one("SELECT pg_current_wal_flush_lsn()::text")[0]
        wanted = set(self._tables())
        relations: dict[int, tuple[str, list[tuple[str, bool]]]] = {}
        last = lsn_int(position["lsn"])
        commit_lsn, changed_at, count = "", None, 0
        sql, params = self._peek(upto, None)
        cur = self.conn.cursor()
        for _lsn, data in cur.stream(sql, params):
            m = Reader(bytes(data))
            kind = chr(m.take("!B"))
            if kind == "B":
                commit_lsn = lsn_text(m.take("!q"))
                changed_at = (PG_EPOCH + dt.timedelta(microseconds=m.take("!q"))).isoformat()
            elif kind == "C":
                m.take("!B")
                m.take("!q")
                last = max(last, m.take("!q"))  # end of the commit record
            elif kind == "R":
                relid, nsp, name = m.take("!I"), m.string(), m.string()
                m.take("!B")
                cols = []
                for _ in range(m.take("!h")):
                    flags = m.take("!B")
                    cols.append((m.string(), bool(flags & 1)))
                    m.take("!I")
                    m.take("!i")
                relations[relid] = (name if nsp == self.schema and name in wanted else "", cols)
            elif kind in "IUD":
                table, cols = relations[m.take("!I")]
                if not table:
                    continue
                count += self._change(sink, table, cols, kind, m, commit_lsn, changed_at)
            elif kind == "T":
                nrels, _options = m.take("!I"), m.take("!B")
                for _ in range(nrels):
                    table, _cols = relations.get(m.take("!I"), ("", []))
                    if table:
                        sink.truncate(table, commit_lsn, changed_at)
                        count += 1
        cur.close()
        # every transaction that committed before `upto` was decoded above: the position can move there
        return {"lsn": lsn_text(max(last, lsn_int(upto)))}, count

    def _change(self, sink, table, cols, kind, m: Reader, position, changed_at) -> int:
        def row_of(values, keys_only=False):
            row, unchanged = {}, []
            for (name, is_key), (k, text) in zip(cols, values):
                if keys_only and not is_key:
                    continue
                if k == "u":
                    unchanged.append(name)
                else:
                    row[name] = text
            return row, unchanged

        if kind == "I":
            m.take("!B")  # N
            row, _ = row_of(m.tuple())
            sink.add(table, "insert", row, position, changed_at)
            return 1
        if kind == "D":
            tag = chr(m.take("!B"))  # K: key columns only, O: the whole old row (REPLICA IDENTITY FULL)
            row, _ = row_of(m.tuple(), keys_only=tag == "K")
            sink.add(table, "delete", {k: v for k, v in row.items()}, position, changed_at)
            return 1
        tag = chr(m.take("!B"))
        old = None
        if tag in "KO":  # the key changed (K) or REPLICA IDENTITY FULL (O): the old image comes first
            old, _ = row_of(m.tuple(), keys_only=tag == "K")
            tag = chr(m.take("!B"))
        row, unchanged = row_of(m.tuple())
        n = 1
        pk = sink.primary_keys.get(table, [])
        if old is not None and any(old.get(k) != row.get(k) for k in pk):
            sink.add(table, "delete", old, position, changed_at)
            n += 1
        sink.add(table, "update", row, position, changed_at, unchanged)
        return n

    # cleanup

    def _drop(self) -> None:
        slot = self._slot()
        if slot is not None:
            if slot[3]:
                raise self._fail(f"replication slot {self.slot} is in use by another process; stop it first")
            try:
                self.conn.execute("SELECT pg_drop_replication_slot(%s)", (self.slot,))
            except Exception as exc:
                raise self._fail(f"cannot drop replication slot {self.slot}", exc) from None
        self.conn.execute(f"DROP PUBLICATION IF EXISTS {self.adapter.dialect.quote(self.slot)}")

    def release(self) -> None:
        self._drop()
