"""Which files to (re)load: compare a listing with the ledger of files already loaded."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from featherbox.extension import IncrementalStrategy


@dataclass(frozen=True)
class FileInfo:
    path: str
    size: int
    mtime: float | None = None
    etag: str | None = None
    file_time: datetime | None = None

    def same_content(self, other: FileInfo) -> bool:
        if self.etag and other.etag:
            return self.etag == other.etag and self.size == other.size
        return self.size == other.size and self.mtime == other.mtime


@dataclass
class FileSelection:
    new: list[FileInfo] = field(default_factory=list)
    changed: list[FileInfo] = field(default_factory=list)
    removed: list[FileInfo] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.new or self.changed or self.removed)

    def describe(self) -> str:
        parts = []
        for label, files in (("new", self.new), ("changed", self.changed), ("removed", self.removed)):
            if files:
                parts.append(f"{len(files)} {label} file{'s' if len(files) != 1 else ''}")
        return ", ".join(parts) or "no new files"


class FileStrategy(IncrementalStrategy):
    kind = "file"

    def __init__(self, delete_missing: bool = False):
        self.delete_missing = delete_missing

    def select(self, listing: list[FileInfo], ledger: dict[str, FileInfo]) -> FileSelection:
        raise NotImplementedError


class FilenameStrategy(FileStrategy):
    """Load each file once, by path: files not in the ledger are new (late files included)."""

    name = "filename"
    description = "load files whose path was never loaded; a file is never re-read"

    def select(self, listing, ledger):
        return FileSelection(new=[f for f in listing if f.path not in ledger])


class ContentStrategy(FileStrategy):
    """Also re-load a file whose size, etag or mtime changed, replacing the rows it produced."""

    name = "content"
    description = "load new files and re-load changed ones (size, etag or mtime), replacing their rows"

    def select(self, listing, ledger):
        selection = FileSelection()
        for info in listing:
            seen = ledger.get(info.path)
            if seen is None:
                selection.new.append(info)
            elif not info.same_content(seen):
                selection.changed.append(info)
        if self.delete_missing:
            present = {f.path for f in listing}
            selection.removed = [info for path, info in ledger.items() if path not in present]
        return selection


class FullStrategy(FileStrategy):
    """Reload everything whenever anything differs from the ledger."""

    name = "full"
    description = "reload the whole source when any file is new, changed or removed"

    def select(self, listing, ledger):
        selection = ContentStrategy(delete_missing=True).select(listing, ledger)
        return selection
