"""Which rows an owner may see, as a SQL condition (see ``server.core.keys.Owner``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import ColumnElement, false, or_, true
from sqlalchemy.orm import InstrumentedAttribute

from server.core.keys import Owner


def visible_to(column: InstrumentedAttribute[Any], owner: Owner) -> ColumnElement[bool]:
    """The rows whose ``column`` (the creating key) ``owner`` may see."""
    if owner.sees_all:
        return true()
    conditions: list[ColumnElement[bool]] = []
    if owner.key is not None:
        conditions.append(column == owner.key)
    if owner.sees_unowned:
        conditions.append(column.is_(None))
    return or_(*conditions) if conditions else false()
