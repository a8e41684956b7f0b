"""statusweb: the status page, the incident admin, the open APIs and the runner that
drives statuscore, on Pyramid + SQLAlchemy."""

from __future__ import annotations

from typing import Any


def main(global_config: dict[str, Any], **settings: Any) -> Any:
    """The WSGI app (`use = egg:statuscore` in an ini): one Configurator, one include
    per part."""
    from statusweb.app import make_app
    from statusweb.settings import SettingsError

    try:
        return make_app(global_config, settings)
    except SettingsError as exc:  # one line naming the variable, not a traceback
        raise SystemExit(f"statusweb: {exc}") from None
