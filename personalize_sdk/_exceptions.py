"""Every error the SDK raises, one family.

    PersonalizeError
    ├── InvalidEvent         an event, identify call or beacon failed validation (names the field)
    ├── ConfigError          a config file or value is invalid (names the file, section and field)
    │   └── CatalogError     a product record is invalid (names the file, row and column)
    ├── StoreUnavailable     the profile store cannot be reached
    ├── CatalogUnavailable   the shop's catalog lookup failed (no widget rather than a broken page)
    └── CopyError            a campaign's copy failed to render (that widget is skipped)

Third-party errors are mapped to these at the edge where they happen, so callers catch one family.
"""

from __future__ import annotations


class PersonalizeError(Exception):
    """Base class of every error raised by personalize-sdk."""


class InvalidEvent(PersonalizeError, ValueError):
    """An event, its properties or an identify call is invalid.

    `field` is the dotted path of the offending value (``"properties.price"``) and `kind` a short
    stable name of the problem (``"not_finite"``), used to count and log bad events by kind.
    """

    def __init__(self, message: str, *, field: str = "", kind: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        self.kind = kind

    def __str__(self) -> str:
        return f"{self.field}: {self.message}" if self.field else self.message

    def within(self, parent: object) -> InvalidEvent:
        """Prefix `field` with the enclosing key or index, as the error leaves nested data.

        Validation builds field paths only on the way out of a failure, never on the hot path.
        """
        self.field = f"{parent}.{self.field}" if self.field else str(parent)
        return self


class ConfigError(PersonalizeError, ValueError):
    """The configuration is invalid. The message names the file, the section and the field."""

    def __init__(self, message: str, *, source: str = "", field: str = "") -> None:
        where = " ".join(part for part in (source, field) if part)
        super().__init__(f"{where}: {message}" if where else message)
        self.message = message
        self.source = source
        self.field = field


class StoreUnavailable(PersonalizeError):
    """The profile store cannot be reached (raised in strict mode, otherwise degraded around)."""


class CatalogError(ConfigError):
    """A product record is invalid. `field` names the row and column (``products[3].price``)."""

    def at(self, source: str, row: str, note: str = "") -> CatalogError:
        """The same error, located in `row` (``products[3]``) of `source` (a file name)."""
        field = f"{row}.{self.field}" if self.field else row
        return CatalogError(self.message + note, source=source or self.source, field=field)


class CatalogUnavailable(PersonalizeError):
    """The shop's catalog lookup failed; the caller shows no widget rather than fail the page."""


class CopyError(PersonalizeError):
    """Copy failed to render (a sandbox refusal or any error in the template): fall back."""
