"""Signed webhook delivery with retries: the one way statusgen POSTs JSON to other systems.

The signature is `X-Statusgen-Signature: sha256=<hex HMAC-SHA256 of "<timestamp>.<body>">` with the
timestamp in `X-Statusgen-Timestamp` (Unix seconds), so a receiver can refuse replays of old bodies;
`X-Statusgen-Delivery` is a stable id a receiver can use to drop duplicates.
"""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from dataclasses import dataclass
from typing import Callable

import httpx

SIGNATURE_HEADER = "X-Statusgen-Signature"
TIMESTAMP_HEADER = "X-Statusgen-Timestamp"
DELIVERY_HEADER = "X-Statusgen-Delivery"


SECRET_ENV = "STATUSGEN_WEBHOOK_SECRET"


class MissingSecret(RuntimeError):
    """statusgen never sends an unsigned webhook: a receiver could not tell it from a forgery."""


def secret_from_env(name: str = SECRET_ENV) -> bytes:
    """The HMAC secret held by the environment variable `name`; `notify` and `sync` refuse without it."""
    secret = os.environ.get(name or SECRET_ENV, "")
    if not secret:
        raise MissingSecret(f"no HMAC secret: set ${name or SECRET_ENV} (statusgen never sends unsigned webhooks)")
    return secret.encode()


def signature(secret: bytes, timestamp: str, body: bytes) -> str:
    return "sha256=" + hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def verify_signature(secret: bytes, timestamp: str, body: bytes, presented: str) -> bool:
    """What a receiver runs: constant-time comparison of the presented signature."""
    return hmac.compare_digest(signature(secret, timestamp, body), presented or "")


@dataclass(frozen=True)
class Outcome:
    ok: bool
    attempts: int
    status: int | None  # last HTTP status, None when no response came back
    error: str = ""


def post_signed(url: str, payload: dict, *, secret: bytes | None, delivery_id: str,
                attempts: int = 4, backoff: float = 0.5, timeout: float = 10.0,
                sleep: Callable[[float], None] = time.sleep, client: httpx.Client | None = None) -> Outcome:
    """POST `payload` as JSON; retry transport errors, 429 and 5xx with exponential backoff.

    Other 4xx are final: the receiver has refused the request and repeating it will not help.
    """
    body = json.dumps(payload, ensure_ascii=False, sort_keys=True).encode()
    own = client is None
    client = client or httpx.Client(timeout=timeout)
    status, error = None, ""
    try:
        for attempt in range(1, attempts + 1):
            stamp = str(int(time.time()))
            headers = {"Content-Type": "application/json", TIMESTAMP_HEADER: stamp, DELIVERY_HEADER: delivery_id,
                       "User-Agent": "statusgen-notifier"}
            if secret:
                headers[SIGNATURE_HEADER] = signature(secret, stamp, body)
            try:
                response = client.post(url, content=body, headers=headers)
                status, error = response.status_code, ""
                if response.is_success:
                    return Outcome(True, attempt, status)
                if status != 429 and status < 500:
                    return Outcome(False, attempt, status, f"refused with HTTP {status}")
                error = f"HTTP {status}"
            except httpx.TransportError as exc:
                status, error = None, f"{type(exc).__name__}: {exc}"
            if attempt < attempts:
                sleep(backoff * 2 ** (attempt - 1))
        return Outcome(False, attempts, status, f"gave up after {attempts} attempts: {error}")
    finally:
        if own:
            client.close()
