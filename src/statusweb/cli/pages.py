"""`statusweb-admin organization|page|member|token ...`: setting up organizations, their
pages, their people and their API tokens from a terminal (the admin does the same in
the browser).

    statusweb-admin organization add production.ini acme --name "Acme Inc."
    statusweb-admin page add production.ini acme-internal --organization acme --private
    statusweb-admin page approve-domain production.ini acme
    statusweb-admin member add production.ini acme alice --role owner
    statusweb-admin member list production.ini acme
    statusweb-admin member remove production.ini acme bob
    statusweb-admin token create production.ini acme "deploy pipeline" --scope write
    statusweb-admin organization list production.ini
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from statuscore import FieldError, PageSpec, utcnow
from statusweb.services.domain_checks import approve, set_domain

Session = Callable[[str], Any]  # config uri -> a context manager giving a session in a transaction


CONFIG_HELP = "the app's ini file (development.ini, production.ini): its [app:main] names the database"


def add_commands(commands: Any, session: Session) -> None:
    def action(parent: Any, name: str, text: str, handler: Callable[..., int], *arguments: tuple[str, str]) -> Any:
        parser = parent.add_parser(name, help=text, description=text)
        parser.add_argument("config", help=CONFIG_HELP)
        for argument, argument_help in arguments:
            parser.add_argument(argument, help=argument_help)
        parser.set_defaults(handler=lambda args: handler(args, session))
        return parser

    organization = commands.add_parser("organization", help="add and list organizations")
    actions = organization.add_subparsers(dest="action", required=True)
    add = action(
        actions,
        "add",
        "add an organization",
        _add_organization,
        ("slug", "its slug: lower-case letters, digits and dashes"),
    )
    add.add_argument("--name", default="", help="what people read (default: from the slug)")
    action(actions, "list", "organizations with their pages and members", _list)
    page = commands.add_parser("page", help="add a status page to an organization, approve its domain")
    page_actions = page.add_subparsers(dest="action", required=True)
    add_page = action(
        page_actions,
        "add",
        "add a page, served at /pages/{slug}/",
        _add_page,
        ("slug", "its slug: lower-case letters, digits and dashes (its address)"),
    )
    add_page.add_argument("--organization", required=True, help="its organization's slug (it must exist)")
    add_page.add_argument("--name", default="", help="its title (default: from the slug)")
    add_page.add_argument("--private", action="store_true", help="only the organization's members see it")
    add_page.add_argument("--domain", default="", help="a host name that serves it at / (serves at once)")
    action(
        page_actions,
        "approve-domain",
        "let a page's domain serve without its DNS proof",
        _approve_domain,
        ("slug", "the page's slug"),
    )
    member = commands.add_parser("member", help="the people of an organization: add, list, remove")
    member_actions = member.add_subparsers(dest="action", required=True)
    add_member = action(
        member_actions,
        "add",
        "give a user a role in an organization",
        _add_member,
        ("organization", "the organization's slug"),
        ("user", "the user's name"),
    )
    add_member.add_argument(
        "--role",
        choices=["owner", "admin", "member"],
        default="member",
        help="owner: also people, pages, tokens; admin: incidents and maintenance; member: reads (default)",
    )
    action(
        member_actions,
        "list",
        "the members of an organization and their roles",
        _list_members,
        ("organization", "the organization's slug"),
    )
    action(
        member_actions,
        "remove",
        "take a user out of an organization (the account stays); ends their sessions",
        _remove_member,
        ("organization", "the organization's slug"),
        ("user", "the user's name"),
    )
    token = commands.add_parser("token", help="API tokens for programs (deploy pipelines, chat-ops)")
    token_actions = token.add_subparsers(dest="action", required=True)
    create = action(
        token_actions,
        "create",
        "make an API token; prints it once (only its hash is kept)",
        _create_token,
        ("organization", "the organization's slug"),
        ("name", "what uses it, e.g. 'deploy pipeline'"),
    )
    create.add_argument(
        "--scope",
        choices=["read", "write"],
        default="read",
        help="read: lists incidents and maintenance; write: also creates and updates them",
    )
    create.add_argument("--days", type=int, default=90, help="how long it is valid (1 to 366, default 90)")


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
    from statusweb.services.organizations import organization_named

    _spec(slug="x", organization=args.slug)  # the same rules as monitors.toml
    with session(args.config) as db:
        if db.scalar(select(Organization.id).where(Organization.slug == args.slug)) is not None:
            raise ValueError(f"organization {args.slug!r} exists already")
        organization_named(db, args.slug, utcnow(), args.name)
    print(f"added organization {args.slug!r}")
    return 0


def _add_page(args: argparse.Namespace, session: Session) -> int:
    from statusweb.models import Page

    spec = _spec(
        slug=args.slug, name=args.name, private=args.private, domain=args.domain.lower(), organization=args.organization
    )
    now = utcnow()
    with session(args.config) as db:
        organization = _organization(db, spec.organization)
        if db.scalar(select(Page.id).where(Page.slug == spec.slug)) is not None:
            raise ValueError(f"page {spec.slug!r} exists already")
        if spec.domain and db.scalar(select(Page.id).where(Page.domain == spec.domain)) is not None:
            raise ValueError(f"another page has the domain {spec.domain!r}")
        page = Page(
            slug=spec.slug,
            name=spec.name or spec.slug.replace("-", " ").title(),
            private=spec.private,
            organization_id=organization.id,
            created_at=now,
            updated_at=now,
        )
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


def _user(db: Any, name: str) -> Any:
    from statusweb.models import User

    found = db.scalar(select(User).where(User.name == name))
    if found is None:
        raise ValueError(f"no user {name!r} (statusweb-admin create-user adds one)")
    return found


def _membership(db: Any, organization: Any, user: Any) -> Any:
    from statusweb.models import Membership

    return db.scalar(
        select(Membership).where(Membership.organization_id == organization.id, Membership.user_id == user.id)
    )


def _add_member(args: argparse.Namespace, session: Session) -> int:
    from statusweb.services.organizations import join, would_lose_its_last_owner

    with session(args.config) as db:
        organization, user = _organization(db, args.organization), _user(db, args.user)
        current = _membership(db, organization, user)
        if current is not None and would_lose_its_last_owner(db, current, args.role):
            raise ValueError(
                f"{args.user!r} is the only owner of {args.organization!r}: make someone else owner "
                "first (member add ... --role owner)"
            )
        join(db, user, organization, args.role, utcnow())
    print(f"{args.user!r} is {args.role} of {args.organization!r}")
    return 0


def _list_members(args: argparse.Namespace, session: Session) -> int:
    from statusweb.models import MEMBER_ROLES, Membership, User

    with session(args.config) as db:
        organization = _organization(db, args.organization)
        rows = db.execute(
            select(Membership.role, User.name, User.disabled)
            .join(User, User.id == Membership.user_id)
            .where(Membership.organization_id == organization.id)
        ).all()
    for role, name, disabled in sorted(rows, key=lambda row: (MEMBER_ROLES.index(row[0]), row[1])):
        print(f"{role:<6} {name}{'  (disabled)' if disabled else ''}")
    if not rows:
        print(
            f"{args.organization!r} has no members: statusweb-admin member add CONFIG {args.organization} NAME "
            "--role owner",
            file=sys.stderr,
        )
    return 0


def _remove_member(args: argparse.Namespace, session: Session) -> int:
    from statusweb.services.organizations import would_lose_its_last_owner

    with session(args.config) as db:
        organization, user = _organization(db, args.organization), _user(db, args.user)
        membership = _membership(db, organization, user)
        if membership is None:
            raise ValueError(f"{args.user!r} is not in {args.organization!r} (member list CONFIG {args.organization})")
        if would_lose_its_last_owner(db, membership, None):
            raise ValueError(
                f"{args.user!r} is the only owner of {args.organization!r}: make someone else owner "
                "first (member add ... --role owner)"
            )
        db.delete(membership)
        user.end_sessions()
    print(f"removed {args.user!r} from {args.organization!r}; their sessions have ended")
    return 0


def _create_token(args: argparse.Namespace, session: Session) -> int:
    from statusweb.services.organizations import make_token

    name = args.name.strip()
    if not name or any(not c.isprintable() for c in name):
        raise ValueError("the token's name must be printable text (what uses it)")
    with session(args.config) as db:
        organization = _organization(db, args.organization)
        token = make_token(db, organization, name, args.scope, args.days, by="statusweb-admin", now=utcnow())
    print(
        f"made a {args.scope} token {name!r} of {args.organization!r}, valid {args.days} days; shown once, "
        "only its hash is kept:",
        file=sys.stderr,
    )
    print(token)  # alone on stdout, for a pipeline to capture
    return 0


def _list(args: argparse.Namespace, session: Session) -> int:
    from statusweb.models import Membership, Organization, Page, User

    with session(args.config) as db:
        for organization in db.scalars(select(Organization).order_by(Organization.slug)):
            print(f"{organization.slug}  {organization.name}")
            for page in db.scalars(select(Page).where(Page.organization_id == organization.id).order_by(Page.slug)):
                where = f" at {page.domain}" if page.domain else ""
                where += (
                    " (not serving until proven: page approve-domain)"
                    if page.domain and page.domain_verified_at is None
                    else ""
                )
                print(f"  page {page.slug}  {'private' if page.private else 'public'}{where}")
            for name, role in db.execute(
                select(User.name, Membership.role)
                .join(Membership)
                .where(Membership.organization_id == organization.id)
                .order_by(User.name)
            ):
                print(f"  {role:<6} {name}")
    return 0
