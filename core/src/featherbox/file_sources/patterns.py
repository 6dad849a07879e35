"""Time patterns in file paths: `logs/[YYYY]/[MM]/[DD]/app_[YYYY][MM][DD]T[HH][MM].log.gz`.

Tokens: `[YYYY]` year, `[MM]` month, `[DD]` day, `[HH]` hour, `[SS]` second. `[MM]` right after
`[HH]` (directly or after one non-alphanumeric separator such as `:`) means minutes; `[mm]` is
always minutes. Everything else is a glob (`*`, `?`, `**`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

TOKEN = re.compile(r"\[(YYYY|MM|DD|HH|mm|SS)\]")
WIDTH = {"YYYY": 4, "MM": 2, "DD": 2, "HH": 2, "mm": 2, "SS": 2}
FIELD = {"YYYY": "year", "MM": "month", "DD": "day", "HH": "hour", "mm": "minute", "SS": "second"}


@dataclass(frozen=True)
class PathPattern:
    text: str
    tokens: tuple[str, ...]  # resolved token names in order: year, month, day, hour, minute, second

    @property
    def has_time(self) -> bool:
        return bool(self.tokens)

    def glob(self) -> str:
        return TOKEN.sub(lambda m: "[0-9]" * WIDTH[m.group(1)], self.text)

    def regex(self) -> re.Pattern:
        parts, last = [], 0
        for match, field in zip(TOKEN.finditer(self.text), self.tokens):
            parts.append(_glob_to_regex(self.text[last : match.start()]))
            parts.append(f"(?P<{field}_{len(parts)}>\\d{{{WIDTH[match.group(1)]}}})")
            last = match.end()
        parts.append(_glob_to_regex(self.text[last:]))
        return re.compile("^" + "".join(parts) + "$")

    def file_time(self, path: str) -> datetime | None:
        """The time a path encodes, or None when the pattern has no tokens or the path does not match."""
        if not self.tokens:
            return None
        match = self.regex().match(path)
        if not match:
            return None
        values: dict[str, int] = {}
        for key, value in match.groupdict().items():
            field = key.rsplit("_", 1)[0]
            if field in values and values[field] != int(value):
                return None  # [YYYY] in the folder and the file name disagree
            values[field] = int(value)
        try:
            return datetime(
                values.get("year", 1970), values.get("month", 1), values.get("day", 1),
                values.get("hour", 0), values.get("minute", 0), values.get("second", 0),
            )
        except ValueError:
            return None


GRAINS = ("year", "month", "day", "hour", "minute", "second")
FORMATS = {"year": "%Y", "month": "%m", "day": "%d", "hour": "%H", "minute": "%M", "second": "%S"}
GLOB_CHARS = set("*?{")


def listing_globs(pattern: PathPattern, since: datetime | None, until: datetime | None, limit: int = 64) -> list[str]:
    """Globs (relative to the root) that together match every file of `pattern` in [since, until).

    The leading folders made only of literal text and time tokens are filled in for each time
    step between `since` and `until`, so only those folders are listed. The deepest folder level
    that needs at most `limit` globs is used (day folders for a week, month folders for years):
    every glob is a listing request on an object store. Without `since`, or when even the top
    level needs more, the one glob of the whole pattern is returned.
    """
    whole = [pattern.glob()]
    segments = pattern.text.split("/")
    token_iter = iter(pattern.tokens)
    fixed: list[list[tuple[str, str | None]]] = []  # per folder: (literal, None) or (token text, field)
    for segment in segments[:-1]:
        if GLOB_CHARS & set(TOKEN.sub("", segment)) or "[" in TOKEN.sub("", segment):
            break
        parts, last = [], 0
        for match in TOKEN.finditer(segment):
            parts.append((segment[last : match.start()], None))
            parts.append((match.group(0), next(token_iter)))
            last = match.end()
        parts.append((segment[last:], None))
        fixed.append(parts)
    if since is None:
        return whole
    until = until or datetime.now() + timedelta(days=1)
    for depth in range(len(fixed), 0, -1):
        folders = fixed[:depth]
        fields = [field for parts in folders for _, field in parts if field]
        if not fields:
            break
        prefixes = _prefixes(folders, max(fields, key=GRAINS.index), since, until, limit)
        if prefixes is not None:
            rest = parse_pattern("/".join(segments[depth:])).glob()
            return [f"{prefix}/{rest}" for prefix in prefixes]
    return whole


def _prefixes(folders, grain: str, since: datetime, until: datetime, limit: int) -> list[str] | None:
    """The folder paths `folders` take from `since` to `until` at `grain`; None past `limit`."""
    prefixes: list[str] = []
    current = _floor(since, grain)
    while current < until:
        prefix = "/".join("".join(current.strftime(FORMATS[f]) if f else text for text, f in parts) for parts in folders)
        if not prefixes or prefixes[-1] != prefix:
            prefixes.append(prefix)
        if len(prefixes) > limit:
            return None
        current = _step(current, grain)
    return prefixes


def _floor(moment: datetime, grain: str) -> datetime:
    keep = GRAINS.index(grain)
    values = {g: getattr(moment, g) for g in GRAINS}
    for g in GRAINS[keep + 1 :]:
        values[g] = 1 if g in ("month", "day") else 0
    return datetime(**values)


def _step(moment: datetime, grain: str) -> datetime:
    if grain == "year":
        return moment.replace(year=moment.year + 1)
    if grain == "month":
        return moment.replace(year=moment.year + moment.month // 12, month=moment.month % 12 + 1)
    return moment + {"day": timedelta(days=1), "hour": timedelta(hours=1), "minute": timedelta(minutes=1), "second": timedelta(seconds=1)}[grain]


def parse_pattern(text: str) -> PathPattern:
    tokens: list[str] = []
    previous_end, previous = -1, None
    for match in TOKEN.finditer(text):
        token = match.group(1)
        between = text[previous_end : match.start()] if previous_end >= 0 else ""
        if token == "MM" and previous == "HH" and len(between) <= 1 and not between.isalnum():
            token = "mm"
        tokens.append(FIELD[token])
        previous, previous_end = match.group(1) if token != "mm" else "mm", match.end()
    return PathPattern(text, tuple(tokens))


def _glob_to_regex(glob: str) -> str:
    out, i = [], 0
    while i < len(glob):
        c = glob[i]
        if glob.startswith("**/", i):
            out.append("(?:.*/)?")
            i += 3
            continue
        if glob.startswith("**", i):
            out.append(".*")
            i += 2
            continue
        out.append({"*": "[^/]*", "?": "[^/]"}.get(c, re.escape(c)))
        i += 1
    return "".join(out)
