"""Atom and RSS feeds of incidents and maintenance (feedgen): one entry per incident or
window, updated whenever it gets an update, with every update in the entry's content."""

from __future__ import annotations

from datetime import datetime, timedelta
from html import escape
from typing import Any

from feedgen.feed import FeedGenerator
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from statuscore import utcnow
from statusweb.edge.page_cache import cached
from statusweb.models import POSTMORTEM, AffectedService, Incident, Maintenance
from statusweb.pages.identity import page_identity
from statusweb.pages.queries import visible_service
from statusweb.routes import READ_METHODS
from statusweb.services import postmortems
from statusweb.services.incidents import incident_json
from statusweb.services.maintenance import maintenance_json
from statusweb.services.params import slug

FEED_DAYS = 90
FEED_LIMIT = 50


def feed_service(raw: str | None) -> str:
    """`?service=<slug>`: one service's feed ("" = every service); a bad slug is a 404."""
    return "" if raw is None or raw == "" else slug(raw)


def build_feed(request: Request) -> FeedGenerator:
    identity = page_identity(request)
    only = feed_service(request.GET.get("service"))
    service = visible_service(request.dbsession, only) if only else None
    query = select(Incident).where(
        Incident.deleted.is_(False), Incident.created_at >= utcnow() - timedelta(days=FEED_DAYS)
    )
    if service is not None:
        query = query.where(
            Incident.id.in_(select(AffectedService.incident_id).where(AffectedService.service_id == service.id))
        )
    incidents = request.dbsession.scalars(
        query.options(selectinload(Incident.updates), selectinload(Incident.affected))
        .order_by(Incident.updated_at.desc())
        .limit(FEED_LIMIT)
    ).all()
    feed = FeedGenerator()
    feed.id(request.route_url("history", _query={"service": only} if only else {}))
    feed.title(f"{identity.name}: {service.name + ' ' if service else ''}incident history")
    feed.subtitle(f"Incidents of the last {FEED_DAYS} days")
    feed.description(f"Incidents of the last {FEED_DAYS} days")
    feed.link(href=request.route_url("history"), rel="alternate")
    feed.link(href=request.route_url(request.matched_route.name), rel="self")  # never the query sent
    feed.language("en")
    windows = [
        window
        for window in request.dbsession.scalars(
            select(Maintenance)
            .where(
                Maintenance.rrule == "",
                Maintenance.updated_at >= utcnow() - timedelta(days=FEED_DAYS),
                Maintenance.starts_at <= utcnow() + timedelta(days=7),
            )
            .options(selectinload(Maintenance.updates), selectinload(Maintenance.affected))
            .order_by(Maintenance.updated_at.desc())
            .limit(FEED_LIMIT)
        )
        if service is None or window.all_services or service.id in {a.service_id for a in window.affected}
    ]
    feed.updated(max([i.updated_at for i in incidents] + [w.updated_at for w in windows], default=utcnow()))
    for window in windows:
        _maintenance_entry(request, feed, window)
    for incident in incidents:
        ours = incident_json(incident, {}, public=True)
        content = _updates_html(ours["updates"])
        if ours["root_cause"]:
            content += f"<p><strong>Root cause:</strong> {escape(ours['root_cause'])}</p>"
        if ours["postmortem_published_at"]:
            content += f"<h2>Postmortem</h2>{postmortems.render(ours['postmortem'])}"
        _add_entry(
            feed,
            request.route_url("incident", id=incident.id),
            f"{incident.title} ({incident.status})",
            incident,
            content,
        )
    return feed


def _updates_html(updates: list[dict[str, Any]]) -> str:
    """Each update of an incident_json or maintenance_json, newest first, as the feed shows
    it (the postmortem's text follows them all, rendered)."""
    return "".join(
        f"<p><strong>{escape(update['status'].replace('_', ' ').title())}</strong> "
        f"({datetime.fromisoformat(update['created_at']):%b %d, %H:%M} UTC): "
        f"{'published below' if update['status'] == POSTMORTEM else escape(update['body'])}</p>"
        for update in updates
    )


def _add_entry(feed: FeedGenerator, link: str, title: str, item: Incident | Maintenance, content: str) -> None:
    entry = feed.add_entry(order="append")
    entry.id(link)
    entry.guid(link, permalink=True)
    entry.title(title)
    entry.link(href=link)
    entry.published(item.created_at)
    entry.updated(item.updated_at)
    entry.content(content, type="html")
    entry.description(content)


def _maintenance_entry(request: Request, feed: FeedGenerator, window: Maintenance) -> None:
    page = "status" if window.is_open else "history"  # open windows are on the front page
    ours = maintenance_json(window, {}, public=True)
    content = (
        f"<p>Scheduled {window.starts_at:%b %d, %H:%M} – {window.ends_at:%b %d, %H:%M} UTC.</p>"
        f"<p>{escape(ours['description'])}</p>" + _updates_html(ours["updates"])
    )
    _add_entry(
        feed,
        request.route_url(page, _anchor=f"maintenance-{window.id}"),
        f"Maintenance: {window.title} ({window.status.replace('_', ' ')})",
        window,
        content,
    )


@view_config(route_name="feed_atom", request_method=READ_METHODS, decorator=cached({"service": feed_service}))
def atom(request: Request) -> Response:
    return Response(build_feed(request).atom_str(pretty=True), content_type="application/atom+xml", charset="utf-8")


@view_config(route_name="feed_rss", request_method=READ_METHODS, decorator=cached({"service": feed_service}))
def rss(request: Request) -> Response:
    return Response(build_feed(request).rss_str(pretty=True), content_type="application/rss+xml", charset="utf-8")
