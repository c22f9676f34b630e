"""The no-raw-logs guardrail (mission section H): find, mask and refuse raw logs, secrets,
addresses and long-lived links in texts that customers will read.

Customer communication may carry only masked values and short-lived signed URLs. `scan_text`
reports what must not be published, `mask_text` produces the publishable form, and
`check_evidence_url` decides whether one evidence link may be shown.

Vendor-specific keys and tokens (AWS, GitHub, Slack, Stripe, JWT, PEM headers, credentials in
URLs ...) and the Shannon-entropy measure come from Yelp's `detect-secrets` plugins, so new
formats arrive with the library. IP candidates are confirmed with the stdlib `ipaddress`; Korean
resident registration numbers, Japanese My Numbers and the Luhn digit of card numbers with
`python-stdnum`; Korean and Japanese phone numbers with `phonenumbers` (libphonenumber).
Which detectors a text needs is decided in one pass over it by an Aho–Corasick automaton
(`pyahocorasick`) of every detector's required literals. What is ours: the shapes of log lines and
stack traces, e-mail and host rules, the bounds of each finding (so it can be masked) and the
signed-URL lifetime policy.

Decisions that keep ordinary status texts clean:
- Times without seconds (`10:14 KST`, `2025-10-02 10:14`) are never log timestamps; a log line
  needs a machine timestamp (with seconds) *and* a level, or a well-known log layout.
- A dotted quad right after `v`, `version`, `버전`, `バージョン` or `ver.` is a version number,
  not an address; any other valid dotted quad is an IPv4 address (`1.2.3.4` in prose is flagged).
- Generic high-entropy tokens must be at least 20 characters (16 for one URL path segment), mix
  upper case, lower case and digits, and carry 4 bits of entropy per symbol (or be 32+ hex digits); hyphenated slugs, ticket ids (`CS-20251002-0042`) and dashboard
  paths do not qualify. A 40-digit git commit id right after `commit`/`커밋`/`コミット` or
  `/commit/` is allowed: RCAs link commits; so is a 64-digit digest after `sha256:`/`digest`/
  `해시`/`ハッシュ`, since RCAs are pinned in a hash chain. Inside a URL, path segments are judged
  one by one, and the ids in links to allow-listed dashboards are not judged at all (other
  detectors still apply there).
- A private key block runs to its END line, or to the end of the text when that is missing.
- The signing parameters of a signed URL that the evidence policy accepts are not secrets for
  this purpose (an S3 presigned URL carries the access key id in `X-Amz-Credential`).
"""
from __future__ import annotations

import fnmatch
from functools import lru_cache
import ipaddress
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Iterable, Iterator
from urllib.parse import parse_qsl, urlsplit

import ahocorasick
from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.azure_storage_key import AzureStorageKeyDetector
from detect_secrets.plugins.base import RegexBasedDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.discord import DiscordBotTokenDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.high_entropy_strings import (
    Base64HighEntropyString,
    HexHighEntropyString,
)
from detect_secrets.plugins.jwt import JwtTokenDetector
from detect_secrets.plugins.keyword import CONFIG_DENYLIST_REGEX_TO_GROUP
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.npm import NpmDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector
import phonenumbers
from stdnum import luhn
from stdnum.exceptions import InvalidChecksum, ValidationError
from stdnum.jp import in_ as my_number
from stdnum.kr import rrn

__all__ = [
    "EvidencePolicy",
    "Finding",
    "check_evidence_url",
    "mask_text",
    "scan_text",
]


@dataclass(frozen=True)
class Finding:
    """One span of a text that must not reach customers.

    `start`/`end` are offsets into the scanned text, `line` is 1-based, and `excerpt` is the
    line with every finding on it already masked, so it can go into an error message.
    """

    kind: str
    start: int
    end: int
    line: int
    excerpt: str


@dataclass(frozen=True)
class EvidencePolicy:
    """Which evidence links may be published.

    - `dashboard_hosts`: host names (fnmatch patterns such as `*.grafana.example.com`) whose
      links are allowed as they are.
    - `relative_expiry_params`: `(param, max_seconds)` pairs; the value is a lifetime in seconds
      (S3 `X-Amz-Expires`, GCS `X-Goog-Expires`).
    - `absolute_expiry_params`: `(expiry_param, signed_at_param, max_seconds)`; both values are
      points in time (epoch seconds, ISO 8601, or `20251002T011403Z`), e.g. Azure SAS `se`/`st`.
    - `signature_params`: parameters whose presence makes a URL "signed"; a signed URL whose
      lifetime cannot be read is refused.
    - `signing_params`: parameters that belong to the signature and are exempt from secret
      scanning once the URL is accepted.
    Parameter names are compared case-insensitively.
    """

    dashboard_hosts: tuple[str, ...] = ()
    relative_expiry_params: tuple[tuple[str, int], ...] = (
        ("X-Amz-Expires", 600),
        ("X-Goog-Expires", 600),
    )
    absolute_expiry_params: tuple[tuple[str, str, int], ...] = (("se", "st", 600),)
    signature_params: tuple[str, ...] = ("X-Amz-Signature", "X-Goog-Signature", "sig", "Signature")
    signing_params: tuple[str, ...] = (
        "X-Amz-Algorithm", "X-Amz-Credential", "X-Amz-Date", "X-Amz-Expires",
        "X-Amz-SignedHeaders", "X-Amz-Signature", "X-Amz-Security-Token",
        "X-Goog-Algorithm", "X-Goog-Credential", "X-Goog-Date", "X-Goog-Expires",
        "X-Goog-SignedHeaders", "X-Goog-Signature",
        "sv", "ss", "srt", "sp", "se", "st", "spr", "sr", "sig",
    )


DEFAULT_EVIDENCE_POLICY = EvidencePolicy()

# Query parameters that carry a credential outright; such a URL is never publishable.
_CREDENTIAL_PARAMS = frozenset(
    {
        "password", "passwd", "pwd", "pass", "token", "access_token", "id_token",
        "refresh_token", "api_key", "apikey", "api-key", "client_secret", "secret",
        "session", "sessionid", "session_id", "auth", "authorization", "private_token",
    }
)

# Suffixes reserved for private networks (RFC 6762, RFC 8375) or conventionally internal; a
# name under them is internal whatever the configuration says.
_INTERNAL_SUFFIXES = (".internal", ".local", ".localdomain", ".lan", ".corp", ".intranet", ".home.arpa")

_VENDOR_DETECTORS: tuple[tuple[RegexBasedDetector, str], ...] = (
    (AWSKeyDetector(), "aws_access_key"),
    (JwtTokenDetector(), "jwt"),
    (PrivateKeyDetector(), "private_key"),
    (BasicAuthDetector(), "url_credentials"),
    (AzureStorageKeyDetector(), "api_token"),
    (DiscordBotTokenDetector(), "api_token"),
    (GitHubTokenDetector(), "api_token"),
    (GitLabTokenDetector(), "api_token"),
    (MailchimpDetector(), "api_token"),
    (NpmDetector(), "api_token"),
    (OpenAIDetector(), "api_token"),
    (PypiTokenDetector(), "api_token"),
    (SendGridDetector(), "api_token"),
    (SlackDetector(), "api_token"),
    (SquareOAuthDetector(), "api_token"),
    (StripeDetector(), "api_token"),
    (TelegramBotTokenDetector(), "api_token"),
    (TwilioKeyDetector(), "api_token"),
)
_BASE64_ENTROPY = Base64HighEntropyString()
_HEX_ENTROPY = HexHighEntropyString()

# --- patterns -------------------------------------------------------------------------------

_LEVEL = r"(?:FATAL|CRITICAL|CRIT|SEVERE|ERROR|ERR|WARNING|WARN|NOTICE|INFO|DEBUG|TRACE|PANIC)"
# Machine timestamps: these carry seconds, which people do not write in status texts.
_MACHINE_TIME = re.compile(
    r"\d{4}[-/]\d{2}[-/]\d{2}[T ]\d{2}:\d{2}:\d{2}"         # ISO 8601 (or nginx 2025/10/03) with seconds
    r"|\b\d{2}:\d{2}:\d{2}[.,]\d{3,}"                     # 01:14:03.123
    r"|\b(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec) +\d{1,2} \d{2}:\d{2}:\d{2}"  # syslog
    r"|\[\d{2}/\w{3}/\d{4}:\d{2}:\d{2}:\d{2}"              # [02/Oct/2025:10:14:03 (access log)
    r"|\b1\d{12}\b"                                         # epoch milliseconds
)
_LEVEL_TOKEN = re.compile(
    rf"(?<![\w-])\[?{_LEVEL}\]?(?![\w-])"
    r"|\[(?:emerg|alert|crit|error|warn|notice|info|debug)\]"   # nginx / Apache error logs
    r"|(?<![\w-])(?:LOG|STATEMENT|DETAIL|HINT):"                # PostgreSQL
)
# Log layouts and stack-trace lines, in three kinds that are tested differently (a line matches one of the
# patterns, wherever it does). Most patterns hold at the start of a line only: `match` tries them at that one
# position, where `search` over one alternation tried every alternative at every position of every line.
# The others need a literal that is looked up first.
_LOG_LAYOUT_AT_START = re.compile(
    "|".join(
        [
            rf"\s*\[?{_LEVEL}\]?:[\w.\-]+:",                                    # ERROR:root:msg
            r"[IWEF]\d{4} \d{2}:\d{2}:\d{2}\.\d+\s+\d+ [\w./-]+:\d+\]",        # klog
        ]
    ),
    re.IGNORECASE,
)
_LOG_LAYOUT_QUOTED = re.compile(  # needs a '"'
    "|".join(
        [
            r'"(?:GET|POST|PUT|PATCH|DELETE|HEAD|OPTIONS) \S+ HTTP/\d(?:\.\d)?" \d{3}',
            r'\{[^{}]*"(?:level|severity|lvl|log\.level)"\s*:\s*"\w+"',       # JSON log
        ]
    ),
    re.IGNORECASE,
)
_LOG_LAYOUT_KEYS = re.compile(  # needs "level=" (no letter of it has another case form than its ASCII capital)
    "|".join(
        [
            r"\blevel=(?:fatal|crit|error|err|warn|warning|info|debug|trace)\b.*\bmsg=",
            r"\bmsg=.*\blevel=(?:fatal|crit|error|err|warn|warning|info|debug|trace)\b",
        ]
    ),
    re.IGNORECASE,
)
_TRACEBACK = "Traceback (most recent call last)"
_STACK_TRACE_AT_START = re.compile(
    "|".join(
        [
            r'\s*File "[^"]+", line \d+',
            r"\s*at [\w$.<>/]+\([^()]*(?:\.java|\.kt|\.scala|\.groovy|Native Method|Unknown Source)[^()]*\)",
            r"\s*at (?:[\w$.<>\[\] ]+ \()?(?:/|file:|node:|[A-Za-z]:\\)[^()\s]*:\d+:\d+\)?",
            r'\s*Exception in thread "',
            r"\s*Caused by: (?:[a-z_]\w*\.)+[A-Z][\w$]*",
            r"\s*(?:[a-z_][\w]*\.)+[A-Z]\w*(?:Exception|Error|Throwable)\b",
            r"\s*[A-Z]\w*(?:Exception|Error): ",
            r"\s*\.\.\. \d+ more\b",
            r"\s*goroutine \d+ \[[\w ]+\]:",
            r"\s*panic: ",
            r"\s*/[\w/.\-]+\.go:\d+",
        ]
    )
)
_DIGIT = re.compile(r"\d")
_PEM_BLOCK = re.compile(
    r"-----BEGIN [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----.*?(?:-----END [A-Z0-9 ]*PRIVATE KEY(?: BLOCK)?-----|\Z)",
    re.DOTALL,
)
_BEARER = re.compile(r"\b(?:Bearer|Token|Basic)\s+([A-Za-z0-9._~+/\-]{12,}=*)", re.IGNORECASE)
_EMAIL = re.compile(r"(?<![\w.+%-])[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}(?![\w-])")
_IPV4 = re.compile(r"(?<![\w.])(\d{1,3}(?:\.\d{1,3}){3})(?:/\d{1,2}|:\d{1,5})?(?![\w]|\.\d)")
_IPV6 = re.compile(r"(?<![\w:.])\[?((?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?:%\w+)?)\]?(?![\w:])")
_VERSION_PREFIX = re.compile(r"(?:\b(?:v|ver\.?|version|release|build)|버전|バージョン)\s*$", re.IGNORECASE)
# Not IGNORECASE: case folding maps some non-ASCII letters (the Kelvin sign) onto `k` and `s`.
_URL = re.compile(r"(?i:https?)://[^\s<>\"'`\u0080-\uffff]+")
_TOKEN = re.compile(r"[A-Za-z0-9+/_\-]{20,}={0,2}")
_HEX = re.compile(r"(?<![0-9A-Za-z])[0-9a-fA-F]{32,}(?![0-9A-Za-z])")
_COMMIT_PREFIX = re.compile(r"(?:commit|커밋|コミット)\W{0,3}$|/commits?/$", re.IGNORECASE)
_DIGEST_PREFIX = re.compile(r"(?:sha-?256|digest|hash|해시|ハッシュ)\W{0,3}$", re.IGNORECASE)
_HOSTNAME = re.compile(r"(?<![\w.@-])[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?![\w-])")
_TOKEN_CHAR = re.compile(r"[A-Za-z0-9_\-+/=]|\.(?=[A-Za-z0-9_\-])")


# --- public API -------------------------------------------------------------------------------


def scan_text(
    text: str,
    *,
    internal_hosts: Iterable[str] = (),
    allowed_emails: Iterable[str] = (),
    evidence_policy: EvidencePolicy = DEFAULT_EVIDENCE_POLICY,
) -> list[Finding]:
    """Everything in `text` that must not be published, in text order.

    `internal_hosts` are host names or fnmatch patterns (`*.corp.example.com`, `ingest-db-*`)
    that must never appear; `allowed_emails` are addresses that may (a support mailbox).
    Findings nested inside a larger finding (an IP inside a log line) are folded into it.
    """
    spans = _raw_spans(text, tuple(internal_hosts), frozenset(e.lower() for e in allowed_emails), evidence_policy)
    kept = _fold(spans)
    return [
        Finding(kind, start, end, _line_of(text, start), _excerpt(text, start, end, kept))
        for start, end, kind in kept
    ]


def mask_text(
    text: str,
    *,
    internal_hosts: Iterable[str] = (),
    allowed_emails: Iterable[str] = (),
    evidence_policy: EvidencePolicy = DEFAULT_EVIDENCE_POLICY,
) -> str:
    """`text` with every finding replaced by `[masked:KIND]`; line breaks outside findings stay."""
    findings = scan_text(
        text, internal_hosts=internal_hosts, allowed_emails=allowed_emails, evidence_policy=evidence_policy
    )
    return _apply_masks(text, [(f.start, f.end, f.kind) for f in findings])


def check_evidence_url(url: str, policy: EvidencePolicy = DEFAULT_EVIDENCE_POLICY) -> str | None:
    """None when `url` may be published as evidence, else the reason it may not.

    Allowed: an https link to an allow-listed dashboard host, or a signed URL whose lifetime is
    at most the policy's maximum. Never allowed: credentials in the URL (user:password@, or a
    token/password query parameter), whatever the host.
    """
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
    except ValueError as error:
        return f"not a valid URL: {error}"
    if parts.scheme.lower() != "https":
        return f"evidence links must use https, got {parts.scheme or 'no'} scheme"
    if not host:
        return "URL has no host"
    if "@" in parts.netloc:
        return "URL carries credentials (user info before '@')"
    params = _query_params(parts.query)
    leaked = sorted(name for name in params if name in _CREDENTIAL_PARAMS)
    if leaked:
        return f"URL carries credentials in query parameter(s): {', '.join(leaked)}"
    if _is_ip(host) or _is_internal(host, ()):
        return f"host {host} is an address or an internal host"
    if _host_matches(host, policy.dashboard_hosts):
        return None
    if _is_signed(params, policy):
        return _signed_url_problem(params, policy)
    return f"host {host} is not an allow-listed dashboard host and the URL is not signed"


# --- detection --------------------------------------------------------------------------------


# Keyword prefilter: each detector runs only when the text holds something that detector cannot match
# without (a literal it requires). Every gate is a superset of its detector, so gating changes no finding; it
# spares ordinary status texts (nearly all of them) dozens of regex passes, which were most of the cost of
# `statusgen check` on a large repository. The literals of every gate are found in one pass over the
# lower-cased text by an Aho–Corasick automaton (`pyahocorasick`), not one regex search per gate.
_GATE_LINE, _GATE_KEYWORD, _GATE_BEARER, _GATE_SQL, _GATE_VENDOR, _GATE_HOST = 1, 2, 4, 8, 16, 32
KEYWORD_TRIGGERS = ("key", "pass", "pwd", "secret", "contras")  # every word of detect-secrets' DENYLIST
_GATE_WORDS: dict[int, tuple[str, ...]] = {
    _GATE_LINE: (
        # stack traces
        "trace", 'file "', "at ", "exception", "caused by:", "err", "throwable", "... ", "goroutine", "panic",
        ".go:",
        # log levels (upper or lower case), nginx/PostgreSQL level markers, klog's `file:line]`, access and JSON
        # logs
        "fatal", "crit", "severe", "warn", "notice", "info", "debug", "emerg", "alert", "log:", "statement:",
        "detail:", "hint:", "]", "http/", "level", "severity", "lvl",
    ),
    _GATE_KEYWORD: KEYWORD_TRIGGERS,
    _GATE_BEARER: ("bearer", "token", "basic"),
    _GATE_SQL: ("select", "insert", "update", "delete", "drop", "truncate", "create", "alter"),
    _GATE_VENDOR: ("://", "private key", "putty", "xox", "_authtoken", "aws"),
}


@lru_cache(maxsize=64)
def _gates(internal_hosts: tuple[str, ...]) -> tuple[ahocorasick.Automaton, int]:
    """The automaton of every gate's literals (each word's value: the gates it opens), and the gates that are
    always open (the internal-host gate when a host pattern has no literal part)."""
    words: dict[str, int] = {}
    for gate, group in _GATE_WORDS.items():
        for word in group:
            words[word] = words.get(word, 0) | gate
    always = 0
    host_words = _host_trigger_words(internal_hosts)
    if host_words is None:
        always |= _GATE_HOST
    else:
        for word in host_words:
            words[word] = words.get(word, 0) | _GATE_HOST
    automaton = ahocorasick.Automaton()
    for word, gates in words.items():
        automaton.add_word(word, gates)
    automaton.make_automaton()
    return automaton, always


def _open_gates(lower: str, internal_hosts: tuple[str, ...]) -> int:
    """The gates (bits) whose literals occur in the lower-cased text."""
    automaton, gates = _gates(internal_hosts)
    for _, found in automaton.iter(lower):
        gates |= found
    return gates


# Every vendor token and every entropy candidate holds a run of 16+ token characters (JWTs with their dots).
_LONG_RUN = re.compile(r"[A-Za-z0-9_+/=.\-]{16}")
# RRNs, My Numbers and card numbers all start with four digits, single separators allowed.
_DIGIT_RUN = re.compile(r"\d[ -]?\d[ -]?\d[ -]?\d")


def _raw_spans(
    text: str, internal_hosts: tuple[str, ...], allowed_emails: frozenset[str], policy: EvidencePolicy
) -> list[tuple[int, int, str]]:
    spans: list[tuple[int, int, str]] = []
    exempt: list[tuple[int, int]] = []
    lower = text.lower()
    long_run = _LONG_RUN.search(text) is not None
    has_digit = _DIGIT.search(text) is not None  # IPs, numbers, phones and timestamps all hold one
    gates = _open_gates(lower, internal_hosts)
    has_url = "://" in text
    if has_url:
        spans += _url_spans(text, policy, exempt)
        spans += _connection_string_spans(text)
    if gates & _GATE_LINE:
        spans += _line_spans(text, has_digit)
    if "private key" in lower:
        spans += [(m.start(), m.end(), "private_key") for m in _PEM_BLOCK.finditer(text)]
    if long_run or gates & _GATE_VENDOR:
        spans += _vendor_spans(text)
    if gates & _GATE_KEYWORD:
        spans += _keyword_spans(text)
    if gates & _GATE_BEARER:
        spans += [(m.start(1), m.end(1), "bearer_token") for m in _BEARER.finditer(text)
                  if _looks_like_credential(m.group(1))]
    if "@" in text:
        spans += [
            (m.start(), m.end(), "email") for m in _EMAIL.finditer(text) if m.group().lower() not in allowed_emails
        ]
    spans += _ip_spans(text, has_digit)
    if long_run:
        spans += _entropy_spans(text, policy)
    if gates & _GATE_HOST:
        spans += _host_spans(text, internal_hosts, gated=True)
    if has_digit and _DIGIT_RUN.search(text):
        spans += _national_id_spans(text)
        spans += _payment_card_spans(text)
    if "+" in text or "0" in text:  # the phone prefilter starts with either
        spans += _phone_spans(text)
    if "-" in text:
        spans += _pod_spans(text)
    if gates & _GATE_SQL:
        spans += _sql_spans(text)
    # Signing parameters of an accepted signed URL are the permitted form, not a leak.
    return [s for s in spans if not any(a <= s[0] and s[1] <= b for a, b in exempt)]


def _line_spans(text: str, has_digit: bool = True) -> Iterator[tuple[int, int, str]]:
    offset = 0
    for line in text.splitlines(keepends=True):
        body = line.rstrip("\r\n")
        start = offset + (len(body) - len(body.lstrip()))
        if _TRACEBACK in body or _STACK_TRACE_AT_START.match(body):
            yield start, offset + len(body), "stack_trace"
        elif (_LOG_LAYOUT_AT_START.match(body)
              or ('"' in body and _LOG_LAYOUT_QUOTED.search(body))
              or ("level=" in body.lower() and _LOG_LAYOUT_KEYS.search(body))
              # every machine timestamp holds a digit
              or (has_digit and _MACHINE_TIME.search(body) and _LEVEL_TOKEN.search(body))):
            yield start, offset + len(body), "log_line"
        offset += len(line)


def _vendor_spans(text: str) -> Iterator[tuple[int, int, str]]:
    for detector, kind in _VENDOR_DETECTORS:
        for regex in detector.denylist:
            for match in regex.finditer(text):
                # The library's own checks (e.g. that a JWT's parts decode) decide; we add bounds.
                if not any(True for _ in detector.analyze_string(match.group())):
                    continue
                if kind == "url_credentials":
                    yield match.start(1), match.end(1), kind
                else:
                    yield match.start(), _extend_token(text, match.end()), kind


def _keyword_spans(text: str) -> Iterator[tuple[int, int, str]]:
    # detect-secrets' config-file rules (`password: ...`, `api_key = ...`), applied line by line;
    # only values that look machine-made count, so prose like "token: none" stays clean.
    offset = 0
    for line in text.splitlines(keepends=True):
        for regex, group in CONFIG_DENYLIST_REGEX_TO_GROUP.items():
            for match in regex.finditer(line):
                value = match.group(group)
                if value and len(value) >= 8 and any(c.isdigit() for c in value) and value.isascii():
                    yield offset + match.start(group), offset + match.end(group), "secret_keyword"
        offset += len(line)


def _ip_spans(text: str, has_digit: bool = True) -> Iterator[tuple[int, int, str]]:
    for match in _IPV4.finditer(text) if has_digit and "." in text else ():
        try:
            ipaddress.IPv4Address(match.group(1))
        except ValueError:
            continue
        if _VERSION_PREFIX.search(text[max(0, match.start() - 12) : match.start()]):
            continue
        yield match.start(), match.end(), "ipv4"
    for match in _IPV6.finditer(text) if text.count(":") >= 2 else ():
        candidate = match.group(1)
        if "::" not in candidate and candidate.count(":") < 7:
            continue  # `10:14:03` is a time; a full IPv6 address has eight groups
        try:
            ipaddress.IPv6Address(candidate)
        except ValueError:
            continue
        yield match.start(), match.end(), "ipv6"


def _entropy_spans(text: str, policy: EvidencePolicy) -> Iterator[tuple[int, int, str]]:
    urls = [(m.start(), m.end(), m.group()) for m in _URL.finditer(text)]
    for match in _TOKEN.finditer(text):
        url = next((u for u in urls if u[0] <= match.start() < u[1]), None)
        if url is None:
            pieces = [(match.start(), match.group())]
        elif _host_matches(_host_of(url[2]), policy.dashboard_hosts):
            continue  # dashboard ids in allow-listed links are random by design
        else:
            # In a URL a slash separates path segments, not base64 symbols.
            pieces = [(match.start() + p.start(), p.group()) for p in re.finditer(r"[^/]+", match.group())]
        for start, piece in pieces:
            if _looks_random(piece.strip("-_=+")):
                yield start, start + len(piece), "high_entropy_token"
    for match in _HEX.finditer(text):
        token = match.group()
        before = text[max(0, match.start() - 12) : match.start()]
        if len(token) == 40 and _COMMIT_PREFIX.search(before):
            continue
        if len(token) == 64 and _DIGEST_PREFIX.search(before):
            continue
        if _HEX_ENTROPY.calculate_shannon_entropy(token) > _HEX_ENTROPY.entropy_limit:
            yield match.start(), match.end(), "high_entropy_token"


def _looks_like_credential(value: str) -> bool:
    """After `Bearer`/`Basic`, anything that is not a plain word is a credential."""
    return any(c.isdigit() for c in value) or (value != value.lower() and value != value.capitalize())


def _looks_random(token: str) -> bool:
    """Mixed-case alphanumerics with digits and base64 entropy of at least 4 bits per symbol."""
    if len(token) < 16:
        return False
    upper = sum(c.isupper() for c in token)
    lower = sum(c.islower() for c in token)
    digits = sum(c.isdigit() for c in token)
    if upper < 2 or lower < 2 or digits < 2:
        return False
    # detect-secrets' limit (4.5) assumes long quoted strings; 20-40 character tokens top out
    # near log2(len), so we ask for 4.0 bits, which English identifiers do not reach.
    return _BASE64_ENTROPY.calculate_shannon_entropy(token) >= 4.0


def _host_trigger_words(internal_hosts: tuple[str, ...]) -> list[str] | None:
    """What every internal name contains (lower-cased): a reserved suffix, or the longest literal part of a
    pattern. None when a pattern has no literal part (`*`): then every name must be looked at."""
    pieces = list(_INTERNAL_SUFFIXES)
    for pattern in internal_hosts:
        literal = max(re.split(r"[*?\[\]]", pattern.lower()), key=len)
        if not literal:
            return None
        pieces.append(literal)
    return pieces


def _host_spans(text: str, internal_hosts: tuple[str, ...], gated: bool = False) -> Iterator[tuple[int, int, str]]:
    """Internal host names; `gated`: the caller found one of `_host_trigger_words` in the text already."""
    if not gated:
        words = _host_trigger_words(internal_hosts)
        lower = text.lower()
        if words is not None and not any(word in lower for word in words):
            return
    for match in _HOSTNAME.finditer(text):
        name = match.group().lower().rstrip(".")
        if _is_internal(name, internal_hosts):
            yield match.start(), match.start() + len(name), "internal_host"


def _url_spans(
    text: str, policy: EvidencePolicy, exempt: list[tuple[int, int]]
) -> Iterator[tuple[int, int, str]]:
    for match in _URL.finditer(text):
        url = match.group().rstrip(".,;:!?)]")
        start, end = match.start(), match.start() + len(url)
        try:
            parts = urlsplit(url)
        except ValueError:
            continue
        params = _query_params(parts.query)
        if "@" in parts.netloc or any(name in _CREDENTIAL_PARAMS for name in params):
            yield start, end, "url_credentials"
            continue
        if not _is_signed(params, policy):
            continue
        if _signed_url_problem(params, policy) is not None:
            yield start, end, "long_lived_signed_url"
            continue
        signing = {p.lower() for p in policy.signing_params}
        query_start = start + url.index("?") + 1
        for piece in re.finditer(r"[^&]+", url[query_start - start :]):
            name = piece.group().split("=", 1)[0].lower()
            if name in signing:
                exempt.append((query_start + piece.start(), query_start + piece.end()))


# --- personal data, connection strings, cluster names and SQL -----------------------------------

# Any scheme with a password in its user info: postgres://u:p@h, mongodb+srv://, redis://:p@h, amqp://.
# http(s) URLs are judged by `_url_spans` with the evidence policy.
_CONNECTION_STRING = re.compile(
    r"(?<![\w+.:-])(?!https?://)[A-Za-z][A-Za-z0-9+.-]*(?::[A-Za-z][A-Za-z0-9+.-]*)*://"
    r"[^\s/?#@:]*:[^\s/?#@]+@[^\s\"'<>`]*"
)


def _connection_string_spans(text: str) -> Iterator[tuple[int, int, str]]:
    for match in _CONNECTION_STRING.finditer(text):
        yield match.start(), match.end() - len(match.group()) + len(match.group().rstrip(".,;:!?)]")), "connection_string"


# A digit run standing alone: not part of a word, a version, a path, a URL parameter or a longer number.
_RRN = re.compile(r"(?<![\w./=-])(\d{6})(-?)([1-8]\d{6})(?![\w/-])")
# Not a 12-digit slice of a longer grouped number (a card number written in groups of four).
_MY_NUMBER = re.compile(r"(?<![\w./=-])(?<!\d[ -])\d{4}([ -]?)\d{4}\1\d{4}(?![\w/-]|[ -]\d)")


def _national_id_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """Korean resident registration numbers and Japanese My Numbers, judged by `python-stdnum`."""
    for match in _RRN.finditer(text):
        number = match.group(1) + match.group(3)
        try:
            rrn.validate(number)
        except InvalidChecksum:
            # Numbers issued since October 2020 carry no check digit; the written YYMMDD-G form is enough.
            if not match.group(2):
                continue
        except ValidationError:
            continue
        yield match.start(), match.end(), "resident_registration_number"
    for match in _MY_NUMBER.finditer(text):
        if my_number.is_valid(match.group()):
            yield match.start(), match.end(), "my_number"


_CARD_CANDIDATE = re.compile(r"(?<![\w./=-])\d(?:[ -]?\d){12,18}(?![\w/-])")


def _card_brand_fits(digits: str) -> bool:
    """Whether the issuer prefix and the length are those of a real card scheme (keeps epoch times out)."""
    length, two, four = len(digits), int(digits[:2]), int(digits[:4])
    return ((digits[0] == "4" and length in (13, 16, 19))                      # Visa
            or ((51 <= two <= 55 or 2221 <= four <= 2720) and length == 16)      # Mastercard
            or (two in (34, 37) and length == 15)                                # American Express
            or (3528 <= four <= 3589 and 16 <= length <= 19)                     # JCB
            or ((four == 6011 or two == 65 or 644 <= four // 10 <= 649) and 16 <= length <= 19)  # Discover
            or (two == 62 and 16 <= length <= 19)                                # UnionPay
            or (two in (30, 36, 38) and 14 <= length <= 19))                     # Diners Club


def _payment_card_spans(text: str) -> Iterator[tuple[int, int, str]]:
    for match in _CARD_CANDIDATE.finditer(text):
        digits = re.sub(r"[ -]", "", match.group())
        if _card_brand_fits(digits) and luhn.is_valid(digits):
            yield match.start(), match.end(), "payment_card"


# Texts without a digit group shaped like a phone number skip the (slow) phonenumbers matcher.
_PHONE_PREFILTER = re.compile(r"\+\s?8[12]|(?<!\d)0\d{1,4}[-.\s)]?\d{2,4}[-.\s]?\d{4}(?!\d)")
_PHONE_REGIONS = ("KR", "JP")


def _phone_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """Korean and Japanese phone numbers, as Google's libphonenumber (`phonenumbers`) validates them."""
    if not _PHONE_PREFILTER.search(text):
        return
    for region in _PHONE_REGIONS:
        for match in phonenumbers.PhoneNumberMatcher(text, region, leniency=phonenumbers.Leniency.VALID):
            yield match.start, match.end, "phone_number"


# A Deployment's pod: <name>-<ReplicaSet hash>-<5>; a DaemonSet's or Job's: <name>-<5>. Kubernetes draws
# the random parts from an alphabet without vowels and without 0, 1, 3 (so no words, no dates).
_K8S = "[bcdfghjklmnpqrstvwxz2456789]"
_POD = re.compile(
    rf"(?<![\w.-])[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:-{_K8S}{{6,10}}-{_K8S}{{5}}"
    rf"|-(?=[a-z]*\d)(?=\d*[a-z]){_K8S}{{5}})(?![\w-])"
)


def _pod_spans(text: str) -> Iterator[tuple[int, int, str]]:
    for match in _POD.finditer(text):
        yield match.start(), match.end(), "pod_name"


_SQL = re.compile(
    r"\b(?:SELECT\s+(?:DISTINCT\s+)?(?:\*|[\w.\"`\[\]()]+(?:\s*,\s*[\w.\"`\[\]()*]+)*)\s+FROM\s+[\w.\"`\[\]]+"
    r"|INSERT\s+INTO\s+[\w.\"`\[\]]+\s*(?:\([^)\n]*\)\s*)?VALUES\b"
    r"|UPDATE\s+[\w.\"`\[\]]+\s+SET\s+[\w.\"`]+\s*="
    r"|DELETE\s+FROM\s+[\w.\"`\[\]]+"
    r"|(?:DROP|TRUNCATE)\s+TABLE\s+[\w.\"`\[\]]+"
    r"|CREATE\s+(?:UNIQUE\s+)?(?:TABLE|INDEX)\s+[\w.\"`\[\]]+"
    r"|ALTER\s+TABLE\s+[\w.\"`\[\]]+\s+(?:ADD|DROP|ALTER|RENAME)\b)",
    re.IGNORECASE,
)
_SQL_KEYWORDS = re.compile(r"\b(?:select|distinct|from|insert|into|values|update|set|delete|drop|truncate|create|"
                           r"unique|table|index|alter|add|rename)\b", re.IGNORECASE)
_SQL_SYNTAX = re.compile(r"[=;*]|\bwhere\b|\blimit\s+\d", re.IGNORECASE)


def _sql_spans(text: str) -> Iterator[tuple[int, int, str]]:
    """SQL statements: upper-case keywords, or SQL syntax (`=`, `;`, `*`, WHERE) in the statement's line.

    Lower-case prose such as "select the region from the list" has neither.
    """
    for match in _SQL.finditer(text):
        line_end = text.find("\n", match.start())
        line_end = len(text) if line_end == -1 else line_end
        statement = text[match.start():line_end]
        keywords = _SQL_KEYWORDS.findall(match.group())
        if all(k.isupper() for k in keywords) or _SQL_SYNTAX.search(statement):
            yield match.start(), match.start() + len(statement.rstrip()), "sql_statement"


# --- signed URLs ------------------------------------------------------------------------------


def _query_params(query: str) -> dict[str, str]:
    return {name.lower(): value for name, value in parse_qsl(query, keep_blank_values=True)}


def _is_signed(params: dict[str, str], policy: EvidencePolicy) -> bool:
    names = {p.lower() for p in policy.signature_params}
    names |= {p.lower() for p, _ in policy.relative_expiry_params}
    names |= {p.lower() for p, _, _ in policy.absolute_expiry_params}
    return any(name in params for name in names)


def _signed_url_problem(params: dict[str, str], policy: EvidencePolicy) -> str | None:
    for name, limit in policy.relative_expiry_params:
        if name.lower() in params:
            raw = params[name.lower()]
            if not raw.isdigit():
                return f"signed URL: {name}={raw!r} is not a number of seconds"
            if int(raw) > limit:
                return f"signed URL lives {int(raw)} s ({name}), more than {limit} s"
            return None
    for expiry, signed_at, limit in policy.absolute_expiry_params:
        if expiry.lower() in params:
            if signed_at.lower() not in params:
                return f"signed URL: {expiry} is given without {signed_at}, so its lifetime is unknown"
            end = _parse_instant(params[expiry.lower()])
            begin = _parse_instant(params[signed_at.lower()])
            if end is None or begin is None:
                return f"signed URL: cannot read {expiry}/{signed_at} as times"
            lifetime = int((end - begin).total_seconds())
            if lifetime > limit:
                return f"signed URL lives {lifetime} s ({signed_at} to {expiry}), more than {limit} s"
            return None
    return "signed URL without a lifetime parameter"


def _parse_instant(value: str) -> datetime | None:
    if value.isdigit():
        return datetime.fromtimestamp(int(value), timezone.utc)
    for layout in ("%Y%m%dT%H%M%SZ",):
        try:
            return datetime.strptime(value, layout).replace(tzinfo=timezone.utc)
        except ValueError:
            pass
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=timezone.utc)


# --- hosts ------------------------------------------------------------------------------------


def _host_matches(host: str, patterns: Iterable[str]) -> bool:
    return any(fnmatch.fnmatchcase(host, p.lower()) for p in patterns)


@lru_cache(maxsize=16384)  # the same names recur in every language of every text
def _is_internal(host: str, internal_hosts: tuple[str, ...]) -> bool:
    if "." in host and host.endswith(_INTERNAL_SUFFIXES):
        return True
    return _host_matches(host, internal_hosts)


def _host_of(url: str) -> str:
    try:
        return (urlsplit(url).hostname or "").lower()
    except ValueError:
        return ""


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    return True


# --- spans, masks and excerpts ----------------------------------------------------------------


def _extend_token(text: str, end: int) -> int:
    while end < len(text) and _TOKEN_CHAR.match(text, end):
        end += 1
    return end


# Among findings with the same bounds, the most specific name wins.
_GENERIC_KINDS = ("high_entropy_token", "secret_keyword")


def _fold(spans: list[tuple[int, int, str]]) -> list[tuple[int, int, str]]:
    """Drop duplicates and spans inside a larger one; the outer finding names the leak."""
    kept: list[tuple[int, int, str]] = []
    ordered = sorted(set(spans), key=lambda s: (s[0], -s[1], s[2] in _GENERIC_KINDS, s[2]))
    for start, end, kind in ordered:
        if kept and kept[-1][0] <= start and end <= kept[-1][1]:
            continue
        if any(k[0] <= start and end <= k[1] for k in kept):
            continue
        kept.append((start, end, kind))
    return kept


def _apply_masks(text: str, spans: list[tuple[int, int, str]]) -> str:
    pieces: list[str] = []
    cursor = 0
    for start, end, kind in sorted(spans):
        if end <= cursor:
            continue
        start = max(start, cursor)
        pieces.append(text[cursor:start])
        pieces.append(f"[masked:{kind}]")
        cursor = end
    pieces.append(text[cursor:])
    return "".join(pieces)


def _line_of(text: str, offset: int) -> int:
    return text.count("\n", 0, offset) + 1


def _excerpt(text: str, start: int, end: int, spans: list[tuple[int, int, str]], width: int = 100) -> str:
    line_start = text.rfind("\n", 0, start) + 1
    line_end = text.find("\n", start)
    line_end = len(text) if line_end == -1 else line_end
    # Mask every finding touching the line, clipped to it, so no other secret leaks into the message.
    local = [
        (max(s, line_start) - line_start, min(e, line_end) - line_start, k)
        for s, e, k in spans
        if s < line_end and e > line_start
    ]
    masked = _apply_masks(text[line_start:line_end], local).strip()
    return masked if len(masked) <= width else masked[: width - 1] + "…"
