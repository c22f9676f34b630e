"""Incremental builds: a build that reuses `.statusgen-cache/` is byte-for-byte the build without it, a
changed incident is rebuilt (and its neighbours are not), and a damaged cached page is never served."""
from __future__ import annotations

import json

from conftest import SAMPLE_NOW, tree_digest
from generator.build import build_site
from generator.content.cache import CACHE_DIR, Cache

INCIDENT = "incidents/2025/2025-10-02-kr-ingest-latency.yaml"
PAGE = "en/incidents/2025-10-02-kr-ingest-latency/index.html"
OTHER_PAGE = "en/incidents/2025-10-15-jp-search-false-positive/index.html"


def append_update(repo) -> None:
    """An engineer appends an update to the worked example (after its resolution, as a correction)."""
    file = repo / INCIDENT
    file.write_text(file.read_text(encoding="utf-8") + (
        "  - at: 2025-10-02T11:26:00+09:00\n"
        "    status: resolved\n"
        "    text:\n"
        "      ko: 정정 공지 — 영향 범위는 KR 수집 파이프라인에 한정되었습니다.\n"
        "      ja: 訂正 — 影響範囲は KR の取り込みパイプラインに限られていました。\n"
        "      en: Correction notice, the impact was limited to the KR ingest pipeline.\n"), encoding="utf-8")


def test_a_warm_build_after_a_change_is_byte_identical_to_a_cold_build(sample_repo, tmp_path):
    build_site(sample_repo, tmp_path / "first", SAMPLE_NOW)  # fills the cache
    append_update(sample_repo)
    warm = build_site(sample_repo, tmp_path / "warm", SAMPLE_NOW)
    cold = build_site(sample_repo, tmp_path / "cold", SAMPLE_NOW, cache=Cache.disabled())
    assert tree_digest(tmp_path / "warm") == tree_digest(tmp_path / "cold")
    # the unchanged incident, maintenance and component pages came from the cache; the changed one did not
    assert warm.reused > 0 and cold.reused == 0
    assert "Correction notice" in (tmp_path / "warm" / PAGE).read_text(encoding="utf-8")
    assert (tmp_path / "warm" / OTHER_PAGE).stat().st_ino == (tmp_path / "first" / OTHER_PAGE).stat().st_ino
    # search finds the pages it did not rebuild, in every language
    index = json.loads((tmp_path / "warm" / "search/search_index.json").read_text(encoding="utf-8"))
    locations = {entry["location"] for entry in index["docs"]}
    for prefix in ("", "ja/", "en/"):
        assert f"{prefix}incidents/2025-10-15-jp-search-false-positive/" in locations


def test_damaged_cached_pages_are_detected_and_rebuilt_never_served(sample_repo, tmp_path):
    cold = build_site(sample_repo, tmp_path / "cold", SAMPLE_NOW)
    assert cold.reused == 0
    blobs = [p for p in (sample_repo / CACHE_DIR / "blobs").rglob("*") if p.is_file()]
    assert blobs
    # The built pages are hard links to the blobs: break the links first, so that the damage below stays
    # in the cache (as a crash or a disk error would leave it) and the cold tree keeps the good bytes.
    for blob in blobs:
        data = blob.read_bytes()
        blob.unlink()
        blob.write_bytes(data.replace(b"</html>", b"</html><!-- tampered -->"))
    cache = Cache.of(sample_repo)
    warm = build_site(sample_repo, tmp_path / "warm", SAMPLE_NOW, cache=cache)
    assert warm.reused == 0 and cache.rejected > 0
    assert tree_digest(tmp_path / "warm") == tree_digest(tmp_path / "cold")
    assert not any(b"tampered" in p.read_bytes() for p in (tmp_path / "warm").rglob("*.html"))


# ---------------------------------------------------------------- placing into the same output directory

def test_a_rebuild_into_the_same_output_writes_only_the_changed_files_and_equals_a_cold_build(sample_repo, tmp_path):
    out = tmp_path / "site"
    build_site(sample_repo, out, SAMPLE_NOW)
    before = {p: p.stat().st_ino for p in out.rglob("*") if p.is_file()}
    append_update(sample_repo)
    removed = sample_repo / "maintenance/2025/2025-10-25-jp-search-upgrade.yaml"
    removed.unlink()
    result = build_site(sample_repo, out, SAMPLE_NOW)
    assert result.placed.how == "in place" and 0 < result.placed.changed < len(before) / 4
    assert result.placed.removed == 3  # the maintenance's page in three languages
    build_site(sample_repo, tmp_path / "cold", SAMPLE_NOW, cache=Cache.disabled())
    assert tree_digest(out) == tree_digest(tmp_path / "cold")
    assert "Correction notice" in (out / PAGE).read_text(encoding="utf-8")
    # unchanged files are the very same files (a stylesheet mkdocs wrote again with the same bytes too);
    # the removed maintenance's pages and folders are gone
    assert (out / OTHER_PAGE).stat().st_ino == before[out / OTHER_PAGE]
    stylesheet = next(p for p in before if p.suffix == ".css")
    assert stylesheet.stat().st_ino == before[stylesheet]
    assert not list(out.rglob("2025-10-25-jp-search-upgrade"))
    assert not [p for p in out.rglob("*") if p.name.endswith(".statusgen-new")]
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no work folder left


def test_an_output_changed_by_hand_is_replaced_whole_not_patched(sample_repo, tmp_path):
    out = tmp_path / "site"
    build_site(sample_repo, out, SAMPLE_NOW)
    (out / OTHER_PAGE).write_text("defaced", encoding="utf-8")  # edited in place
    (out / "stray.html").write_text("<p>not ours</p>", encoding="utf-8")  # added
    append_update(sample_repo)
    assert build_site(sample_repo, out, SAMPLE_NOW).placed.how == "swapped"
    build_site(sample_repo, tmp_path / "cold", SAMPLE_NOW, cache=Cache.disabled())
    assert tree_digest(out) == tree_digest(tmp_path / "cold")
    assert not (out / "stray.html").exists()


def test_a_failed_rebuild_leaves_the_output_as_it_was(sample_repo, tmp_path):
    from generator.build import BuildFailed

    out = tmp_path / "site"
    build_site(sample_repo, out, SAMPLE_NOW)
    good = tree_digest(out)
    file = sample_repo / INCIDENT
    file.write_text(file.read_text(encoding="utf-8").replace("severity: S2", "severity: S9"), encoding="utf-8")
    try:
        build_site(sample_repo, out, SAMPLE_NOW)
        raise AssertionError("the build should have failed")
    except BuildFailed:
        pass
    assert tree_digest(out) == good


def test_an_edit_keeping_the_size_and_the_modification_time_is_built(sample_repo, tmp_path):
    # The build's scan trusts a file's stat stamp (size, times, inode) to skip reading it: an edit that keeps
    # the size and puts the modification time back still changes the stamp (its change time), so it is read.
    import os

    out = tmp_path / "site"
    build_site(sample_repo, out, SAMPLE_NOW)
    file = sample_repo / INCIDENT
    before = file.stat()
    text = file.read_text(encoding="utf-8")
    assert "Incident: Ingest→Incident latency" in text
    file.write_text(text.replace("Incident: Ingest→Incident latency", "Incident: Ingest→Incident LATENCY"),
                    encoding="utf-8")
    os.utime(file, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert file.stat().st_size == before.st_size and file.stat().st_mtime_ns == before.st_mtime_ns
    build_site(sample_repo, out, SAMPLE_NOW)
    assert "Ingest→Incident LATENCY" in (out / PAGE).read_text(encoding="utf-8")
