"""`FormattedForwarder`: what the forwarders whose events go as JSON or msgpack (``format``)
share: the option's check, the encoding, and the pipeline's direct encoder for either."""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import Any

import msgpack

from .._exceptions import ConfigError
from ..segment_bytes import to_json, to_msgpack
from ._base import BaseForwarder, DirectEncoder

FORMATS = ("json", "msgpack")


class FormattedForwarder(BaseForwarder):
    def __init__(self, *, format: str = "json", **common: Any) -> None:
        super().__init__(**common)
        self.format = format
        self._packer = msgpack.Packer(default=str)  # the delivery thread's alone

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        super().check_options(options)
        if options.get("format", "json") not in FORMATS:
            message = f"expected one of {FORMATS}, got {options['format']!r}"
            raise ConfigError(message, field="format")

    def encode(self, message: Mapping[str, Any]) -> bytes:
        if self.format == "msgpack":
            return self._packer.pack(message)
        return super().encode(message)

    def direct_encoder(self) -> DirectEncoder | None:
        if self.transform is not None or type(self).encode is not FormattedForwarder.encode:
            return None
        if self.format == "msgpack":
            return functools.partial(to_msgpack, pack=self._packer.pack)
        return to_json
