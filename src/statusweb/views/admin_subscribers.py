"""Subscribers in the admin: who gets updates, what waits for them, what failed to
reach them (and why), and a button to remove one."""

from __future__ import annotations

from typing import Any

from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import func, select

from statusweb.models import Subscriber, SubscriberMessage
from statusweb.pages.queries import service_names
from statusweb.services.params import record_id


@view_config(
    route_name="admin_subscribers",
    renderer="statusweb:templates/admin/subscribers.pt",
    permission="view",
    request_method="GET",
)
def subscribers(request: Request) -> dict[str, Any]:
    session = request.dbsession
    waiting = dict(
        session.execute(
            select(SubscriberMessage.subscriber_id, func.count())
            .where(SubscriberMessage.sent_at.is_(None))
            .group_by(SubscriberMessage.subscriber_id)
        ).all()
    )
    failures = {
        row.subscriber_id: row
        for row in session.scalars(
            select(SubscriberMessage).where(SubscriberMessage.sent_at.is_(None), SubscriberMessage.attempts > 0)
        )
    }
    rows = session.scalars(select(Subscriber).order_by(Subscriber.created_at.desc()).limit(1000)).all()
    return {
        "title": "Subscribers",
        "subscribers": rows,
        "waiting": waiting,
        "failures": failures,
        "names": service_names(session),
    }


@view_config(route_name="admin_subscriber_remove", permission="edit", request_method="POST")
def remove(request: Request) -> HTTPSeeOther:
    found = request.dbsession.get(Subscriber, record_id(request.matchdict["id"], "subscriber"))
    if found is None:
        raise HTTPNotFound("no such subscriber")
    request.dbsession.delete(found)
    return HTTPSeeOther(request.route_url("admin_subscribers"))
