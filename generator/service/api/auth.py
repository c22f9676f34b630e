"""API bearer tokens: kept only as SHA-256 digests, each with an author identity and scopes.

The tokens file (or the STATUSGEN_API_TOKENS variable holding the same YAML) lists entries like
`{name: SRE on call, email: sre@example.com, scopes: [read, write], sha256: <hex digest of the token>}`.
Tokens are 256-bit random strings, so one SHA-256 pass is enough: there is nothing to brute-force.
`statusgen token` makes a token and prints the entry to add.
"""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass
from pathlib import Path

import yaml

from .store import Author

SCOPES = ("read", "write")
ENV_TOKENS = "STATUSGEN_API_TOKENS"
ENV_TOKENS_FILE = "STATUSGEN_API_TOKENS_FILE"


@dataclass(frozen=True)
class Token:
    author: Author
    scopes: frozenset[str]
    digest: str


class TokenError(ValueError):
    pass


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def new_token() -> str:
    return "sgt_" + secrets.token_urlsafe(32)


def token_entry(token: str, name: str, email: str, scopes: list[str]) -> dict:
    return {"name": name, "email": email, "scopes": list(scopes), "sha256": digest(token)}


def parse_tokens(text: str, where: str) -> list[Token]:
    try:
        data = yaml.safe_load(text) or []
    except yaml.YAMLError as exc:
        raise TokenError(f"{where}: YAML syntax error: {exc}") from None
    if isinstance(data, dict):
        data = data.get("tokens", [])
    tokens = []
    for index, entry in enumerate(data if isinstance(data, list) else [None]):
        if not isinstance(entry, dict):
            raise TokenError(f"{where}: tokens[{index}]: expected a mapping with name, email, scopes, sha256")
        missing = [k for k in ("name", "email", "scopes", "sha256") if k not in entry]
        if missing:
            raise TokenError(f"{where}: tokens[{index}]: required field(s) missing: {', '.join(missing)}")
        unknown = sorted(set(entry["scopes"]) - set(SCOPES))
        if unknown:
            raise TokenError(f"{where}: tokens[{index}].scopes: expected read and/or write, got {unknown}")
        hexdigest = str(entry["sha256"]).lower()
        if len(hexdigest) != 64 or any(c not in "0123456789abcdef" for c in hexdigest):
            raise TokenError(f"{where}: tokens[{index}].sha256: expected 64 hex digits (the token's SHA-256)")
        tokens.append(Token(Author(str(entry["name"]), str(entry["email"])), frozenset(entry["scopes"]), hexdigest))
    return tokens


def load_tokens(file: Path | None) -> list[Token]:
    """Tokens from `file`, else STATUSGEN_API_TOKENS_FILE, else the YAML in STATUSGEN_API_TOKENS."""
    file = file or (Path(os.environ[ENV_TOKENS_FILE]) if os.environ.get(ENV_TOKENS_FILE) else None)
    if file is not None:
        try:
            return parse_tokens(file.read_text(encoding="utf-8"), str(file))
        except OSError as exc:
            raise TokenError(f"{file}: cannot read the tokens file: {exc.strerror}") from None
    if os.environ.get(ENV_TOKENS):
        return parse_tokens(os.environ[ENV_TOKENS], ENV_TOKENS)
    return []


def authenticate(tokens: list[Token], presented: str) -> Token | None:
    wanted = digest(presented)
    found = None
    for token in tokens:  # compare with every entry in constant time; no early exit on a match
        if hmac.compare_digest(token.digest, wanted):
            found = token
    return found
