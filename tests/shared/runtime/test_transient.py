from __future__ import annotations

import asyncpg
import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from shared.runtime.transient import is_transient


class _Body(BaseModel):
    n: int


def _validation_error() -> ValidationError:
    try:
        _Body.model_validate({"n": "x"})
    except ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


def _wrapped(orig: BaseException, *, invalidated: bool = False) -> DBAPIError:
    return DBAPIError("SELECT 1", {}, orig, connection_invalidated=invalidated)


def _caused_by(cause: BaseException) -> RuntimeError:
    error = RuntimeError("driver error")
    error.__cause__ = cause
    return error


@pytest.mark.parametrize(
    "error",
    [
        OperationalError("SELECT 1", {}, Exception("database is locked")),
        _wrapped(Exception("server closed the connection"), invalidated=True),
        _wrapped(_caused_by(asyncpg.exceptions.DeadlockDetectedError("deadlock detected"))),
        _wrapped(_caused_by(asyncpg.exceptions.CannotConnectNowError("starting up"))),
        asyncpg.exceptions.ConnectionDoesNotExistError("connection was closed"),
        ConnectionRefusedError(111, "Connection refused"),
        OSError("network unreachable"),
        TimeoutError(),
    ],
)
def test_unreachable_or_locked_databases_are_transient(error: BaseException) -> None:
    assert is_transient(error)


@pytest.mark.parametrize(
    "error",
    [
        ValueError("bad date"),
        KeyError("data"),
        _validation_error(),
        IntegrityError("INSERT", {}, Exception("UNIQUE constraint failed")),
        ProgrammingError("SELECT", {}, Exception("syntax error")),
        _wrapped(_caused_by(asyncpg.exceptions.UniqueViolationError("duplicate key"))),
    ],
)
def test_errors_an_event_causes_are_poison(error: BaseException) -> None:
    assert not is_transient(error)


def _engine_error_during_cleanup() -> None:
    try:
        raise OSError("flaky")
    except OSError:
        raise ValueError("the engine's own error")  # noqa: B904


def test_a_poison_error_raised_while_handling_a_transient_one_stays_poison() -> None:
    with pytest.raises(ValueError, match="own error") as raised:
        _engine_error_during_cleanup()
    assert isinstance(raised.value.__context__, OSError)
    assert not is_transient(raised.value)
