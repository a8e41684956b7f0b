"""Alembic environment: runs against the connection the caller passes in
`config.attributes["connection"]`, or builds one from DATABASE_URL (when the `alembic`
command runs with the repository's alembic.ini, as the app would read it) or
`sqlalchemy.url`."""

from __future__ import annotations

import logging.config
import os
from typing import Any

from alembic import context
from sqlalchemy import engine_from_config, pool

from statusweb.models import Base
from statusweb.settings import normalize_database_url

config = context.config
target_metadata = Base.metadata
if config.config_file_name and config.attributes.get("connection") is None:
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)
    if os.environ.get("DATABASE_URL"):
        config.set_main_option("sqlalchemy.url", normalize_database_url(os.environ["DATABASE_URL"]).replace("%", "%%"))


def run_migrations_offline() -> None:
    context.configure(
        url=config.get_main_option("sqlalchemy.url"),
        target_metadata=target_metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _run(connection)
        return
    section = config.get_section(config.config_ini_section) or {}
    url = section.get("sqlalchemy.url", "")
    if url.startswith("sqlite:///"):
        os.makedirs(os.path.dirname(url.removeprefix("sqlite:///")) or ".", exist_ok=True)  # var/ on first use
    engine = engine_from_config(section, prefix="sqlalchemy.", poolclass=pool.NullPool)
    with engine.connect() as connection:
        _run(connection)


def _run(connection: Any) -> None:
    # render_as_batch lets later migrations alter columns on SQLite too.
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
