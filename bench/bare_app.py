"""The framework's floor for bench/api.py: one bare FastAPI route, no authentication and no
database, served by the same server the vault uses (uvicorn) with the same workers."""

from __future__ import annotations

from fastapi import FastAPI

app = FastAPI()


@app.get("/bare")
def bare() -> dict[str, str]:
    return {"status": "ok"}
