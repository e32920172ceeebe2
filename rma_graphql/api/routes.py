"""The plain HTTP routes beside /graphql: health, readiness, the SDL, the return slip, and
the root's redirect. They need no token (CONTRACT §8); what they read comes from the app's
state, which its lifespan fills."""

import asyncio

from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from rma_graphql.service import slips
from rma_graphql.service.unit_of_work import UnitOfWork

NOT_FOUND = {"statusCode": 404, "message": "Not found"}


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def readyz(request: Request) -> Response:
    uow: UnitOfWork = request.app.state.uow
    try:
        async with asyncio.timeout(2):
            await uow.ping()
    except Exception:  # any failure to reach the database means not ready
        return JSONResponse({"status": "unavailable"}, status_code=503)
    return JSONResponse({"status": "ok"})


async def home(request: Request) -> Response:
    return RedirectResponse("/graphql")


async def return_slip(request: Request) -> Response:
    rma_id = request.path_params["rma_id"]
    query = request.query_params
    accounts = request.app.state.accounts
    if not slips.link_is_valid(accounts, rma_id, query.get("expires", ""), query.get("signature", "")):
        return JSONResponse({"statusCode": 403, "message": "Invalid or expired link"}, status_code=403)
    pdf = await slips.slip(request.app.state.uow, rma_id)
    if pdf is None:
        return JSONResponse(NOT_FOUND, status_code=404)
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="return-slip-{rma_id}.pdf"'},
    )


def plain_routes(sdl: str, *, introspection: bool) -> list[Route]:
    """The routes; ``sdl`` is served at /schema.graphql when introspection is on."""

    async def schema_sdl(request: Request) -> Response:
        if not introspection:
            return JSONResponse(NOT_FOUND, status_code=404)
        return Response(sdl, media_type="text/plain; charset=utf-8")

    return [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/return-slips/{rma_id}.pdf", return_slip),
        Route("/schema.graphql", schema_sdl),
        Route("/", home),
    ]
