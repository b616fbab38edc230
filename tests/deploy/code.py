"""What the deployment files may name, read from the code: the `renewals` subcommands,
the settings' environment variables, and the HTTP routes of each process."""

from __future__ import annotations

from functools import cache
from pathlib import Path

import typer.main
from starlette.applications import Starlette
from starlette.routing import Match

from services.api.app import create_app
from services.cli import app as cli_app
from shared.config import Settings
from shared.runtime.ops_server import ROUTES as OPS_ROUTES

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
K8S = DEPLOY / "k8s"
IMAGE = "renewals"
"""The image deploy/Dockerfile builds (compose tags it `renewals:local`; kustomize sets
the registry and tag)."""

SECRET_WORDS = ("secret", "password", "token", "database_url")
"""A setting whose name holds one of these is a secret: it must come from the Secret."""


def subcommands() -> set[str]:
    """The commands `renewals` accepts first (`api`, `worker`, `apikey`, ...)."""
    group = typer.main.get_command(cli_app)
    assert isinstance(group, typer.main.TyperGroup)
    return set(group.commands)


def env_names() -> dict[str, str]:
    """`RENEWALS_<FIELD>` -> the field's name, for every setting."""
    return {f"RENEWALS_{name.upper()}": name for name in Settings.model_fields}


def is_secret(env_name: str) -> bool:
    return any(word in env_name.lower() for word in SECRET_WORDS)


@cache
def _app(command: str) -> Starlette | None:
    """The ASGI app a process started with `command` serves on its port."""
    settings = Settings(database_url="sqlite+aiosqlite:///:memory:")
    if command in {"api", "dev"}:
        return create_app(settings)
    return None


def serves(command: str, path: str) -> bool:
    """Whether the process started with `command` answers `GET path` (routing only, as
    the server would match it; nothing is called)."""
    if command in {"worker", "relay"}:
        return path in OPS_ROUTES
    app = _app(command)
    if app is None:
        return False
    scope = {"type": "http", "method": "GET", "path": path, "root_path": "", "headers": []}
    return any(route.matches(scope)[0] is Match.FULL for route in app.router.routes)
