"""Database access shared by the API and the worker."""

from shared.db.base import Base
from shared.db.engine import Database

__all__ = ["Base", "Database"]
