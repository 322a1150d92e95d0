"""Sessions and participants (``/v1/sessions``, ``/v1/participants``) and participant entry links."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.routing import Route

from coviu_sandbox.inputs import (
    DeletedParticipantsQuery,
    ParticipantCreate,
    ParticipantUpdate,
    SessionCreate,
    SessionListQuery,
    SessionUpdate,
    parse_query,
    read_model,
)
from coviu_sandbox.models import Participant, Session
from coviu_sandbox.responses import JSONResponse
from coviu_sandbox.state import sandbox_of
from coviu_sandbox.timestamps import format_timestamp

_OK = {"ok": True}


def _participant_json(request: Request, participant: Participant) -> dict[str, Any]:
    entry_url = f"{request.base_url}session/{participant.participant_id}"
    return {**participant.to_json(), "entry_url": entry_url}


def _session_json(request: Request, session: Session, *, include_deleted: bool) -> dict[str, Any]:
    members = sandbox_of(request).store.participants_of(session.session_id, include_deleted=include_deleted)
    return {**session.to_json(), "participants": [_participant_json(request, member) for member in members]}


async def list_sessions(request: Request) -> JSONResponse:
    query = parse_query(SessionListQuery, request.query_params)
    sessions, more = sandbox_of(request).store.list_sessions(query)
    content = [_session_json(request, session, include_deleted=query.deleted_participants) for session in sessions]
    return JSONResponse({"content": content, "page": query.page, "page_size": query.page_size, "more": more})


async def create_session(request: Request) -> JSONResponse:
    body = await read_model(request, SessionCreate)
    sandbox = sandbox_of(request)
    session = sandbox.store.create_session(body, sandbox.client_uuid)
    return JSONResponse(_session_json(request, session, include_deleted=False))


async def get_session(request: Request) -> JSONResponse:
    query = parse_query(DeletedParticipantsQuery, request.query_params)
    session = sandbox_of(request).store.get_session(request.path_params["session_id"])
    return JSONResponse(_session_json(request, session, include_deleted=query.deleted_participants))


async def update_session(request: Request) -> JSONResponse:
    body = await read_model(request, SessionUpdate)
    session = sandbox_of(request).store.update_session(request.path_params["session_id"], body)
    return JSONResponse(_session_json(request, session, include_deleted=False))


async def cancel_session(request: Request) -> JSONResponse:
    sandbox_of(request).store.cancel_session(request.path_params["session_id"])
    return JSONResponse(_OK)


async def session_summary(request: Request) -> JSONResponse:
    return JSONResponse(sandbox_of(request).store.summary(request.path_params["session_id"]))


async def list_participants(request: Request) -> JSONResponse:
    query = parse_query(DeletedParticipantsQuery, request.query_params)
    store = sandbox_of(request).store
    session = store.get_session(request.path_params["session_id"])
    members = store.participants_of(session.session_id, include_deleted=query.deleted_participants)
    return JSONResponse([_participant_json(request, member) for member in members])


async def add_participant(request: Request) -> JSONResponse:
    body = await read_model(request, ParticipantCreate)
    sandbox = sandbox_of(request)
    participant = sandbox.store.add_participant(request.path_params["session_id"], body, sandbox.client_uuid)
    return JSONResponse(_participant_json(request, participant))


async def get_participant(request: Request) -> JSONResponse:
    participant = sandbox_of(request).store.get_participant(request.path_params["participant_id"])
    return JSONResponse(_participant_json(request, participant))


async def update_participant(request: Request) -> JSONResponse:
    body = await read_model(request, ParticipantUpdate)
    participant = sandbox_of(request).store.update_participant(request.path_params["participant_id"], body)
    return JSONResponse(_participant_json(request, participant))


async def cancel_participant(request: Request) -> JSONResponse:
    sandbox_of(request).store.cancel_participant(request.path_params["participant_id"])
    return JSONResponse(_OK)


async def enter_session(request: Request) -> JSONResponse:
    """The page behind a participant's ``entry_url``: joining is what the uniqueness flag limits."""
    participant = sandbox_of(request).store.enter(request.path_params["participant_id"])
    assert participant.entered_at is not None
    return JSONResponse(
        {
            "session_id": participant.session_id,
            "participant_id": participant.participant_id,
            "display_name": participant.display_name,
            "role": participant.role,
            "entered_at": format_timestamp(participant.entered_at),
        }
    )


routes = [
    Route("/v1/sessions", list_sessions, methods=["GET"]),
    Route("/v1/sessions", create_session, methods=["POST"]),
    Route("/v1/sessions/{session_id}", get_session, methods=["GET"]),
    Route("/v1/sessions/{session_id}", update_session, methods=["PUT"]),
    Route("/v1/sessions/{session_id}", cancel_session, methods=["DELETE"]),
    Route("/v1/sessions/{session_id}/summary", session_summary, methods=["GET"]),
    Route("/v1/sessions/{session_id}/participants", list_participants, methods=["GET"]),
    Route("/v1/sessions/{session_id}/participants", add_participant, methods=["POST"]),
    Route("/v1/participants/{participant_id}", get_participant, methods=["GET"]),
    Route("/v1/participants/{participant_id}", update_participant, methods=["PUT"]),
    Route("/v1/participants/{participant_id}", cancel_participant, methods=["DELETE"]),
    Route("/session/{participant_id}", enter_session, methods=["GET"]),
]
