"""Puts the console on the app: its pages and its static files."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI
from starlette.staticfiles import StaticFiles

from services.api.console import contract, operations, partners, radar, sign_in, tasks, week
from services.api.console.pages import HERE, STATIC_PATH
from services.api.console.routing import install_failed_pages

PAGES: tuple[APIRouter, ...] = (
    sign_in.router,
    radar.router,
    week.router,
    tasks.router,
    contract.router,
    partners.router,
    operations.router,
)


def mount_console(app: FastAPI) -> None:
    install_failed_pages(app)
    for page in PAGES:
        app.include_router(page)
    app.mount(STATIC_PATH, StaticFiles(directory=HERE / "static"), name="console-static")
