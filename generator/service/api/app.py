"""The status API (mission section G): `POST /v1/status/incidents`, `PATCH /v1/status/{id}` and reads.

Thin HTTP layer over `changes` (what a request means) and `store` (files and commits). Every error body is
`{"detail": ..., "errors": [{"field": ..., "message": ..., "path"?: ..., "line"?: ...}]}`.
"""

from pathlib import Path
from typing import Annotated, Callable, Sequence
from zoneinfo import ZoneInfo

from fastapi import Depends, FastAPI, Request
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
from .store import Conflict, IncidentStore, NotFound, Rejected


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
    409: {"description": "An incident with this id exists already"},
    422: {"description": "Field-level errors; nothing was written"},
}


WriteListener = Callable[[IncidentStore], object]


def create_app(root: Path, tokens: list[Token], store: IncidentStore | None = None,
               on_write: Sequence[WriteListener] = ()) -> FastAPI:
    """The API over the repository at `root`. Each listener in `on_write` is called with the store after
    every accepted write, still under the write lock (the CLI registers the ticket sync's outbox)."""
    store = store or IncidentStore(root)
    render = macro_renderer(store.root)
    languages = tuple(store.config.languages)
    app = FastAPI(title="statusgen status API", version="1", description=__doc__)
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

    @app.post("/v1/status/incidents", status_code=201, responses=ERROR_RESPONSES,
              summary="Create an incident (one commit)")
    def create_incident(body: IncidentCreate, token: Writer) -> JSONResponse:
        try:
            incident = new_incident(body, tz(body.region), languages, render)
            with store.writing():
                written = store.create(incident, token.author, f"api: open {incident.id}")
                for listener in on_write:
                    listener(store)
        except (Rejected, ChangeRejected, ValidationError) as exc:
            raise rejected(exc) from None
        except Conflict as exc:
            raise ApiError(409, str(exc), [{"field": "id", "message": str(exc)}]) from None
        location = f"/v1/status/{written.incident.id}"
        return JSONResponse({**incident_json(written.incident), "commit": written.commit, "path": written.path},
                            201, headers={"Location": location})

    @app.patch("/v1/status/{incident_id}", responses=ERROR_RESPONSES,
               summary="Change an incident: append an update, change fields, resolve (one commit)")
    def change_incident(incident_id: str, body: IncidentChange, token: Writer) -> dict:
        try:
            with store.writing():
                file, incident = store.find(incident_id)
                changed = apply_change(incident, body, tz(incident.region), languages, render)
                written = store.replace(file, changed, token.author,
                                        f"api: {incident_id}: {describe_change(body)}")
                for listener in on_write:
                    listener(store)
        except NotFound:
            raise ApiError(404, f"no incident with id {incident_id!r}") from None
        except (Rejected, ChangeRejected, ValidationError) as exc:
            raise rejected(exc) from None
        return {**incident_json(written.incident), "commit": written.commit, "path": written.path}

    return app
