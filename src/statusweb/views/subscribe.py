""" "Get updates": the public subscription form, the confirmation link and one-click
unsubscribe. The answer never says whether an address was already subscribed (no
address harvesting); subscribing is rate-limited per client address and per address."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.view import view_config
from sqlalchemy import select

from statuscore import utcnow
from statusweb.edge.page_mount import page_of
from statusweb.edge.rate_limit import SlidingLimit
from statusweb.models import Subscriber
from statusweb.pages.identity import page_identity
from statusweb.pages.queries import visible_services
from statusweb.services.forms import Form
from statusweb.services.params import optional_id
from statusweb.services.subscriptions import SubscriptionError, check_email, check_webhook_url, subscribe

TEMPLATE = "statusweb:templates/subscribe.pt"
PER_CLIENT_PER_HOUR = 10
PER_ADDRESS_PER_DAY = 3
PER_DOMAIN_PER_HOUR = 30  # confirmation mails to one domain: this server is nobody's mail cannon
TOKEN = re.compile(r"[A-Za-z0-9_-]{20,64}")  # what secrets.token_urlsafe makes


@dataclass(frozen=True)
class SubscribeLimits:
    clients: SlidingLimit  # attempts per client address, refused ones included
    addresses: SlidingLimit  # subscriptions per address (its +tag variants are one address)
    domains: SlidingLimit  # confirmation mails per mail domain


def _limits(request: Request) -> SubscribeLimits:
    registry = request.registry
    return SubscribeLimits(
        registry.setdefault("statusweb.subscribe_clients", SlidingLimit(PER_CLIENT_PER_HOUR, 3600.0)),
        registry.setdefault("statusweb.subscribe_addresses", SlidingLimit(PER_ADDRESS_PER_DAY, 86400.0)),
        registry.setdefault("statusweb.subscribe_domains", SlidingLimit(PER_DOMAIN_PER_HOUR, 3600.0)),
    )


def limit_key(kind: str, address: str) -> tuple[str, str]:
    """(the address as the limits count it, its mail domain): victim+1@ and Victim+2@
    are victim@; a webhook is its whole URL and has no domain cap."""
    if kind != "email":
        return address, ""
    local, _, domain = address.lower().rpartition("@")
    return f"{local.split('+', 1)[0]}@{domain}", domain


def _too_many(request: Request, form: Form) -> dict[str, Any]:
    form.errors["address"] = "Too many requests: try again later."
    request.response.status_int = 429
    return _page(request, form)


def _page(request: Request, form: Form, done: str = "") -> dict[str, Any]:
    return {
        "title": "Get updates",
        "form": form,
        "done": done,
        "services": visible_services(request.dbsession, public_only=True),
    }


@view_config(route_name="subscribe", renderer=TEMPLATE, request_method=("GET", "HEAD"))
def subscribe_form(request: Request) -> dict[str, Any]:
    chosen = request.GET.get("service", "")
    return _page(request, Form(values={"kind": "email", "service": [chosen] if chosen else []}))


@view_config(route_name="subscribe", renderer=TEMPLATE, request_method="POST")
def subscribe_post(request: Request) -> dict[str, Any]:
    form = Form()
    kind = form.choice(request.POST, "kind", ("email", "webhook"))
    raw = form.text(request.POST, "address", max_length=500)
    services = {s.id for s in visible_services(request.dbsession, public_only=True)}
    chosen = [n for n in (optional_id(v) for v in request.POST.getall("service")) if n is not None]
    form.values["service"] = [str(n) for n in chosen]
    if any(n not in services for n in chosen):
        form.errors["service"] = "Unknown service."
    limits = _limits(request)
    client = request.client_addr or "?"
    if limits.clients.retry_after(client):
        return _too_many(request, form)
    address = ""
    if form.ok:
        try:
            address = (
                check_email(raw)
                if kind == "email"
                else check_webhook_url(raw, allow_private=request.settings.private_webhooks)
            )
        except SubscriptionError as exc:
            form.errors["address"] = str(exc)
            limits.clients.note(client)  # a refused address counts: no free oracle of "resolves" or "private"
    if not form.ok:
        request.response.status_int = 400
        return _page(request, form)
    key, domain = limit_key(kind, address)
    if limits.addresses.retry_after(key) or (domain and limits.domains.retry_after(domain)):
        return _too_many(request, form)
    limits.clients.note(client)
    limits.addresses.note(key)
    if domain:
        limits.domains.note(domain)
    identity = page_identity(request)
    subscribe(
        request.dbsession,
        kind,
        address,
        chosen,
        now=utcnow(),
        page_url=identity.url,
        page_name=identity.name,
        page_id=page_of(request).row_id,
    )
    if kind == "email":
        return _page(
            request,
            Form(),
            done="Check your inbox: we sent a link to confirm. Until you click it, we send nothing else.",
        )
    return _page(
        request,
        Form(),
        done="We sent that URL a verification request: it holds a challenge and the "
        "signing secret. Answer it with the challenge in the body, and updates "
        "start, each signed with that secret.",
    )


def _by_token(request: Request, column: Any) -> Subscriber:
    token = request.matchdict["token"]
    found = None
    if TOKEN.fullmatch(token):
        found = request.dbsession.scalar(select(Subscriber).where(column == token))
    if found is None:
        raise HTTPNotFound("no such subscription (the link may be old: it was unsubscribed)")
    return found


@view_config(
    route_name="subscribe_confirm", renderer="statusweb:templates/subscribe_result.pt", request_method=("GET", "HEAD")
)
def confirm_page(request: Request) -> dict[str, Any]:
    """A page with one button: mail scanners that open every link must not confirm."""
    subscriber = _by_token(request, Subscriber.confirm_token)
    return {
        "title": "Subscribe",
        "text": f"Send updates to {subscriber.address}?",
        "button": "Confirm",
        "danger": False,
    }


@view_config(
    route_name="subscribe_confirm",
    renderer="statusweb:templates/subscribe_result.pt",
    request_method="POST",
    require_csrf=False,
)
def confirm(request: Request) -> dict[str, Any]:
    """The button (no CSRF token: the unguessable token in the URL is the permission)."""
    subscriber = _by_token(request, Subscriber.confirm_token)
    if subscriber.confirmed_at is None:
        subscriber.confirmed_at = utcnow()
    return {
        "title": "Subscribed",
        "text": f"{subscriber.address} now gets updates. Every message has a link to stop them.",
    }


@view_config(
    route_name="subscribe_unsubscribe",
    renderer="statusweb:templates/subscribe_result.pt",
    request_method=("GET", "HEAD"),
)
def unsubscribe_page(request: Request) -> dict[str, Any]:
    """A page with one button: link scanners that open every URL must not unsubscribe."""
    subscriber = _by_token(request, Subscriber.unsubscribe_token)
    return {
        "title": "Unsubscribe",
        "text": f"Stop updates to {subscriber.address}?",
        "button": "Unsubscribe",
        "danger": True,
    }


@view_config(
    route_name="subscribe_unsubscribe",
    renderer="statusweb:templates/subscribe_result.pt",
    request_method="POST",
    require_csrf=False,
)
def unsubscribe(request: Request) -> dict[str, Any]:
    """The button, and RFC 8058's one-click POST from mail clients (no CSRF token: the
    unguessable token in the URL is the permission)."""
    subscriber = _by_token(request, Subscriber.unsubscribe_token)
    request.dbsession.delete(subscriber)
    return {"title": "Unsubscribed", "text": "Done: no more updates go to this address."}
