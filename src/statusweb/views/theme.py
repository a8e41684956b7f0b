"""`/theme.css`: the accent colour from settings (STATUSWEB_ACCENT_COLOR) as CSS custom
properties. A stylesheet of its own, because the Content-Security-Policy allows no
inline styles; the text colour on the accent is chosen for contrast. `/page.css`: a
page's own stylesheet ([[page]] `css`, sanitised when it was saved), after both."""

from __future__ import annotations

from pyramid.httpexceptions import HTTPNotFound
from pyramid.request import Request
from pyramid.response import Response
from pyramid.view import view_config

from statusweb.edge.page_mount import page_of
from statusweb.routes import READ_METHODS


def relative_luminance(colour: str) -> float:
    """WCAG's relative luminance of #rrggbb."""

    def channel(hex_pair: str) -> float:
        value = int(hex_pair, 16) / 255
        return value / 12.92 if value <= 0.03928 else ((value + 0.055) / 1.055) ** 2.4

    red, green, blue = (channel(colour[i : i + 2]) for i in (1, 3, 5))
    return 0.2126 * red + 0.7152 * green + 0.0722 * blue


def contrast(first: str, second: str) -> float:
    light, dark = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (light + 0.05) / (dark + 0.05)


def theme_css(accent: str) -> str:
    on_accent = "#ffffff" if contrast(accent, "#ffffff") >= contrast(accent, "#111827") else "#111827"
    return f":root {{ --accent: {accent}; --on-accent: {on_accent}; }}\n"


@view_config(route_name="theme", request_method=READ_METHODS)
def theme(request: Request) -> Response:
    response = Response(theme_css(request.settings.accent_color), content_type="text/css", charset="utf-8")
    response.cache_control = "public, max-age=3600"
    return response


@view_config(route_name="page_css", request_method=READ_METHODS)
def page_css(request: Request) -> Response:
    """Kept for a year when asked for by its version (the page links it so), else 5 minutes."""
    page = page_of(request)
    if not page.stylesheet:
        raise HTTPNotFound("this page has no stylesheet of its own")
    response = Response(page.stylesheet, content_type="text/css", charset="utf-8")
    fresh = request.GET.get("v") == page.stylesheet_version
    response.cache_control = "public, max-age=31536000, immutable" if fresh else "public, max-age=300"
    return response
