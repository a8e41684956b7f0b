"""Postmortems: what a resolved incident taught, in Markdown, published once.

Publishing appends an update of status `postmortem` (Statuspage's word for it) that
carries the text, so the subscribers' fan-out sends it exactly once, the feeds and
/api/v2 show it, and a correction later changes the text in place without telling
anyone again. The Markdown is rendered by markdown-it-py with raw HTML off (a `<script>`
is text) and its link check on (no `javascript:` or `data:` links), so what an editor
writes can never run on the public page.
"""

from __future__ import annotations

from datetime import datetime
from functools import lru_cache

from markdown_it import MarkdownIt

from statuscore import utcnow
from statusweb.models import POSTMORTEM, Incident, IncidentUpdate

MAX_CHARACTERS = 50_000


class NotResolved(ValueError):
    """A postmortem comes after the incident is resolved."""


def publish(incident: Incident, text: str, *, author: str, now: datetime | None = None) -> bool:
    """Publish (or correct) the postmortem; True when this published it, which is when
    the subscribers are told: once."""
    if incident.status != "resolved":
        raise NotResolved("resolve the incident first: a postmortem tells what happened")
    now = now or utcnow()
    incident.postmortem = text
    incident.updated_at = now
    published = _published_update(incident)
    if published is not None:
        published.body = text  # a correction: the same entry, nobody told again
        return False
    incident.postmortem_published_at = now
    incident.updates.append(IncidentUpdate(status=POSTMORTEM, body=text, created_at=now, author=author))
    return True


def _published_update(incident: Incident) -> IncidentUpdate | None:
    return next((update for update in incident.updates if update.status == POSTMORTEM), None)


@lru_cache(maxsize=256)
def render(text: str) -> str:
    """The Markdown as HTML safe to put in the page: CommonMark with tables and
    strikethrough, raw HTML shown as text, unsafe links refused, no images; links
    marked nofollow."""
    html = _renderer().render(text)
    return html.replace("<a href=", '<a rel="nofollow noopener" href=')


@lru_cache(maxsize=1)
def _renderer() -> MarkdownIt:
    # images off: a picture from another host would tell it who reads the page
    return (
        MarkdownIt("commonmark", {"html": False, "typographer": False})
        .enable(["table", "strikethrough"])
        .disable("image")
    )
