"""Groups of services on a status page (`group = "Texts"` on monitors; a [[group]] table
adds a description and may start the group closed): the group's worst status is its own,
and a closed group opens by itself while anything in it is not operational, so trouble
is never folded away."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.orm import Session

from statusweb.models import ServiceGroup

if TYPE_CHECKING:
    from statusweb.pages.page_model import ServiceRow

QUIET = frozenset({"operational", "unknown"})  # a closed group stays closed in these


@dataclass
class GroupView:
    """One group as the page shows it; the services without a group are one with no name."""

    name: str
    rows: list[ServiceRow]
    status: str  # the worst of its services'
    label: str
    description: str = ""
    collapsed: bool = False

    @property
    def open(self) -> bool:
        return not self.collapsed or self.status not in QUIET


def group_views(
    session: Session, rows: Iterable[ServiceRow], worst: Callable[[list[str]], str], labels: Mapping[str, str]
) -> list[GroupView]:
    """The rows by group, in the order their first service comes, with what the
    [[group]] tables say of each (one query)."""
    described = {group.name: group for group in session.scalars(select(ServiceGroup))}
    by_name: dict[str, list[ServiceRow]] = {}
    for row in rows:
        by_name.setdefault(row.group, []).append(row)
    views = []
    for name, members in by_name.items():
        status = worst([row.status for row in members])
        spec = described.get(name) if name else None
        views.append(
            GroupView(
                name,
                members,
                status,
                labels[status],
                description=spec.description if spec else "",
                collapsed=bool(spec and spec.collapsed),
            )
        )
    return views
