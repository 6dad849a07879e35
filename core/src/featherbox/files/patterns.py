"""Time patterns in file paths: `logs/[YYYY]/[MM]/[DD]/app_[YYYY][MM][DD]T[HH][MM].log.gz`.

Tokens: `[YYYY]` year, `[MM]` month, `[DD]` day, `[HH]` hour, `[SS]` second. `[MM]` right after
`[HH]` (directly or after one non-alphanumeric separator such as `:`) means minutes; `[mm]` is
always minutes. Everything else is a glob (`*`, `?`, `**`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

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

    def static_prefix(self) -> str:
        """The leading part of the pattern with no token or wildcard: where listing starts."""
        cut = len(self.text)
        for marker in ("[", "*", "?", "{"):
            index = self.text.find(marker)
            if index != -1:
                cut = min(cut, index)
        return self.text[:cut].rpartition("/")[0]


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
