"""Pages and the audit log, for organization owners: add a page, make it private, give
it a domain (which serves once proven by DNS or approved by an install-wide admin) or a
viewer password; read who changed what. Also which pages an operator may put an
incident or a window on (the forms' page choice)."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from argon2 import PasswordHasher
from pyramid.httpexceptions import HTTPNotFound, HTTPSeeOther
from pyramid.request import Request
from pyramid.view import view_config, view_defaults
from sqlalchemy import select

from statuscore import CSS_MAX_BYTES, FieldError, PageSpec, utcnow
from statusweb.edge.page_mount import claims_install_host
from statusweb.i18n import LANGUAGES
from statusweb.models import DEFAULT_SLUG, AuditEvent, Organization, Page, Service
from statusweb.pages.directory import PageInfo
from statusweb.pages.queries import organization_of_rows, visible_services
from statusweb.services.audit import record
from statusweb.services.domain_checks import approve, check_txt, record_name, record_value, set_domain
from statusweb.services.forms import Form
from statusweb.services.params import record_id
from statusweb.services.security import is_install_admin, organizations_for
from statusweb.services.stylesheets import sanitise

AUDIT_LINES = 500


def pages_for(request: Request, permission: str) -> list[PageInfo]:
    """The pages whose organization grants the user `permission`, the default page first."""
    allowed = organizations_for(request, permission)
    pages = request.registry["statusweb.pages"].all()
    default_owner = organization_of_rows(request.dbsession, None)
    return [
        page
        for page in pages
        if (page.organization_id if page.organization_id is not None else default_owner) in allowed
    ]


def page_from_form(request: Request) -> tuple[Form, PageInfo | None, list[Service]]:
    """The page a new incident or window goes on: the form's `page` among those the user
    may edit (the only one, when there is one), and the services on it; the page field's
    value and error in the returned Form, to merge into the rest of the form."""
    form, pages = Form(), pages_for(request, "edit")
    wanted = request.POST.get("page", "") or (pages[0].slug if len(pages) == 1 else "")
    form.values["page"] = wanted
    page = next((page for page in pages if page.slug == wanted), None)
    if page is None:
        form.errors["page"] = "Choose one of the pages you may edit."
        return form, None, []
    return form, page, [s for s in visible_services(request.dbsession) if s.page_id == page.row_id]


def read_page(params: Any, organizations: tuple[str, ...], *, creating: bool) -> tuple[Form, PageSpec | None]:
    """The page form, checked by the same rules as a [[page]] of monitors.toml."""
    form = Form()
    if creating:
        form.text(params, "slug", max_length=63)
    form.text(params, "name", max_length=200)
    form.choice(params, "organization", organizations)
    form.text(params, "domain", required=False, max_length=253)
    form.values["private"] = "1" if params.get("private") else ""
    password = str(params.get("viewer_password", ""))[:200]
    form.choice(params, "language", ("", *LANGUAGES))
    _read_stylesheet(form, params)
    if not form.ok:
        return form, None
    try:
        spec = PageSpec(
            slug=form.values.get("slug") or "x",
            name=form.values["name"],
            private=bool(form.values["private"]),
            domain=form.values["domain"].strip().lower(),
            organization=form.values["organization"],
            viewer_password=password,
            language=form.values["language"],
        )
    except FieldError as exc:
        form.errors[exc.key] = exc.message
        return form, None
    return form, spec


def _read_stylesheet(form: Form, params: Any) -> None:
    """The page's own CSS: saved only when sanitising takes nothing out, so what the
    owner wrote is what the page gets (the form says what to remove)."""
    css = form.text(params, "stylesheet", required=False, max_length=CSS_MAX_BYTES)
    if "stylesheet" in form.errors:
        return
    if len(css.encode()) > CSS_MAX_BYTES:
        form.errors["stylesheet"] = f"At most {CSS_MAX_BYTES // 1024} KiB."
        return
    sanitised = sanitise(css)
    if sanitised.notes:
        form.errors["stylesheet"] = "Remove what would load from another host or run code: " + "; ".join(
            sanitised.notes[:5]
        )
    form.parsed["stylesheet"] = sanitised.css if css else ""


def public_address(request: Request, page: Page) -> str:
    """Where the public reads `page` (its verified domain, else under STATUS_PAGE_URL),
    for the embed snippets."""
    base = request.settings.page_url.rstrip("/")
    if page.serving_domain:
        return f"{urlsplit(base).scheme or 'https'}://{page.serving_domain}"
    return base if page.slug == DEFAULT_SLUG else f"{base}/pages/{page.slug}"


def audit_on_page(request: Request, page_id: int | None, action: str, subject: str) -> None:
    """An audit line for a change to something on a page, under that page's organization."""
    record(request, organization_of_rows(request.dbsession, page_id), action, subject)


def page_choice(request: Request) -> dict[str, Any]:
    """What the incident and maintenance forms show to choose a page."""
    pages = pages_for(request, "edit")
    return {"pages": pages, "page_names": {page.row_id: page.name for page in pages}}


class OwnerViews:
    """What the owners' pages (users, pages, tokens) share: the organizations you own."""

    def __init__(self, request: Request) -> None:
        self.request = request
        self.owned = organizations_for(request, "manage_users")

    def _organizations(self) -> list[Organization]:
        return list(
            self.request.dbsession.scalars(
                select(Organization).where(Organization.id.in_(self.owned)).order_by(Organization.slug)
            )
        )

    @staticmethod
    def _first(organizations: list[Organization]) -> dict[str, str]:
        """A new form's organization: the first you own."""
        return {"organization": organizations[0].slug if organizations else ""}


@view_defaults(permission="manage_users")
class PageViews(OwnerViews):
    def _page(self, form: Form | None = None, editing: Page | None = None, domain_message: str = "") -> dict[str, Any]:
        pages = self.request.dbsession.scalars(
            select(Page).where(Page.organization_id.in_(self.owned)).order_by(Page.slug)
        ).all()
        organizations = self._organizations()
        default = self._first(organizations)
        install_admin = is_install_admin(self.request)
        waiting = (
            self.request.dbsession.scalars(  # every organization's, for those who may approve them
                select(Page).where(Page.domain.isnot(None), Page.domain_verified_at.is_(None)).order_by(Page.updated_at)
            ).all()
            if install_admin
            else []
        )
        return {
            "title": "Pages",
            "pages": pages,
            "organizations": organizations,
            "editing": editing,
            "names": {o.id: o.name for o in organizations},
            "form": form or Form(values=default),
            "install_admin": install_admin,
            "waiting": waiting,
            "domain_message": domain_message,
            "record_name": record_name,
            "record_value": record_value,
            "languages": LANGUAGES,
            "address": public_address(self.request, editing) if editing is not None else "",
        }

    def _owned_page(self) -> Page:
        found = self.request.dbsession.get(Page, record_id(self.request.matchdict["id"], "page"))
        if found is None or found.organization_id not in self.owned:
            raise HTTPNotFound("no such page")
        return found

    def _domain_refused(self, spec: PageSpec, page_id: int | None) -> str:
        """Why `spec.domain` may not be this page's ("" when it may)."""
        if not spec.domain:
            return ""
        if claims_install_host(spec.domain, self.request.settings.page_url):
            return "That is this install's own address (or a parent of it): a page cannot take it."
        taken = (
            self.request.dbsession.scalar(select(Page.id).where(Page.domain == spec.domain, Page.id != (page_id or 0)))
            is not None
        )
        return "Another page has that domain." if taken else ""

    def _save(self, page: Page, spec: PageSpec, organization: Organization, stylesheet: str) -> HTTPSeeOther:
        now = utcnow()
        page.name, page.private = spec.name, spec.private
        page.language, page.stylesheet = spec.language, stylesheet
        approver = f"set by install admin {self.request.identity.name}" if is_install_admin(self.request) else ""
        set_domain(page, spec.domain, approved_by=approver, now=now)
        page.organization_id, page.updated_at = organization.id, now
        if spec.viewer_password:
            page.viewer_password_hash = PasswordHasher().hash(spec.viewer_password)
        elif self.request.POST.get("clear_viewer_password"):
            page.viewer_password_hash = None
        self.request.dbsession.flush()  # a new page's id, for the address below
        return HTTPSeeOther(self.request.route_url("admin_page", id=page.id))

    def _refuse(self, form: Form, editing: Page | None = None) -> dict[str, Any]:
        self.request.response.status_int = 400
        return self._page(form, editing)

    @view_config(route_name="admin_pages", renderer="statusweb:templates/admin/pages.pt", request_method="GET")
    def list(self) -> dict[str, Any]:
        return self._page()

    @view_config(route_name="admin_pages", renderer="statusweb:templates/admin/pages.pt", request_method="POST")
    def create(self) -> Any:
        form, spec = read_page(self.request.POST, tuple(o.slug for o in self._organizations()), creating=True)
        if spec is not None and (
            spec.slug == DEFAULT_SLUG
            or self.request.dbsession.scalar(select(Page.id).where(Page.slug == spec.slug)) is not None
        ):
            form.errors["slug"] = "That slug is taken."
        if spec is not None and self._domain_refused(spec, None):
            form.errors["domain"] = self._domain_refused(spec, None)
        if spec is None or not form.ok:
            return self._refuse(form)
        now = utcnow()
        organization = self.request.dbsession.scalar(select(Organization).where(Organization.slug == spec.organization))
        page = Page(
            slug=spec.slug,
            name=spec.name,
            private=spec.private,
            organization_id=organization.id,
            created_at=now,
            updated_at=now,
        )
        self.request.dbsession.add(page)
        answer = self._save(page, spec, organization, form.parsed["stylesheet"])
        record(self.request, organization.id, "page.create", f"{spec.slug} ({'private' if spec.private else 'public'})")
        return answer

    @view_config(route_name="admin_page", renderer="statusweb:templates/admin/pages.pt", request_method="GET")
    def edit(self, domain_message: str = "") -> dict[str, Any]:
        page = self._owned_page()
        organization = self.request.dbsession.get(Organization, page.organization_id)
        values = {
            "name": page.name,
            "organization": organization.slug if organization else "",
            "domain": page.domain or "",
            "private": "1" if page.private else "",
            "language": page.language,
            "stylesheet": page.stylesheet,
        }
        return self._page(Form(values=values), page, domain_message)

    @view_config(
        route_name="admin_page_domain_check", renderer="statusweb:templates/admin/pages.pt", request_method="POST"
    )
    def check_domain(self) -> dict[str, Any]:
        """Look the page's token up in DNS now; serve the domain once it is there."""
        page = self._owned_page()
        before = page.domain_verified_at
        result = check_txt(page, self.request.settings.dns_resolver, utcnow())
        if page.domain_verified_at != before:
            record(self.request, page.organization_id, "page.domain_verified", f"{page.slug}: {page.domain} by DNS")
        return self.edit(result.message)

    @view_config(route_name="admin_page_domain_approve", request_method="POST")
    def approve_domain(self) -> HTTPSeeOther:
        """An install-wide admin lets any organization's domain serve without DNS proof."""
        page = self.request.dbsession.get(Page, record_id(self.request.matchdict["id"], "page"))
        if page is None or not page.domain or not is_install_admin(self.request):  # not theirs to approve: none
            raise HTTPNotFound("no such page")
        if page.domain_verified_at is None:
            approve(page, f"approved by {self.request.identity.name}", utcnow())
            record(self.request, page.organization_id, "page.domain_approved", f"{page.slug}: {page.domain}")
        return HTTPSeeOther(self.request.route_url("admin_pages"))

    @view_config(route_name="admin_page", renderer="statusweb:templates/admin/pages.pt", request_method="POST")
    def update(self) -> Any:
        page = self._owned_page()
        form, spec = read_page(self.request.POST, tuple(o.slug for o in self._organizations()), creating=False)
        if spec is not None and self._domain_refused(spec, page.id):
            form.errors["domain"] = self._domain_refused(spec, page.id)
        if spec is None or not form.ok:
            return self._refuse(form, page)
        organization = self.request.dbsession.scalar(select(Organization).where(Organization.slug == spec.organization))
        answer = self._save(page, spec, organization, form.parsed["stylesheet"])
        record(self.request, organization.id, "page.update", f"{page.slug} ({'private' if spec.private else 'public'})")
        return answer


@view_config(route_name="admin_audit", renderer="statusweb:templates/admin/audit.pt", permission="manage_users")
def audit_log(request: Request) -> dict[str, Any]:
    """The newest lines of the organizations you own."""
    owned = organizations_for(request, "manage_users")
    events = request.dbsession.scalars(
        select(AuditEvent)
        .where(AuditEvent.organization_id.in_(owned))
        .order_by(AuditEvent.id.desc())
        .limit(AUDIT_LINES)
    ).all()
    names = dict(
        request.dbsession.execute(select(Organization.id, Organization.name).where(Organization.id.in_(owned))).all()
    )
    return {"title": "Audit log", "events": events, "names": names}
