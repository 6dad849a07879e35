"""fbox-localfile against `featherbox.testing.AdapterContract`; runs with only the core and this plugin
installed (`pytest plugins/fbox-localfile/tests`)."""

from __future__ import annotations

import gzip
from datetime import datetime

import pytest

from featherbox.testing import AdapterContract

HOURLY = "[YYYY]/[MM]/[DD]/app_[YYYY][MM][DD]T[HH].csv.gz"


def _hour_file(t: datetime) -> tuple[str, bytes]:
    rows = "".join(f"{t.isoformat()},{t.hour * 10 + i},/p{i}\n" for i in range(3))
    return f"logs/{t:%Y/%m/%d}/app_{t:%Y%m%dT%H}.csv.gz", gzip.compress(("ts,user_id,path\n" + rows).encode())


class TestLocalFileContract(AdapterContract):
    @pytest.fixture
    def adapter_type(self):
        from fbox_localfile.adapter import LocalFileAdapter

        return LocalFileAdapter

    @pytest.fixture
    def valid_config(self):
        return {"type": "localfile", "config": {"base_path": "sources"}, "path": "events/*.csv", "format": "csv"}

    @pytest.fixture
    def project_files(self):
        return {
            "sources/events/a.csv": "id,name\n1,alpha\n2,beta\n",
            "sources/events/b.csv": "id,name\n3,gamma\n",
        }

    @pytest.fixture
    def add_rows(self):
        return lambda root: (root / "sources/events/c.csv").write_text("id,name\n4,delta\n5,epsilon\n")

    @pytest.fixture
    def break_source(self):
        return lambda root: (root / "sources/events/d.csv").write_text("id,name\n6,zeta\n7,eta,one field too many\n")


class TestLocalFileGzipTimePatternContract(AdapterContract):
    """The same adapter with gzipped hourly files and the content strategy."""

    @pytest.fixture
    def adapter_type(self):
        from fbox_localfile.adapter import LocalFileAdapter

        return LocalFileAdapter

    @pytest.fixture
    def valid_config(self):
        return {"type": "localfile", "config": {"base_path": "logs"}, "path": HOURLY, "format": "csv",
                "update_strategy": "content"}

    @pytest.fixture
    def project_files(self):
        return dict(_hour_file(datetime(2024, 1, 1, h)) for h in (0, 1, 2))

    @pytest.fixture
    def add_rows(self):
        def add(root):
            rel, data = _hour_file(datetime(2024, 1, 1, 3))
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            (root / rel).write_bytes(data)

        return add

    @pytest.fixture
    def break_source(self):
        def truncated(root):
            rel, data = _hour_file(datetime(2024, 1, 1, 4))
            (root / rel).write_bytes(data[: len(data) // 2])  # a gzip cut in half

        return truncated
