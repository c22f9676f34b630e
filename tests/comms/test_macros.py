"""Communication macros: one file per kind and language, same placeholders, localized times."""
from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from conftest import PROJECT

from generator.comms.guardrail import scan_text
from generator.comms.macros import (
    LANGUAGES,
    MacroError,
    check_macros,
    load_macros,
    placeholders,
    render_macro,
    unfilled_placeholders,
)

MACROS = PROJECT / "templates" / "macros"
SEOUL = ZoneInfo("Asia/Seoul")
TOKYO = ZoneInfo("Asia/Tokyo")
NAMES = [
    "s1_first_notice",
    "s2_first_notice",
    "progress",
    "mitigated",
    "resolved",
    "maintenance_announcement",
    "maintenance_start",
    "maintenance_completed",
    "fp_inquiry_received",
]

# The seed's own wording (section F), with its placeholders as the seed wrote them.
SEED_S1_KO = (
    "현재 KR 리전에서 서비스 지연을 인지했습니다. 즉시 완화 조치를 적용했으며, 30분 주기로 "
    "진행 상황을 공유드리겠습니다. 티켓 ID: {id}, 영향: {지표 링크}."
)
SEED_FP_JA = (
    "誤検知の可能性を確認しました。比較サンプルとTIスコアを収集し、DBV360にて再判定します"
    "（所要30分目安）。結果は本チケットでご連絡します。"
)
SEED_RESOLVED_EN = (
    "Issue mitigated and verified via synthetic checks. Root cause and preventive actions are "
    "documented here: {RCA link}."
)

TICKET = "CS-20251002-0042"
METRIC_LINK = "https://grafana.example.com/d/kr-ingest/ingest-latency"
RCA_LINK = "https://status.example.com/rca/2025-10-02-kr-ingest-latency/"
S1_VARIABLES = {
    "region": "KR",
    "id": TICKET,
    "metric_link": METRIC_LINK,
    "next_update": "2025-10-02T10:45:00+09:00",
}


def write(directory: Path, name: str, text: str) -> Path:
    path = directory / name
    path.write_text(text + "\n", encoding="utf-8")
    return path


# --- the shipped macros -------------------------------------------------------------------------


def test_every_macro_exists_in_korean_japanese_and_english():
    macros = load_macros(MACROS)
    assert {(name, lang) for name in NAMES for lang in LANGUAGES} <= set(macros)


def test_the_shipped_macros_pass_the_check():
    assert check_macros(MACROS) == []


@pytest.mark.parametrize("name", NAMES)
def test_the_shipped_macros_are_clean_for_the_guardrail(name):
    for lang in LANGUAGES:
        text = load_macros(MACROS)[(name, lang)].text
        assert scan_text(text) == []


def test_s1_first_notice_in_korean_keeps_the_seed_wording():
    rendered = render_macro(MACROS, "s1_first_notice", "ko", S1_VARIABLES, SEOUL)
    first_line, next_update = rendered.splitlines()
    assert first_line == SEED_S1_KO.replace("{id}", TICKET).replace("{지표 링크}", METRIC_LINK)
    assert next_update == "다음 업데이트: 2025년 10월 2일 (목) 10:45 KST (01:45 UTC)"


def test_s1_first_notice_in_japanese_and_english():
    ja = render_macro(MACROS, "s1_first_notice", "ja", S1_VARIABLES, SEOUL)
    en = render_macro(MACROS, "s1_first_notice", "en", S1_VARIABLES, SEOUL)
    assert ja == (
        "現在、KRリージョンでサービスの遅延を検知しました。直ちに緩和策を適用しており、30分ごとに"
        f"進捗状況をお知らせします。チケットID：{TICKET}、影響：{METRIC_LINK}。\n"
        "次回更新：2025年10月2日(木) 10:45 KST (01:45 UTC)"
    )
    assert en == (
        "We have detected service latency in the KR region. Immediate mitigation has been applied, "
        f"and we will share progress every 30 minutes. Ticket ID: {TICKET}, impact: {METRIC_LINK}.\n"
        "Next update: Thu, Oct 2, 2025 10:45 KST (01:45 UTC)"
    )


FP_VARIABLES = {"received_at": "2025-10-02T05:03:00Z"}


def test_false_positive_inquiry_in_japanese_keeps_the_seed_wording():
    rendered = render_macro(MACROS, "fp_inquiry_received", "ja", FP_VARIABLES, TOKYO)
    assert rendered == SEED_FP_JA + "\n受付日時：2025年10月2日(木) 14:03 JST (05:03 UTC)"


def test_false_positive_inquiry_in_korean_and_english():
    ko = render_macro(MACROS, "fp_inquiry_received", "ko", FP_VARIABLES, TOKYO)
    en = render_macro(MACROS, "fp_inquiry_received", "en", FP_VARIABLES, TOKYO)
    assert ko == (
        "오탐 가능성을 확인했습니다. 비교 샘플과 TI 점수를 수집하여 DBV360으로 재판정하겠습니다"
        "(약 30분 소요 예상). 결과는 본 티켓으로 안내드리겠습니다.\n"
        "접수 시각: 2025년 10월 2일 (목) 14:03 JST (05:03 UTC)"
    )
    assert en == (
        "We confirmed a possible false positive. We are collecting comparison samples and TI scores "
        "and will re-judge with DBV360 (about 30 minutes). The result will be posted on this ticket.\n"
        "Received at: Thu, Oct 2, 2025 14:03 JST (05:03 UTC)"
    )


RESOLVED_VARIABLES = {"rca_link": RCA_LINK, "resolved_at": "2025-10-02T11:26:00+09:00"}


def test_resolution_in_english_keeps_the_seed_wording():
    rendered = render_macro(MACROS, "resolved", "en", RESOLVED_VARIABLES, SEOUL)
    assert rendered == (
        SEED_RESOLVED_EN.replace("{RCA link}", RCA_LINK)
        + "\nResolved at: Thu, Oct 2, 2025 11:26 KST (02:26 UTC)"
    )


def test_resolution_in_korean_and_japanese():
    ko = render_macro(MACROS, "resolved", "ko", RESOLVED_VARIABLES, SEOUL)
    ja = render_macro(MACROS, "resolved", "ja", RESOLVED_VARIABLES, SEOUL)
    assert ko == (
        "이슈가 완화되었으며 합성 점검(synthetic check)으로 검증했습니다. 근본 원인과 재발 방지 조치는 "
        f"다음 문서에 정리되어 있습니다: {RCA_LINK}.\n"
        "해결 시각: 2025년 10월 2일 (목) 11:26 KST (02:26 UTC)"
    )
    assert ja == (
        "問題は緩和され、合成監視（シンセティックチェック）で検証済みです。根本原因と再発防止策は"
        f"こちらに記載しています：{RCA_LINK}。\n"
        "解決日時：2025年10月2日(木) 11:26 KST (02:26 UTC)"
    )


def test_a_utc_time_crossing_midnight_repeats_the_utc_date():
    rendered = render_macro(MACROS, "maintenance_start", "en", {"region": "JP", "component": "search", "end": "2025-10-09T04:00:00+09:00"}, TOKYO)
    assert rendered.endswith("scheduled to end at Thu, Oct 9, 2025 04:00 JST (Oct 8 19:00 UTC).")


@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("lang", LANGUAGES)
def test_every_macro_renders_completely_with_its_placeholders_filled(name, lang):
    text = load_macros(MACROS)[(name, lang)].text
    variables = {key: f"<{key}>" for key in placeholders(text)}
    rendered = render_macro(MACROS, name, lang, variables, SEOUL)
    assert unfilled_placeholders(rendered) == set()


# --- rendering rules ----------------------------------------------------------------------------


def test_missing_variables_are_named_in_the_error():
    with pytest.raises(MacroError) as error:
        render_macro(MACROS, "s1_first_notice", "ko", {"region": "KR"}, SEOUL)
    assert str(error.value).endswith("missing variable(s) for s1_first_notice.ko: id, metric_link, next_update")
    assert "s1_first_notice.ko.txt" in str(error.value)


def test_an_unknown_macro_or_language_is_an_error():
    with pytest.raises(MacroError, match="no macro 'nope' in language 'ko'"):
        render_macro(MACROS, "nope", "ko", {}, SEOUL)
    with pytest.raises(MacroError, match="no macro 'resolved' in language 'fr'"):
        render_macro(MACROS, "resolved", "fr", RESOLVED_VARIABLES, SEOUL)


def test_values_that_are_not_times_with_an_offset_are_inserted_as_given(tmp_path):
    write(tmp_path, "note.ko.txt", "{a} / {b} / {c}")
    rendered = render_macro(tmp_path, "note", "ko", {"a": "2025-10-02", "b": "2025-10-02T10:14", "c": "18 %"}, SEOUL)
    assert rendered == "2025-10-02 / 2025-10-02T10:14 / 18 %"


@pytest.mark.parametrize("lang, expected", [("ko", "18초 / 5분 / 2시간 / 40 ms"), ("ja", "18 秒 / 5 分 / 2 時間 / 40 ms"),
                                            ("en", "18 s / 5 min / 2 h / 40 ms")])
def test_units_of_time_in_a_value_are_written_in_the_texts_language(tmp_path, lang, expected):
    write(tmp_path, f"note.{lang}.txt", "{a} / {b} / {c} / {d}")
    values = {"a": "18 s", "b": "5min", "c": "2 h", "d": "40 ms"}
    assert render_macro(tmp_path, "note", lang, values, SEOUL) == expected


def test_placeholders_and_unfilled_placeholders():
    assert placeholders("티켓 ID: {id}, 영향: {metric_link}. {id}") == {"id", "metric_link"}
    assert unfilled_placeholders("Next update at {next_update}.") == {"next_update"}
    assert unfilled_placeholders("Next update at 10:45 KST.") == set()


# --- the check ----------------------------------------------------------------------------------


def test_a_variant_with_a_different_placeholder_set_is_reported(tmp_path):
    macros = tmp_path / "templates" / "macros"
    macros.mkdir(parents=True)
    write(macros, "progress.ko.txt", "{region}: {metric} {value}")
    write(macros, "progress.ja.txt", "{region}: {metric}")
    write(macros, "progress.en.txt", "{region}: {metric} {value}\nsee {link}")
    problems = check_macros(macros)
    assert problems == [
        f"{macros / 'progress.ja.txt'}:1: placeholders: expected the same set as progress.ko.txt "
        "{metric,region,value}, found {metric,region}",
        f"{macros / 'progress.en.txt'}:2: placeholders: expected the same set as progress.ko.txt "
        "{metric,region,value}, found {link,metric,region,value}",
    ]


def test_a_missing_language_is_reported(tmp_path):
    write(tmp_path, "resolved.ko.txt", "{rca_link}")
    write(tmp_path, "resolved.en.txt", "{rca_link}")
    assert check_macros(tmp_path) == [f"{tmp_path / 'resolved.ja.txt'}: missing: resolved has no ja variant"]


def test_malformed_placeholders_and_empty_files_are_reported(tmp_path):
    for lang in LANGUAGES:
        write(tmp_path, f"bad.{lang}.txt", "ok {id}\n영향: {Metric Link}" if lang == "ko" else "ok {id}")
        write(tmp_path, f"blank.{lang}.txt", "")
    problems = check_macros(tmp_path)
    assert f"{tmp_path / 'bad.ko.txt'}:2: placeholder '{{Metric Link}}': expected a lower-case name such as {{metric_link}}" in problems
    assert f"{tmp_path / 'blank.ko.txt'}:1: empty: the macro has no text" in problems


def test_korean_particles_follow_the_word_before_them():
    from generator.comms.macros import korean_particles

    assert korean_particles("p95 지연이(가) 18 s까지") == "p95 지연이 18 s까지"  # 연 ends in ㄴ
    assert korean_particles("처리 속도이(가) 낮아") == "처리 속도가 낮아"  # 도 has no final consonant
    assert korean_particles("오류율을(를) 확인") == "오류율을 확인"
    assert korean_particles("API이(가) 느려") == "API이(가) 느려"  # not Hangul: both forms stay
