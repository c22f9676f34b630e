"""The no-raw-logs guardrail: leaks are found and masked, ordinary status texts pass."""
from __future__ import annotations

import re
import string
from pathlib import Path

import pytest
import yaml
from detect_secrets.plugins.high_entropy_strings import Base64HighEntropyString
from hypothesis import given, settings
from hypothesis import strategies as st

from generator.comms.guardrail import EvidencePolicy, Finding, check_evidence_url, mask_text, scan_text

DATA = Path(__file__).parent / "data" / "guardrail"
CONFIG = yaml.safe_load((DATA / "config.yaml").read_text(encoding="utf-8"))
LEAKS = yaml.safe_load((DATA / "leaks.yaml").read_text(encoding="utf-8"))
CLEAN = yaml.safe_load((DATA / "clean.yaml").read_text(encoding="utf-8"))
POLICY = EvidencePolicy(dashboard_hosts=tuple(CONFIG["dashboard_hosts"]))
SETTINGS = dict(
    internal_hosts=CONFIG["internal_hosts"],
    allowed_emails=CONFIG["allowed_emails"],
    evidence_policy=POLICY,
)


def scan(text: str) -> list[Finding]:
    return scan_text(text, **SETTINGS)


def test_the_corpora_are_large_enough():
    assert len(LEAKS) >= 40
    assert len(CLEAN) >= 40


@pytest.mark.parametrize("kind", ["connection_string", "resident_registration_number", "my_number", "phone_number",
                                  "payment_card", "pod_name", "sql_statement"])
def test_each_personal_data_and_infrastructure_kind_has_five_leak_examples(kind):
    assert sum(1 for leak in LEAKS if leak["kind"] == kind) >= 5


@pytest.mark.parametrize("text", [
    "4111 1111 1111 1112",          # Luhn digit wrong
    "1759367640000",                # epoch milliseconds pass Luhn now and then, but no card starts with 1
    "6214 9832 0258",               # My Number check digit wrong
    "851345-1012348",               # month 13: not a birth date
    "release-v2-3-11",              # hyphenated slug, not a pod
    "Select the tenant from the dropdown.",
])
def test_near_misses_are_not_personal_data(text):
    assert scan_text(f"Ticket note: {text}") == []


@pytest.mark.parametrize("leak", LEAKS, ids=[f"{i:02d}-{leak['kind']}" for i, leak in enumerate(LEAKS)])
def test_each_leak_is_rejected_with_its_kind(leak):
    kinds = {finding.kind for finding in scan(leak["text"])}
    assert leak["kind"] in kinds


@pytest.mark.parametrize("text", CLEAN, ids=[f"{i:02d}" for i in range(len(CLEAN))])
def test_each_clean_text_is_accepted(text):
    assert scan(text) == []


def test_detection_and_false_positive_rates(capsys):
    detected = sum(1 for leak in LEAKS if scan(leak["text"]))
    flagged = sum(1 for text in CLEAN if scan(text))
    detection_rate = detected / len(LEAKS)
    false_positive_rate = flagged / len(CLEAN)
    with capsys.disabled():
        print(
            f"\nguardrail: detected {detected}/{len(LEAKS)} leaks ({detection_rate:.0%}), "
            f"flagged {flagged}/{len(CLEAN)} clean texts ({false_positive_rate:.0%} false positives)"
        )
    assert detection_rate == 1.0
    assert false_positive_rate == 0.0


@pytest.mark.parametrize("leak", LEAKS, ids=[f"{i:02d}-{leak['kind']}" for i, leak in enumerate(LEAKS)])
def test_masked_text_keeps_no_finding(leak):
    text = leak["text"]
    masked = mask_text(text, **SETTINGS)
    assert scan(masked) == []
    for finding in scan(text):
        raw = text[finding.start : finding.end]
        assert raw not in masked
        assert f"[masked:{finding.kind}]" in masked


@pytest.mark.parametrize("leak", LEAKS, ids=[f"{i:02d}-{leak['kind']}" for i, leak in enumerate(LEAKS)])
def test_excerpts_never_show_the_raw_value(leak):
    text = leak["text"]
    for finding in scan(text):
        raw = text[finding.start : finding.end].strip()
        assert raw not in finding.excerpt
        assert "[masked:" in finding.excerpt


def test_clean_texts_are_left_unchanged_by_masking():
    for text in CLEAN:
        assert mask_text(text, **SETTINGS) == text


def test_finding_reports_the_line_and_bounds_of_the_leak():
    text = "2025-10-02 10:14 KST 지연 발생\n원인 분석 중\n노드 10.24.3.17 재시작"
    [finding] = scan_text(text)
    assert finding.kind == "ipv4"
    assert finding.line == 3
    assert text[finding.start : finding.end] == "10.24.3.17"
    assert finding.excerpt == "노드 [masked:ipv4] 재시작"


def test_a_log_line_is_masked_whole_and_swallows_what_it_contains():
    text = "발췌:\n2025-10-02T01:14:03Z ERROR [ingest-7] lag on 10.24.3.17 for ops@example.com\n이상입니다."
    findings = scan_text(text)
    assert [(f.kind, f.line) for f in findings] == [("log_line", 2)]
    assert mask_text(text) == "발췌:\n[masked:log_line]\n이상입니다."


def test_a_private_key_block_is_masked_to_its_end_line():
    text = "key:\n-----BEGIN EC PRIVATE KEY-----\nMHcCAQEEIBkg4LVWM9nuwNSk3yByxZpYRTBnVJk5oAWlnrBYHvyR\n-----END EC PRIVATE KEY-----\nthanks"
    assert mask_text(text) == "key:\n[masked:private_key]\nthanks"


@pytest.mark.parametrize(
    "text",
    ["v1.2.3.4", "version 1.2.3.4", "버전 1.2.3.4", "バージョン1.2.3.4", "ver. 10.0.0.1"],
)
def test_a_dotted_quad_after_a_version_word_is_a_version(text):
    assert scan_text(f"{text} 배포 완료") == []


def test_a_bare_dotted_quad_is_an_address():
    assert [f.kind for f in scan_text("agent 1.2.3.4 rolled out")] == ["ipv4"]


@pytest.mark.parametrize("text", ["10:14 KST", "10:14:03 KST", "2025-10-02 10:14", "2025-10-02T10:14:03+09:00", "CS-20251002-0042"])
def test_times_and_ticket_ids_are_not_flagged(text):
    assert scan_text(f"Update at {text}.") == []


def test_internal_hosts_come_from_the_configuration():
    text = "replica ingest-db-03 was promoted"
    assert scan_text(text) == []
    assert [f.kind for f in scan_text(text, internal_hosts=["ingest-db-*"])] == ["internal_host"]


def test_private_network_suffixes_are_always_internal():
    assert [f.kind for f in scan_text("router.svc.internal restarted")] == ["internal_host"]


def test_an_allowed_support_address_may_be_published():
    text = "Contact support@example.com."
    assert [f.kind for f in scan_text(text)] == ["email"]
    assert scan_text(text, allowed_emails=["Support@Example.com"]) == []


def test_the_signature_of_a_short_lived_signed_url_is_not_a_leak_but_a_long_lived_one_is():
    base = (
        "https://epkg.s3.amazonaws.com/kr.zip?X-Amz-Algorithm=AWS4-HMAC-SHA256"
        "&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20251002%2Fap-northeast-2%2Fs3%2Faws4_request"
        "&X-Amz-Date=20251002T011403Z&X-Amz-Expires={expires}&X-Amz-SignedHeaders=host"
        "&X-Amz-Signature=3b1f5a0c9d2e4f6a8b7c6d5e4f3a2b1c0d9e8f7a6b5c4d3e2f1a0b9c8d7e6f5a"
    )
    assert scan_text(f"EPKG: {base.format(expires=600)}") == []
    assert [f.kind for f in scan_text(f"EPKG: {base.format(expires=601)}")] == ["long_lived_signed_url"]


# --- evidence links -----------------------------------------------------------------------------

S3 = "https://epkg.s3.amazonaws.com/kr.zip?X-Amz-Date=20251002T011403Z&X-Amz-Expires={}&X-Amz-Signature=abc123"
GCS = "https://storage.googleapis.com/epkg/kr.zip?X-Goog-Date=20251002T011403Z&X-Goog-Expires={}&X-Goog-Signature=abc123"
AZURE = "https://epkg.blob.core.windows.net/kr/kr.zip?sv=2022-11-02&st={}&se={}&sr=b&sp=r&sig=abc123"


def test_a_link_to_an_allow_listed_dashboard_is_evidence():
    assert check_evidence_url("https://grafana.example.com/d/kr-ingest?orgId=1", POLICY) is None
    assert check_evidence_url("https://kr.dashboards.example.com/changes", POLICY) is None


def test_a_link_to_another_host_without_a_signature_is_not_evidence():
    reason = check_evidence_url("https://files.example.org/kr.zip", POLICY)
    assert reason == "host files.example.org is not an allow-listed dashboard host and the URL is not signed"


@pytest.mark.parametrize("seconds", [1, 300, 600])
def test_an_s3_or_gcs_signed_url_living_at_most_ten_minutes_is_evidence(seconds):
    assert check_evidence_url(S3.format(seconds), POLICY) is None
    assert check_evidence_url(GCS.format(seconds), POLICY) is None


def test_a_signed_url_living_longer_than_ten_minutes_is_refused_with_its_lifetime():
    assert check_evidence_url(S3.format(601), POLICY) == "signed URL lives 601 s (X-Amz-Expires), more than 600 s"
    assert check_evidence_url(GCS.format(604800), POLICY) == "signed URL lives 604800 s (X-Goog-Expires), more than 600 s"


def test_an_absolute_expiry_is_measured_from_the_signing_time():
    ok = AZURE.format("2025-10-02T01:14:00Z", "2025-10-02T01:24:00Z")
    too_long = AZURE.format("2025-10-02T01:14:00Z", "2025-10-02T02:14:00Z")
    assert check_evidence_url(ok, POLICY) is None
    assert check_evidence_url(too_long, POLICY) == "signed URL lives 3600 s (st to se), more than 600 s"


def test_an_absolute_expiry_without_a_signing_time_is_refused():
    url = "https://epkg.blob.core.windows.net/kr/kr.zip?se=2025-10-02T01:24:00Z&sig=abc123"
    assert check_evidence_url(url, POLICY) == "signed URL: se is given without st, so its lifetime is unknown"


def test_a_signature_without_a_lifetime_is_refused():
    url = "https://epkg.example.com/kr.zip?X-Amz-Signature=abc123"
    assert check_evidence_url(url, POLICY) == "signed URL without a lifetime parameter"


def test_signed_url_parameters_are_configurable():
    policy = EvidencePolicy(
        relative_expiry_params=(("ttl", 120),),
        absolute_expiry_params=(("Expires", "Signed", 600),),
        signature_params=("Signature",),
    )
    assert check_evidence_url("https://cdn.example.com/e.zip?ttl=120&Signature=x", policy) is None
    assert check_evidence_url("https://cdn.example.com/e.zip?ttl=121&Signature=x", policy) == (
        "signed URL lives 121 s (ttl), more than 120 s"
    )
    assert check_evidence_url("https://cdn.example.com/e.zip?Signed=1759367640&Expires=1759368240&Signature=x", policy) is None
    assert check_evidence_url("https://cdn.example.com/e.zip?Signed=1759367640&Expires=1759368241&Signature=x", policy) == (
        "signed URL lives 601 s (Signed to Expires), more than 600 s"
    )


@pytest.mark.parametrize(
    "url",
    [
        "https://support:Passw0rd@grafana.example.com/d/kr-ingest",
        "https://grafana.example.com/d/kr-ingest?access_token=abc123",
        S3.format(300) + "&password=hunter2",
    ],
)
def test_a_url_carrying_credentials_is_never_evidence(url):
    reason = check_evidence_url(url, POLICY)
    assert reason is not None and reason.startswith("URL carries credentials")


def test_evidence_must_use_https_and_a_public_host():
    assert check_evidence_url("http://grafana.example.com/d/x", POLICY) == "evidence links must use https, got http scheme"
    assert check_evidence_url("https://10.0.0.5/d/x", POLICY) == "host 10.0.0.5 is an address or an internal host"


# --- properties ---------------------------------------------------------------------------------

PROSE = [
    "KR 리전 인입 지연 관련 키 {} 를 교체했습니다.",
    "テナントの鍵 {} を再発行しました。",
    "The replay job used {} until 10:27 KST.",
]
BASE62 = string.ascii_letters + string.digits


@settings(max_examples=200, deadline=None)
@given(
    template=st.sampled_from(PROSE),
    secret=st.one_of(
        st.text(alphabet=string.ascii_uppercase + string.digits, min_size=16, max_size=16).map(lambda s: "AKIA" + s),
        st.text(alphabet="0123456789abcdef", min_size=40, max_size=64).filter(lambda s: len(set(s)) > 10),
        st.ip_addresses(v=4).map(str),
        st.ip_addresses(v=6).map(str).filter(lambda s: ":" in s and not s.startswith("::ffff:")),
    ),
)
def test_masking_removes_generated_secrets_from_prose(template, secret):
    text = template.format(secret)
    masked = mask_text(text)
    assert secret not in masked
    assert "[masked:" in masked


@settings(max_examples=200, deadline=None)
@given(
    token=st.text(alphabet=BASE62, min_size=32, max_size=48).filter(
        lambda s: sum(c.isupper() for c in s) >= 4 and sum(c.islower() for c in s) >= 4 and sum(c.isdigit() for c in s) >= 4 and len(set(s)) >= 20
        # as random as a key: 4 bits per symbol (`0000000000000123456789ABCDEGabcd` passes the rest, not this)
        and Base64HighEntropyString().calculate_shannon_entropy(s) >= 4.0
    )
)
def test_random_api_keys_are_high_entropy_tokens(token):
    assert [f.kind for f in scan_text(f"api key {token} rotated")] == ["high_entropy_token"]


def test_the_keyword_prefilter_covers_every_keyword_of_detect_secrets():
    # The prefilter may only skip texts that no keyword rule can match.
    from detect_secrets.plugins.keyword import DENYLIST

    from generator.comms.guardrail import KEYWORD_TRIGGERS

    for word in DENYLIST:
        assert any(trigger in word.replace("_?", "") for trigger in KEYWORD_TRIGGERS), word


@pytest.mark.parametrize("leak", LEAKS, ids=[f"{i:02d}-{leak['kind']}" for i, leak in enumerate(LEAKS)])
def test_the_prefilter_skips_no_finding(leak, monkeypatch):
    """Every gate is a superset of its detector: with all gates forced open the findings are the same."""
    import generator.comms.guardrail as guardrail

    gated = scan(leak["text"])

    class Always(str):
        def __contains__(self, item):
            return True

        def lower(self):
            return self

    for name in ("_LONG_RUN", "_DIGIT_RUN", "_DIGIT"):
        monkeypatch.setattr(guardrail, name, re.compile(""))
    monkeypatch.setattr(guardrail, "_open_gates", lambda lower, hosts: -1)  # every gate bit set
    text = Always(leak["text"])
    assert scan(text) == gated


# The line rules as they were written before they were split for speed (one `search` per alternation); the
# split rules (anchored ones `match`ed, the others behind a literal) must decide every line the same way.
_LEVEL = r"(?:FATAL|CRITICAL|CRIT|SEVERE|ERROR|ERR|WARNING|WARN|NOTICE|INFO|DEBUG|TRACE|PANIC)"
FORMER_LOG_LAYOUTS = re.compile("|".join([
    rf"^\s*\[?{_LEVEL}\]?:[\w.\-]+:",
    r"^[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [\w./-]+:\d+\]",
    r'"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \S+ HTTP/\d(?:\.\d)?" \d{3}',
    r'\{[^{}]*"(?:level|severity|lvl|log\.level)"\s*:\s*"\w+"',
    r"\blevel=(?:fatal|crit|error|err|warn|warning|info|debug|trace)\b.*\bmsg=",
    r"\bmsg=.*\blevel=(?:fatal|crit|error|err|warn|warning|info|debug|trace)\b",
]), re.IGNORECASE)
FORMER_STACK_TRACE = re.compile("|".join([
    r"Traceback \(most recent call last\)",
    r'^\s*File "[^"]+", line \d+',
    r"^\s*at [\w$.<>/]+\([^()]*(?:\.java|\.kt|\.scala|\.groovy|Native Method|Unknown Source)[^()]*\)",
    r"^\s*at (?:[\w$.<>\[\] ]+ \()?(?:/|file:|node:|[A-Za-z]:\\)[^()\s]*:\d+:\d+\)?",
    r'^\s*Exception in thread "',
    r"^\s*Caused by: (?:[a-z_]\w*\.)+[A-Z][\w$]*",
    r"^\s*(?:[a-z_][\w]*\.)+[A-Z]\w*(?:Exception|Error|Throwable)\b",
    r"^\s*[A-Z]\w*(?:Exception|Error): ",
    r"^\s*\.\.\. \d+ more\b",
    r"^\s*goroutine \d+ \[[\w ]+\]:",
    r"^\s*panic: ",
    r"^\s*/[\w/.\-]+\.go:\d+",
]))


def former_line_spans(text: str):
    from generator.comms.guardrail import _LEVEL_TOKEN, _MACHINE_TIME

    offset, found = 0, []
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        start = offset + (len(body) - len(body.lstrip()))
        if FORMER_STACK_TRACE.search(body):
            found.append((start, offset + len(body), "stack_trace"))
        elif FORMER_LOG_LAYOUTS.search(body) or (_MACHINE_TIME.search(body) and _LEVEL_TOKEN.search(body)):
            found.append((start, offset + len(body), "log_line"))
        offset += len(line)
    return found


LOG_PIECES = ["ERROR:root:", "  WARN:db.pool:", "I1002 10:14:03.123456 1 main.go:42]", '"GET /x HTTP/1.1" 200',
              '{"level": "error"}', "level=error msg=x", "msg=x LEVEL=WARN", "mſg=x level=info", "Traceback (most recent call last):",
              '  File "a.py", line 3', "\tat com.x.Y(Y.java:10)", "at /srv/app.js:1:2", "Caused by: a.b.C",
              "java.lang.IllegalStateException", "KeyError: 'x'", "... 3 more", "goroutine 1 [running]:", "panic: x",
              "/go/src/a.go:12", "2025-10-02 10:14:03 ERROR x", "01:14:03.123 [warn]", "１２:３４:５６ ERROR",
              "at noon", "error rate", "the level was", " ", "\u2028", "x"]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(LOG_PIECES) | st.text(max_size=12), min_size=1, max_size=6),
       st.lists(st.sampled_from(["", " ", "\n", "\r\n", "\t"]), min_size=6, max_size=6))
def test_the_split_line_rules_decide_every_line_as_the_single_alternations_did(pieces, separators):
    from generator.comms.guardrail import _line_spans

    text = "".join(piece + separator for piece, separator in zip(pieces, separators))
    assert list(_line_spans(text, has_digit=True)) == former_line_spans(text)


@pytest.mark.parametrize("leak", LEAKS, ids=[f"{i:02d}-{leak['kind']}" for i, leak in enumerate(LEAKS)])
def test_the_split_line_rules_agree_on_every_sample_leak(leak):
    from generator.comms.guardrail import _DIGIT, _line_spans

    text = leak["text"]
    assert list(_line_spans(text, has_digit=_DIGIT.search(text) is not None)) == former_line_spans(text)
