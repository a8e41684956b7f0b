"""Errors a person must be able to act on: each names the file, monitor and key."""

from __future__ import annotations


class ConfigError(Exception):
    """A monitors.toml (or plugin config) problem, found at load time, never at run time."""

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        monitor: str | None = None,
        key: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.monitor = monitor
        self.key = key

    def located(
        self, *, file: str | None = None, monitor: str | None = None, key_prefix: str | None = None
    ) -> ConfigError:
        """The same error with the outer context filled in where it was still missing."""
        key = self.key
        if key_prefix:
            key = f"{key_prefix}.{key}" if key else key_prefix
        return ConfigError(
            self.message,
            file=self.file or file,
            monitor=self.monitor or monitor,
            key=key,
        )

    def __str__(self) -> str:
        where = []
        if self.file:
            where.append(self.file)
        if self.monitor:
            where.append(f"monitor {self.monitor!r}")
        if self.key:
            where.append(f"key {self.key!r}")
        return ": ".join(where + [self.message])


class FieldError(ValueError):
    """Raised from a config dataclass's `__post_init__` to blame one key."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key
        self.message = message


class PluginError(Exception):
    """A plugin problem found at start-up (two plugins claiming one type name, ...)."""
