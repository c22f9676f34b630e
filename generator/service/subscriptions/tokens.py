"""Signed links sent to subscribers: confirm (expires) and one-click unsubscribe (does not expire).

The tokens are itsdangerous signatures (HMAC-SHA1 key derivation, URL-safe) keyed by
$STATUSGEN_SUBSCRIPTION_SECRET, so a link cannot be forged or pointed at another subscriber.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import quote

from itsdangerous import BadSignature, SignatureExpired, URLSafeSerializer, URLSafeTimedSerializer

SECRET_ENV = "STATUSGEN_SUBSCRIPTION_SECRET"
CONFIRM_MAX_AGE = 48 * 3600  # seconds a confirmation link stays valid


class MissingSubscriptionSecret(RuntimeError):
    pass


class InvalidToken(ValueError):
    pass


def secret_from_env() -> str:
    secret = os.environ.get(SECRET_ENV, "")
    if len(secret) < 16:
        raise MissingSubscriptionSecret(
            f"no subscription secret: set ${SECRET_ENV} (at least 16 characters) to sign subscribers' links")
    return secret


@dataclass(frozen=True)
class Links:
    """Makes and reads the signed links; `api_url` is the public address of `statusgen serve`."""

    secret: str
    api_url: str

    def _confirm(self) -> URLSafeTimedSerializer:
        return URLSafeTimedSerializer(self.secret, salt="statusgen-subscription-confirm")

    def _unsubscribe(self) -> URLSafeSerializer:
        return URLSafeSerializer(self.secret, salt="statusgen-unsubscribe")

    def confirm_url(self, subscriber_id: int, generation: int) -> str:
        token = self._confirm().dumps([subscriber_id, generation])
        return f"{self.api_url.rstrip('/')}/v1/subscriptions/confirm?token={quote(token)}"

    def read_confirm(self, token: str) -> tuple[int, int]:
        try:
            subscriber_id, generation = self._confirm().loads(token, max_age=CONFIRM_MAX_AGE)
        except SignatureExpired:
            raise InvalidToken("this confirmation link has expired; subscribe again") from None
        except (BadSignature, ValueError, TypeError):
            raise InvalidToken("this link is not valid") from None
        return int(subscriber_id), int(generation)

    def unsubscribe_url(self, kind: str, target: str, subscriber_id: int | None = None) -> str:
        """A subscriber's link names its row; a tenants.yaml recipient's names the address to suppress."""
        payload = ["s", subscriber_id] if subscriber_id is not None else ["t", kind, target]
        return f"{self.api_url.rstrip('/')}/v1/subscriptions/unsubscribe?token={quote(self._unsubscribe().dumps(payload))}"

    def read_unsubscribe(self, token: str) -> list:
        try:
            payload = self._unsubscribe().loads(token)
        except (BadSignature, ValueError, TypeError):
            raise InvalidToken("this link is not valid") from None
        if not isinstance(payload, list) or payload[:1] not in (["s"], ["t"]):
            raise InvalidToken("this link is not valid")
        return payload
