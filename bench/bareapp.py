"""The baseline of ``/healthz``: a bare FastAPI app with one async route, nothing else, served by
uvicorn with the API's own server settings (``service.cli.connections.server_options``: protocol,
event loop, limits). Run as its own process by ``bench/api.py``:

    python -m bench.bareapp PORT MAX_CONNECTIONS HEADER_TIMEOUT
"""

from __future__ import annotations

import sys

import uvicorn
from fastapi import FastAPI

from service.cli.connections import server_options


def bare_app() -> FastAPI:
    app = FastAPI()

    @app.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def main() -> int:
    port, max_connections, header_timeout = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3])
    options = server_options(max_connections=max_connections, header_timeout=header_timeout)
    uvicorn.run(bare_app(), host="127.0.0.1", port=port, **options)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
