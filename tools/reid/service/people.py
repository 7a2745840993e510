"""Extension: the gallery's routes, ``/v1/people`` and ``/v1/audit``, one gallery per tenant.

Enrol a person once (``POST /v1/people``, multipart: ``name``, ``consent``, photos as ``file``
parts), then name them in a request's ``persons`` without a ``url`` or a file. Every answer is
the usual envelope; bad input is a 0001 saying why (each refused photo with its reason) and
nothing is stored. A key sees, searches and removes only its own tenant's people; another
tenant's person is answered as a name nobody enrolled.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile

from tools.reid.facade import ReIDTool
from tools.reid.gallery import AuditEntry, EnrolledPerson, Enrolment, Removal, TenantGallery
from tools.reid.remote.errors import BadRequest
from tools.reid.remote.wire import Envelope
from tools.reid.service.auth import Tenant, authenticated_tenant
from tools.reid.service.intake import MAX_PHOTOS_PER_PERSON

Name = Annotated[str, Path(min_length=1, max_length=80, description="The name the person was enrolled under.")]
TRUE = frozenset({"1", "true", "yes", "on"})

router = APIRouter(prefix="/v1", dependencies=[Depends(authenticated_tenant)], tags=["gallery (extension)"])

ENROL_BODY: dict[str, Any] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["name", "file"],
                    "properties": {
                        "name": {"type": "string", "description": "The name searches will use."},
                        "consent": {
                            "type": "string",
                            "description": "How the person agreed to be enrolled; required for a new person.",
                        },
                        "more": {"type": "boolean", "description": "Add the photos to someone enrolled already."},
                        "accept_far": {
                            "type": "boolean",
                            "description": "Keep a photo that looks unlike the person's others: it is them.",
                        },
                        "file": {
                            "type": "array",
                            "items": {"type": "string", "format": "binary"},
                            "description": f"1 to {MAX_PHOTOS_PER_PERSON} photos of the person's face, alone.",
                        },
                    },
                }
            }
        },
    }
}


def _tool(request: Request) -> ReIDTool:
    return request.app.state.runner.tool


Tool = Annotated[ReIDTool, Depends(_tool)]


def _gallery(tool: ReIDTool, tenant: str) -> TenantGallery:
    return tool.people(tenant)


@router.get("/people", response_model=Envelope[list[EnrolledPerson]], summary="Extension: who is enrolled")
async def list_people(tool: Tool, tenant: Tenant) -> Envelope[Any]:
    return Envelope.ok(await run_in_threadpool(lambda: _gallery(tool, tenant).people()))


@router.post(
    "/people",
    response_model=Envelope[Enrolment],
    openapi_extra=ENROL_BODY,
    summary="Extension: enrol a person from photos (or add photos with more=true)",
)
async def enrol(http: Request, tool: Tool, tenant: Tenant) -> Envelope[Any]:
    """Each photo is checked: one face, at least 64 pixels wide, sharp, turned at most 45°, not a
    duplicate, not far from the person's other photos (unless ``accept_far``). One refused photo
    refuses the enrolment (0001, every photo's reason); only embeddings and 64-pixel thumbnails
    are kept, never the photos. The answer says what the photos cover and what to add."""
    max_bytes = tool.settings.max_photo_bytes
    async with http.form(max_files=MAX_PHOTOS_PER_PERSON, max_fields=4) as form:
        name = str(form.get("name") or "").strip()
        if not name:
            raise BadRequest("name is required: the name searches will use for this person.")
        photos = [
            (part.filename or f"photo {n}", await _read(part, max_bytes))
            for n, part in enumerate(form.getlist("file"), start=1)
            if isinstance(part, UploadFile)
        ]
        consent, more, far = str(form.get("consent") or ""), _flag(form.get("more")), _flag(form.get("accept_far"))
    enrolment = await run_in_threadpool(
        lambda: _gallery(tool, tenant).enrol(
            name,
            photos,
            by=tenant,
            consent=consent,
            descriptor=tool.settings.descriptor,
            max_pixels=tool.settings.max_pixels,
            more=more,
            accept_far=far,
            surface="service",
        )
    )
    return Envelope.ok(enrolment)


@router.get("/people/{name}", response_model=Envelope[EnrolledPerson], summary="Extension: one enrolled person")
async def show(name: Name, tool: Tool, tenant: Tenant) -> Envelope[Any]:
    return Envelope.ok(await run_in_threadpool(lambda: _gallery(tool, tenant).show(name)))


@router.get(
    "/people/{name}/thumbnails/{number}",
    response_class=Response,
    responses={200: {"content": {"image/jpeg": {}}, "description": "A 64-pixel face thumbnail."}},
    summary="Extension: a face thumbnail of an enrolled person, for review",
)
async def thumbnail(name: Name, number: Annotated[int, Path(ge=1)], tool: Tool, tenant: Tenant) -> Response:
    thumbnails = await run_in_threadpool(lambda: _gallery(tool, tenant).thumbnails(name))
    if number > len(thumbnails):
        raise BadRequest(f"{name} has {len(thumbnails)} thumbnails; ask for 1 to {len(thumbnails)}.")
    return Response(thumbnails[number - 1], media_type="image/jpeg")


@router.delete(
    "/people/{name}",
    response_model=Envelope[Removal],
    summary="Extension: forget a person (embeddings, thumbnails, and the stored results that showed them)",
)
async def remove(name: Name, tool: Tool, tenant: Tenant) -> Envelope[Any]:
    """Answers what was deleted. A search already running finishes with what it had loaded and
    its answer leaves the person out, saying so."""
    return Envelope.ok(
        await run_in_threadpool(lambda: _gallery(tool, tenant).remove(name, by=tenant, surface="service"))
    )


@router.get("/audit", response_model=Envelope[list[AuditEntry]], summary="Extension: the tenant's audit log")
async def audit(
    tool: Tool,
    tenant: Tenant,
    days: Annotated[float, Query(gt=0, le=3650, description="Entries of the last this many days.")] = 30.0,
    limit: Annotated[int, Query(ge=1, le=10_000, description="At most this many, newest first.")] = 200,
) -> Envelope[Any]:
    """Who searched for whom (and enrolled or removed whom), on which surface, in which media (by
    SHA-256), when. Kept for ``REID_AUDIT_RETENTION_DAYS``."""
    return Envelope.ok(await run_in_threadpool(lambda: _gallery(tool, tenant).audit_log(days * 86400.0, limit)))


async def _read(part: UploadFile, max_bytes: int) -> bytes:
    data = await part.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadRequest(f"file: {part.filename!r} is over {max_bytes // (1024 * 1024)} MiB; send a smaller photo.")
    return data


def _flag(value: object) -> bool:
    return isinstance(value, str) and value.strip().lower() in TRUE
