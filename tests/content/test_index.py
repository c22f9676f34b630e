"""The stat index (`content.index`): an unchanged file is not read again, a changed one always is, a file
stamped in the same tick of the clock as the run ("racy") is read again, and a damaged index is rebuilt."""
from __future__ import annotations

import os
import time
from pathlib import Path

from generator.content.cache import Cache
from generator.content.index import FileIndex


def aged(file: Path) -> os.stat_result:
    """The file's stat, once the file system's clock has moved past its last change."""
    status = os.stat(file)
    probe = file.parent / "clock-probe"
    while True:
        probe.write_bytes(b"now")
        if probe.stat().st_mtime_ns > max(status.st_mtime_ns, status.st_ctime_ns):
            return status
        time.sleep(0.005)


def indexed(cache: Cache, file: Path, payload: object = "verdict") -> None:
    """One run: the file read, hashed and given a payload, the index saved."""
    index = FileIndex.open(cache, "test", "rules 1")
    sha, data, known = index.read(file.name, file, os.stat(file))
    assert data == file.read_bytes()
    index.record(file.name, os.stat(file), sha, payload)
    index.save()


def an_indexed_file(tmp_path):
    """(cache, file): a file older than the run, indexed with the payload "verdict" under "rules 1"."""
    file = tmp_path / "a.yaml"
    file.write_text("id: a\n")
    aged(file)
    cache = Cache(tmp_path / "cache")
    indexed(cache, file)
    return cache, file


def test_an_unchanged_file_is_neither_read_nor_rehashed(tmp_path):
    cache, file = an_indexed_file(tmp_path)
    index = FileIndex.open(cache, "test", "rules 1")
    sha, data, payload = index.read(file.name, file, os.stat(file))
    assert data is None and payload == "verdict" and index.read_files == 0


def test_a_changed_file_is_read_and_its_old_payload_is_not_served(tmp_path):
    cache, file = an_indexed_file(tmp_path)
    file.write_text("id: b\n")  # same size
    index = FileIndex.open(cache, "test", "rules 1")
    sha, data, payload = index.read(file.name, file, os.stat(file))
    assert data == b"id: b\n" and payload is None


def test_a_file_touched_but_not_changed_keeps_its_payload(tmp_path):
    cache, file = an_indexed_file(tmp_path)
    os.utime(file)
    index = FileIndex.open(cache, "test", "rules 1")
    sha, data, payload = index.read(file.name, file, os.stat(file))
    assert data == b"id: a\n" and payload == "verdict"  # read again (new stamp), same bytes: same verdict


def test_a_file_stamped_in_the_tick_of_the_run_is_read_again_next_time(tmp_path):
    """The racy case: the file's time is not older than the run's clock marker, so an edit in that same tick
    could leave its stamp unchanged; it is stored without a stamp and read by the next run."""
    file = tmp_path / "a.yaml"
    file.write_text("id: a\n")
    future = time.time_ns() + 3600 * 10**9
    os.utime(file, ns=(future, future))  # as new as anything the run could stamp
    cache = Cache(tmp_path / "cache")
    indexed(cache, file)
    stamp, _, _ = FileIndex.open(cache, "test", "rules 1").entries[file.name]
    assert stamp is None
    index = FileIndex.open(cache, "test", "rules 1")
    sha, data, payload = index.read(file.name, file, os.stat(file))
    assert data == b"id: a\n" and payload == "verdict" and index.read_files == 1


def test_new_rules_keep_the_hashes_but_not_the_payloads(tmp_path):
    cache, file = an_indexed_file(tmp_path)
    index = FileIndex.open(cache, "test", "rules 2")
    sha, data, payload = index.read(file.name, file, os.stat(file))
    assert data is None and payload is None


def test_a_damaged_index_is_a_miss_and_every_file_is_read(tmp_path):
    cache, file = an_indexed_file(tmp_path)
    stored = cache.path("index", FileIndex(cache, "test")._key())
    stored.write_bytes(stored.read_bytes()[:-3] + b"xyz")
    damaged = Cache(tmp_path / "cache")
    index = FileIndex.open(damaged, "test", "rules 1")
    assert damaged.rejected == 1 and index.entries == {}
    sha, data, payload = index.read(file.name, file, os.stat(file))
    assert data == b"id: a\n" and payload is None


def test_without_a_cache_every_file_is_read(tmp_path):
    file = tmp_path / "a.yaml"
    file.write_text("id: a\n")
    index = FileIndex.open(Cache.disabled(), "test", "rules 1")
    for _ in range(2):
        assert index.read(file.name, file, os.stat(file))[1] == b"id: a\n"
    index.save()
