"""States of the files on disk a user must act on; their words come from the catalogue."""

from __future__ import annotations

from microbranch import i18n, settings


class StoreError(RuntimeError):
    """A state of the files on disk a user must act on; the text comes from the catalogue."""

    def __init__(self, key: str, **fmt: object) -> None:
        super().__init__(key)
        self.key, self.fmt = key, fmt

    def text(self, lang: str = "zh") -> str:
        return i18n.t(self.key, lang, **self.fmt)

    def __str__(self) -> str:
        return self.text(settings.current().lang)


class BusyError(StoreError):
    """Another import holds the database."""


class PublishError(StoreError):
    """The import is stored but could not be published (e.g. the disk is full); the last snapshot serves."""
