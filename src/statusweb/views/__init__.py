"""Views: plain functions returning dicts for templates (or Responses through the cache)."""
