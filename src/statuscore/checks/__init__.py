"""Built-in check types. Each module is a pluggy plugin registered through the same
`statuscore` entry points as a third party's; see `statuscore.plugins`."""
