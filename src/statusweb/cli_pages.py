"""`statusweb-admin organization|page|member ...`: setting up organizations, their pages
and their people from a terminal (the admin does the same in the browser).

    statusweb-admin organization add production.ini acme --name "Acme Inc."
    statusweb-admin page add production.ini acme-internal --organization acme --private
    statusweb-admin page approve-domain production.ini acme
    statusweb-admin member add production.ini acme alice --role owner
    statusweb-admin organization list production.ini
"""

from __future__ import annotations

import argparse
from typing import Any, Callable

from sqlalchemy import select

from statuscore import PageSpec, utcnow
from statuscore.errors import FieldError
from statusweb.domain_checks import approve, set_domain

Session = Callable[[str], Any]  # config uri -> a context manager giving a session in a transaction


def add_commands(commands: Any, session: Session) -> None:
    organization = commands.add_parser("organization", help="add and list organizations")
    actions = organization.add_subparsers(dest="action", required=True)
    add = actions.add_parser("add", help="add an organization (its slug: lower-case letters, digits, dashes)")
    add.add_argument("config")
    add.add_argument("slug")
    add.add_argument("--name", default="")
    add.set_defaults(handler=lambda args: _add_organization(args, session))
    listing = actions.add_parser("list", help="organizations with their pages and members")
    listing.add_argument("config")
    listing.set_defaults(handler=lambda args: _list(args, session))
    page = commands.add_parser("page", help="add a status page to an organization")
    page_actions = page.add_subparsers(dest="action", required=True)
    add_page = page_actions.add_parser("add", help="add a page, served at /pages/{slug}/")
    add_page.add_argument("config")
    add_page.add_argument("slug")
    add_page.add_argument("--organization", required=True, help="its slug (it must exist)")
    add_page.add_argument("--name", default="")
    add_page.add_argument("--private", action="store_true", help="only the organization's members see it")
    add_page.add_argument("--domain", default="", help="a host name that serves it at /")
    add_page.set_defaults(handler=lambda args: _add_page(args, session))
    approve = page_actions.add_parser("approve-domain", help="let a page's domain serve without its DNS proof")
    approve.add_argument("config")
    approve.add_argument("slug")
    approve.set_defaults(handler=lambda args: _approve_domain(args, session))
    member = commands.add_parser("member", help="put a user into an organization")
    member_actions = member.add_subparsers(dest="action", required=True)
    add_member = member_actions.add_parser("add", help="give a user a role in an organization")
    add_member.add_argument("config")
    add_member.add_argument("organization")
    add_member.add_argument("user")
    add_member.add_argument("--role", choices=["owner", "admin", "member"], default="member")
    add_member.set_defaults(handler=lambda args: _add_member(args, session))


def _spec(**values: Any) -> PageSpec:
    try:
        return PageSpec(**values)
    except FieldError as exc:
        raise ValueError(f"--{exc.key.replace('_', '-')}: {exc.message}") from None


def _organization(db: Any, slug: str) -> Any:
    from statusweb.models import Organization

    found = db.scalar(select(Organization).where(Organization.slug == slug))
    if found is None:
        raise ValueError(f"no organization {slug!r} (statusweb-admin organization add CONFIG {slug})")
    return found


def _add_organization(args: argparse.Namespace, session: Session) -> int:
    from statusweb.models import Organization
    from statusweb.organizations import organization_named

    _spec(slug="x", organization=args.slug)  # the same rules as monitors.toml
    with session(args.config) as db:
        if db.scalar(select(Organization.id).where(Organization.slug == args.slug)) is not None:
            raise ValueError(f"organization {args.slug!r} exists already")
        organization_named(db, args.slug, utcnow(), args.name)
    print(f"added organization {args.slug!r}")
    return 0


def _add_page(args: argparse.Namespace, session: Session) -> int:
    from statusweb.models import Page

    spec = _spec(slug=args.slug, name=args.name, private=args.private, domain=args.domain.lower(),
                 organization=args.organization)
    now = utcnow()
    with session(args.config) as db:
        organization = _organization(db, spec.organization)
        if db.scalar(select(Page.id).where(Page.slug == spec.slug)) is not None:
            raise ValueError(f"page {spec.slug!r} exists already")
        if spec.domain and db.scalar(select(Page.id).where(Page.domain == spec.domain)) is not None:
            raise ValueError(f"another page has the domain {spec.domain!r}")
        page = Page(slug=spec.slug, name=spec.name or spec.slug.replace("-", " ").title(), private=spec.private,
                    organization_id=organization.id, created_at=now, updated_at=now)
        set_domain(page, spec.domain, approved_by="statusweb-admin page add", now=now)  # the operator's own word
        db.add(page)
    print(f"added {'private' if spec.private else 'public'} page {spec.slug!r}: /pages/{spec.slug}/")
    return 0


def _approve_domain(args: argparse.Namespace, session: Session) -> int:
    from statusweb.models import Page

    with session(args.config) as db:
        page = db.scalar(select(Page).where(Page.slug == args.slug))
        if page is None or not page.domain:
            raise ValueError(f"no page {args.slug!r} with a domain (statusweb-admin organization list CONFIG)")
        if page.domain_verified_at is not None:
            print(f"{page.domain} already serves page {page.slug!r} ({page.domain_verified_by})")
            return 0
        approve(page, "statusweb-admin page approve-domain", utcnow())
        page.updated_at = utcnow()
    print(f"approved: {page.domain} serves page {args.slug!r} within seconds")
    return 0


def _add_member(args: argparse.Namespace, session: Session) -> int:
    from statusweb.models import User
    from statusweb.organizations import join

    with session(args.config) as db:
        organization = _organization(db, args.organization)
        user = db.scalar(select(User).where(User.name == args.user))
        if user is None:
            raise ValueError(f"no user {args.user!r} (statusweb-admin create-user adds one)")
        join(db, user, organization, args.role, utcnow())
    print(f"{args.user!r} is {args.role} of {args.organization!r}")
    return 0


def _list(args: argparse.Namespace, session: Session) -> int:
    from statusweb.models import Membership, Organization, Page, User

    with session(args.config) as db:
        for organization in db.scalars(select(Organization).order_by(Organization.slug)):
            print(f"{organization.slug}  {organization.name}")
            for page in db.scalars(select(Page).where(Page.organization_id == organization.id).order_by(Page.slug)):
                where = f" at {page.domain}" if page.domain else ""
                where += " (not serving until proven: page approve-domain)" if page.domain and \
                    page.domain_verified_at is None else ""
                print(f"  page {page.slug}  {'private' if page.private else 'public'}{where}")
            for name, role in db.execute(select(User.name, Membership.role).join(Membership)
                                         .where(Membership.organization_id == organization.id).order_by(User.name)):
                print(f"  {role:<6} {name}")
    return 0
