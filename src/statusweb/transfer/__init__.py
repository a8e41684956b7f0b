"""Moving a status page's data in and out: `statusweb-admin export` and `import` (our own
file, `shape.py`, written by `export.py`, read back by `load.py`), and the importers from
other tools (Uptime Kuma, Gatus, Statuspage), which turn their files into monitors.toml
entries and records of our own file's shape."""
