"""Collections, submissions and their binaries (``/v1/collections``).

Binaries are streamed from :mod:`coviu_sandbox.binary` with ``Range`` support (see
:mod:`coviu_sandbox.ranges`); HEAD answers with the headers of a full GET and no body.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from coviu_sandbox.binary import stream_bytes
from coviu_sandbox.inputs import SubmissionFileQuery, SubmissionListQuery, parse_query
from coviu_sandbox.models import Blob
from coviu_sandbox.ranges import parse_range
from coviu_sandbox.responses import JSONResponse
from coviu_sandbox.state import sandbox_of


async def list_collections(request: Request) -> JSONResponse:
    collections = sandbox_of(request).team_data.team_collections(request.path_params["team_id"])
    return JSONResponse([collection.to_json() for collection in collections])


async def list_submissions(request: Request) -> JSONResponse:
    query = parse_query(SubmissionListQuery, request.query_params)
    params = request.path_params
    items, total = sandbox_of(request).team_data.list_submissions(params["team_id"], params["collection_id"], query)
    return JSONResponse({"items": [item.to_json() for item in items], "total": total})


async def get_submission(request: Request) -> JSONResponse:
    params = request.path_params
    submission = sandbox_of(request).team_data.submission(
        params["team_id"], params["collection_id"], params["submission_id"]
    )
    return JSONResponse(submission.detail_json())


async def submission_file(request: Request) -> Response:
    parse_query(SubmissionFileQuery, request.query_params)
    params = request.path_params
    blob = sandbox_of(request).team_data.submission_file(
        params["team_id"], params["collection_id"], params["submission_id"], params["file_id"]
    )
    return _binary(request, blob)


async def recording(request: Request) -> Response:
    params = request.path_params
    blob = sandbox_of(request).team_data.recording(params["team_id"], params["collection_id"], params["submission_id"])
    return _binary(request, blob)


def _binary(request: Request, blob: Blob) -> Response:
    headers = {"Accept-Ranges": "bytes", "Content-Type": blob.content_type}
    if request.method == "HEAD":
        return Response(status_code=200, headers={**headers, "Content-Length": str(blob.size)})
    byte_range = parse_range(request.headers.get("range"), blob.size)
    if byte_range is None:
        first, last, status = 0, blob.size - 1, 200
    else:
        first, last, status = byte_range.first, byte_range.last, 206
        headers["Content-Range"] = byte_range.content_range
    headers["Content-Length"] = str(last - first + 1)
    return StreamingResponse(stream_bytes(blob.blob_id, first, last), status_code=status, headers=headers)


_COLLECTION = "/v1/collections/{team_id}/collection/{collection_id}"

routes = [
    Route("/v1/collections/{team_id}", list_collections, methods=["GET"]),
    Route(_COLLECTION, list_submissions, methods=["GET"]),
    Route(f"{_COLLECTION}/submission/{{submission_id}}", get_submission, methods=["GET"]),
    Route(f"{_COLLECTION}/submission/{{submission_id}}/file/{{file_id}}", submission_file, methods=["GET"]),
    Route(f"{_COLLECTION}/recording/{{submission_id}}", recording, methods=["GET"]),
]
