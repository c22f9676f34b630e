"""The status API (mission section G): `POST /v1/status/incidents`, `PATCH /v1/status/{id}` and reads.

Thin HTTP layer over `changes` (what a request means) and `store` (files and commits). Every error body is
`{"detail": ..., "errors": [{"field": ..., "message": ..., "path"?: ..., "line"?: ...}]}`.

Writes take an optional `Idempotency-Key` header (the IETF httpapi draft, as Stripe does it): a retry with
the same key and the same body gets the first answer again and writes nothing; the same key with another
body is a 422. Keys live in the commits' trailers, so they survive a restart, for 24 hours.
"""

import hashlib
import json
from pathlib import Path
from typing import Annotated, Callable, Sequence
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import ValidationError

from ...content.load import Problem, problems_from_validation
from ...content.model import Incident
from ...content.yamlsource import YamlDocument
from .auth import Token, authenticate
from .changes import (
    ChangeRejected,
    IncidentChange,
    IncidentCreate,
    apply_change,
    describe_change,
    macro_renderer,
    new_incident,
)
from .store import Broken, Conflict, IncidentStore, KeyReused, NotFound, Rejected, Request as Asked, Written

# The largest request body read; a larger one is a 413 before any of it is parsed.
MAX_BODY_BYTES = 1024 * 1024
JSON_TYPES = ("application/json",)


class ApiError(Exception):
    def __init__(self, status: int, detail: str, errors: list[dict] | None = None, headers: dict | None = None):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors or [], headers


def _errors_from_pydantic(errors: list[dict], model: type) -> list[dict]:
    problems = problems_from_validation(errors, model, YamlDocument({}), "request")
    return [{"field": p.field, "message": p.message} for p in problems]


def _errors_from_problems(problems: list[Problem]) -> list[dict]:
    return [{"field": p.field, "message": p.message, "path": p.path, "line": p.line} for p in problems]


def incident_json(incident: Incident) -> dict:
    data = incident.model_dump(mode="json", by_alias=True, exclude_none=True, exclude={"schema_"})
    return {**data, "status": incident.status.value}


ERROR_RESPONSES = {
    400: {"description": "The body is not JSON"},
    401: {"description": "No bearer token, or an unknown one"},
    403: {"description": "The token lacks the scope"},
    404: {"description": "No incident with this id"},
    409: {"description": "The id is taken already, or the repository is broken (the paths are listed)"},
    413: {"description": "The body is larger than the limit"},
    415: {"description": "The body is not application/json"},
    422: {"description": "Field-level errors, or an Idempotency-Key reused for another body; nothing was written"},
}


# The subscription endpoints also take what a plain HTML form and a mail client's one-click unsubscribe
# (RFC 8058) send.
FORM_PATHS = ("/v1/subscriptions",)
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data")


class BodyGate:
    """ASGI middleware in front of the app: a write's body must be JSON (415) and at most `limit` bytes
    (413), checked before the body is parsed; neither answer repeats any of the body."""

    def __init__(self, app, limit: int):
        self.app, self.limit = app, limit

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["method"] not in ("POST", "PATCH", "PUT"):
            return await self.app(scope, receive, send)
        headers = dict(scope["headers"])
        media = headers.get(b"content-type", b"").split(b";")[0].strip().lower().decode("latin-1")
        declared = headers.get(b"content-length", b"").decode("latin-1")
        form_ok = scope["path"].startswith(FORM_PATHS) and media in FORM_TYPES
        if media not in JSON_TYPES and not media.endswith("+json") and declared != "0" and not form_ok:
            shown = media[:80] or "none"
            return await _answer(send, 415, f"expected a body of type application/json, got {shown}")
        if declared.isdigit() and int(declared) > self.limit:
            return await _answer(send, 413, f"expected a body of at most {self.limit} bytes, got {declared}")
        chunks, size = [], 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return await self.app(scope, _replay([message]), send)
            size += len(message.get("body", b""))
            if size > self.limit:
                return await _answer(send, 413, f"expected a body of at most {self.limit} bytes, got more")
            chunks.append(message)
            if not message.get("more_body"):
                break
        return await self.app(scope, _replay(chunks, receive), send)


def _replay(messages, then=None):
    queue = list(messages)

    async def receive():
        if queue:
            return queue.pop(0)
        return await then() if then else {"type": "http.disconnect"}
    return receive


async def _answer(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail, "errors": [{"field": "", "message": detail}]}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def request_digest(method: str, path: str, body) -> str:
    """What makes two requests the same request: method, path and the body's fields (not its spacing)."""
    fields = body.model_dump(mode="json", exclude_unset=True)
    canonical = json.dumps([method, path, fields], sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return "sha256:" + hashlib.sha256(canonical.encode()).hexdigest()


IdempotencyKey = Annotated[str | None, Header(
    alias="Idempotency-Key", pattern=r"^[\x21-\x7e]{1,255}$",
    description="A unique key per intended write (e.g. a UUID); a retry with the same key and body is "
                "answered from the first write and writes nothing")]

# Called with the store and the write after every accepted write, still under the write lock.
WriteListener = Callable[[IncidentStore, Written], object]


def create_app(root: Path, tokens: list[Token], store: IncidentStore | None = None,
               on_write: Sequence[WriteListener] = ()) -> FastAPI:
    """The API over the repository at `root`. Each listener in `on_write` is called with the store and the
    write after every accepted write, still under the write lock (the CLI registers the ticket sync's
    outbox). Opening the store recovers a write interrupted by a crash."""
    store = store or IncidentStore(root)
    store.index.refresh()  # read every content file now, not during the first write
    render = macro_renderer(store.root)
    languages = tuple(store.config.languages)
    app = FastAPI(title="statusgen status API", version="1", description=__doc__)
    app.add_middleware(BodyGate, limit=MAX_BODY_BYTES)
    bearer = HTTPBearer(auto_error=False)

    def tz(region_id: str):
        region = next((r for r in store.config.regions if r.id == region_id), None)
        return region.tz if region else ZoneInfo("UTC")

    def scope(needed: str):
        def check(credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Token:
            challenge = {"WWW-Authenticate": "Bearer"}
            if credentials is None:
                raise ApiError(401, "a bearer token is required", headers=challenge)
            token = authenticate(tokens, credentials.credentials)
            if token is None:
                raise ApiError(401, "unknown bearer token", headers=challenge)
            if needed not in token.scopes:
                raise ApiError(403, f"the token lacks the {needed!r} scope")
            return token
        return check

    Reader = Annotated[Token, Depends(scope("read"))]
    Writer = Annotated[Token, Depends(scope("write"))]

    @app.exception_handler(ApiError)
    async def _api_error(request: Request, exc: ApiError):
        return JSONResponse({"detail": exc.detail, "errors": exc.errors}, exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid_request(request: Request, exc: RequestValidationError):
        errors = list(exc.errors())
        if any(e.get("type") == "json_invalid" for e in errors):
            message = next(e for e in errors if e.get("type") == "json_invalid").get("ctx", {}).get("error", "")
            return JSONResponse({"detail": "the body is not valid JSON",
                                 "errors": [{"field": "", "message": f"invalid JSON: {message}"}]}, 400)
        body_errors = [{**e, "loc": tuple(e["loc"][1:])} for e in errors if e["loc"][:1] == ("body",)]
        other = [{"field": ".".join(map(str, e["loc"])), "message": e["msg"]} for e in errors
                 if e["loc"][:1] != ("body",)]
        model = IncidentCreate if request.method == "POST" else IncidentChange
        return JSONResponse({"detail": "the request has invalid fields; nothing was written",
                             "errors": _errors_from_pydantic(body_errors, model) + other}, 422)

    def rejected(exc: Exception) -> ApiError:
        if isinstance(exc, Broken):
            paths = sorted({p.path for p in exc.problems})
            return ApiError(409, "the repository does not pass `statusgen check` (fix these files first: "
                            f"{', '.join(paths)}); nothing was written", _errors_from_problems(exc.problems))
        if isinstance(exc, KeyReused):
            return ApiError(422, "this Idempotency-Key was used for a different request; nothing was written",
                            [{"field": "Idempotency-Key", "message": "expected the same method, path and body "
                              "as the first request with this key, or a new key"}])
        if isinstance(exc, Rejected):
            return ApiError(422, "the change fails `statusgen check`; nothing was written",
                            _errors_from_problems(exc.problems))
        if isinstance(exc, ChangeRejected):
            return ApiError(422, "the request cannot be applied; nothing was written",
                            [{"field": f, "message": m} for f, m in exc.errors])
        assert isinstance(exc, ValidationError)
        return ApiError(422, "the result is not a valid incident; nothing was written",
                        _errors_from_pydantic(exc.errors(include_url=False), Incident))

    @app.get("/v1/status/incidents", responses=ERROR_RESPONSES, summary="List incidents, newest first")
    def list_incidents(token: Reader) -> dict:
        return {"incidents": [incident_json(i) for i in store.list()]}

    @app.get("/v1/status/{incident_id}", responses=ERROR_RESPONSES, summary="One incident")
    def get_incident(incident_id: str, token: Reader) -> dict:
        try:
            return incident_json(store.get(incident_id))
        except NotFound:
            raise ApiError(404, f"no incident with id {incident_id!r}") from None

    def answer(written: Written) -> dict:
        return {**incident_json(written.incident), "commit": written.commit, "path": written.path}

    def notify(written: Written) -> None:
        for listener in on_write:
            listener(store, written)

    @app.post("/v1/status/incidents", status_code=201, responses=ERROR_RESPONSES,
              summary="Create an incident (one commit)")
    def create_incident(body: IncidentCreate, token: Writer, request: Request,
                        idempotency_key: IdempotencyKey = None) -> JSONResponse:
        asked = idempotency_key and Asked(idempotency_key, request_digest("POST", request.url.path, body))
        try:
            incident = new_incident(body, tz(body.region), languages, render)
            with store.writing():
                written = asked and store.replay(asked)
                if not written:
                    written = store.create(incident, token.author, f"api: open {incident.id}", asked or None)
                    notify(written)
        except (Rejected, ChangeRejected, ValidationError, KeyReused) as exc:
            raise rejected(exc) from None
        except Conflict as exc:
            raise ApiError(409, str(exc), [{"field": "id", "message": str(exc)}]) from None
        location = f"/v1/status/{written.incident.id}"
        return JSONResponse(answer(written), 201, headers={"Location": location})

    @app.patch("/v1/status/{incident_id}", responses=ERROR_RESPONSES,
               summary="Change an incident: append an update, change fields, resolve (one commit)")
    def change_incident(incident_id: str, body: IncidentChange, token: Writer, request: Request,
                        idempotency_key: IdempotencyKey = None) -> dict:
        asked = idempotency_key and Asked(idempotency_key, request_digest("PATCH", request.url.path, body))
        try:
            with store.writing():
                written = asked and store.replay(asked)
                if not written:
                    try:
                        file, incident = store.find(incident_id)
                    except NotFound:
                        store.refuse_if_broken()  # the incident may be the broken file
                        raise
                    changed = apply_change(incident, body, tz(incident.region), languages, render)
                    written = store.replace(file, changed, token.author,
                                            f"api: {incident_id}: {describe_change(body)}", asked or None)
                    notify(written)
        except NotFound:
            raise ApiError(404, f"no incident with id {incident_id!r}") from None
        except (Rejected, ChangeRejected, ValidationError, KeyReused) as exc:
            raise rejected(exc) from None
        return answer(written)

    return app
