"""The baseline for figure a: a bare FastAPI endpoint that takes the same JSON body and
answers 202, served by uvicorn exactly like `renewals api` (one process, no access log).

`python -m bench.bare_app PORT`
"""

from __future__ import annotations

import sys
from typing import Any

import uvicorn
from fastapi import FastAPI
from fastapi.responses import JSONResponse

app = FastAPI()


@app.post("/v1/events", status_code=202)
async def accept(event: dict[str, Any]) -> JSONResponse:
    return JSONResponse({"id": event.get("id"), "duplicate": False}, status_code=202)


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_config=None, access_log=False)
