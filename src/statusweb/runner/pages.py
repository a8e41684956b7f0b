"""monitors.toml's `[[page]]` tables into `organization` and `page` rows.

Pages named in the file are created or brought up to date (name, privacy, domain,
organization, viewer password, language, stylesheet); pages made in the admin are left
as they are. A
domain written in the file serves at once: the file is the install's own word. The
default organization and page always exist afterwards, so there is someone to own
the default page's settings and members; an organization the file creates gets the
install's owners (the default organization's) as its owners, so whoever configured
its private page can open it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from statuscore import ConfigError, LoadedConfig, PageSpec
from statusweb.i18n import LANGUAGES
from statusweb.models import DEFAULT_SLUG, Page
from statusweb.services.domain_checks import set_domain
from statusweb.services.organizations import organization_named, share_install_owners
from statusweb.services.stylesheets import sanitise

log = logging.getLogger("statusweb.runner")


def check_page_looks(config: LoadedConfig) -> None:
    """At start: each [[page]]'s language is one the pages speak (else a ConfigError
    naming file and key), and what its stylesheet loses to sanitising is said."""
    for index, page in enumerate(config.pages):
        if page.language and page.language not in LANGUAGES:
            raise ConfigError(
                f"the pages speak {', '.join(sorted(LANGUAGES))}, not {page.language!r}",
                file=config.path,
                key=f"page[{index}].language",
            )
        for note in sanitise(page.css_text).notes if page.css_text else []:
            log.warning("%s: key 'page[%d].css' (%s): %s", config.path, index, page.css, note)


def sync_pages(session: Session, specs: Sequence[PageSpec], now: datetime) -> dict[str, int]:
    """Make the file's pages exist as written; slug -> page id for every page."""
    specs = list(specs)
    if not any(spec.slug == DEFAULT_SLUG for spec in specs):
        specs.insert(0, PageSpec(slug=DEFAULT_SLUG, name="Status"))
    existing = {page.slug: page for page in session.scalars(select(Page))}
    for spec in specs:
        organization = organization_named(session, spec.organization, now)
        share_install_owners(session, organization, now)
        page = existing.get(spec.slug)
        if page is None:
            page = existing[spec.slug] = Page(
                slug=spec.slug,
                created_at=now,
                updated_at=now,
                organization_id=organization.id,
                name=spec.name or spec.slug.title(),
                private=spec.private,
            )
            session.add(page)
            if spec.slug == DEFAULT_SLUG and not (spec.domain or spec.viewer_password or spec.language or spec.css):
                continue  # the default page's row, made once; the admin may change it
        values = {
            "name": spec.name or page.name,
            "private": spec.private,
            "organization_id": organization.id,
            "viewer_password_hash": _hash_unless_same(page.viewer_password_hash, spec.viewer_password),
            "language": spec.language,
            "stylesheet": sanitise(spec.css_text).css if spec.css_text else "",
        }
        changed = any(getattr(page, key) != value for key, value in values.items())
        if changed:
            for key, value in values.items():
                setattr(page, key, value)
        domain_before = (page.domain, page.domain_verified_at)
        set_domain(page, spec.domain, approved_by="monitors.toml", now=now)  # the install's own file: no proof asked
        if changed or (page.domain, page.domain_verified_at) != domain_before:
            page.updated_at = now
    session.flush()
    return {slug: page.id for slug, page in existing.items()}


def _hash_unless_same(current: str | None, password: str) -> str | None:
    """The stored hash when it still matches the file's password (argon2 salts every
    hash, so hashing again would rewrite the row at every start)."""
    if not password:
        return None
    try:
        if current and PasswordHasher().verify(current, password):
            return current
    except (VerificationError, InvalidHashError):
        pass
    return PasswordHasher().hash(password)
