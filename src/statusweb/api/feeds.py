"""Atom and RSS feeds of incidents (feedgen): one entry per incident, updated whenever
the incident gets an update, with every update in the entry's content."""

from __future__ import annotations

from datetime import timedelta
from html import escape

from feedgen.feed import FeedGenerator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from statuscore import utcnow
from statusweb.pages.identity import page_identity
from statusweb.models import Incident
from statusweb.pages.cache import cached
from statusweb.routes import READ_METHODS

FEED_DAYS = 90
FEED_LIMIT = 50


def build_feed(request: Request) -> FeedGenerator:
    identity = page_identity(request)
    incidents = request.dbsession.scalars(
        select(Incident).where(Incident.deleted.is_(False),
                               Incident.created_at >= utcnow() - timedelta(days=FEED_DAYS))
        .options(selectinload(Incident.updates)).order_by(Incident.updated_at.desc()).limit(FEED_LIMIT)).all()
    feed = FeedGenerator()
    feed.id(request.route_url("history"))
    feed.title(f"{identity.name}: incident history")
    feed.subtitle(f"Incidents of the last {FEED_DAYS} days")
    feed.description(f"Incidents of the last {FEED_DAYS} days")
    feed.link(href=request.route_url("history"), rel="alternate")
    feed.link(href=request.route_url(request.matched_route.name), rel="self")  # never the query sent
    feed.language("en")
    feed.updated(max((i.updated_at for i in incidents), default=utcnow()))
    for incident in incidents:
        entry = feed.add_entry(order="append")
        link = request.route_url("incident", id=incident.id)
        entry.id(link)
        entry.guid(link, permalink=True)
        entry.title(f"{incident.title} ({incident.status})")
        entry.link(href=link)
        entry.published(incident.created_at)
        entry.updated(incident.updated_at)
        content = "".join(
            f"<p><strong>{escape(update.status.title())}</strong> "
            f"({update.created_at:%b %d, %H:%M} UTC): {escape(update.body)}</p>"
            for update in incident.updates)
        if incident.root_cause:
            content += f"<p><strong>Root cause:</strong> {escape(incident.root_cause)}</p>"
        entry.content(content, type="html")
        entry.description(content)
    return feed


@view_config(route_name="feed_atom", request_method=READ_METHODS, decorator=cached())
def atom(request: Request) -> Response:
    return Response(build_feed(request).atom_str(pretty=True), content_type="application/atom+xml",
                    charset="utf-8")


@view_config(route_name="feed_rss", request_method=READ_METHODS, decorator=cached())
def rss(request: Request) -> Response:
    return Response(build_feed(request).rss_str(pretty=True), content_type="application/rss+xml",
                    charset="utf-8")
