"""What every forwarder shares: its name, which events it takes, how it batches.

A forwarder only encodes and sends; the delivery pipeline (`personalize_sdk.delivery`) does
the buffering, batching, retries, spilling and counting for all of them alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from typing import Any, ClassVar, Protocol, runtime_checkable

from .._exceptions import ConfigError, PersonalizeError
from ..delivery_config import DEFAULT_BATCH_BYTES, DEFAULT_BATCH_SIZE, DEFAULT_INTERVAL
from ..segment_bytes import Encodable, encode_json, to_json

Transform = Callable[[dict[str, Any]], "dict[str, Any] | None"]
"""A hook that redacts or enriches each message before it is encoded; None drops it."""

DirectEncoder = Callable[[Encodable], bytes]
"""``prepare(to_message(item))`` in one step (`personalize_sdk.segment_bytes`)."""


class DeliveryFailed(PersonalizeError):
    """A batch did not arrive. `retryable`: try the same batch again (after `retry_after`
    seconds when the destination said so); otherwise it is dropped, or split in two when
    `splittable` (a 400 for a batch may be one poison event among good ones)."""

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        retry_after: float | None = None,
        splittable: bool = False,
        reason: str = "rejected",
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.splittable = splittable
        self.reason = reason


@runtime_checkable
class Forwarder(Protocol):
    """One destination of the tracked events."""

    name: str
    batch_size: int
    batch_bytes: int
    interval: float
    max_event_bytes: int
    """A message encoded larger than this is dropped (counted as too_large)."""

    def wants(self, event_name: str) -> bool: ...

    def prepare(self, message: dict[str, Any]) -> bytes | None:
        """The message encoded for this destination (None: this forwarder drops it)."""
        ...

    async def send(self, items: Sequence[bytes]) -> None:
        """Deliver one batch of `prepare`d items, or raise `DeliveryFailed`."""
        ...

    async def aclose(self) -> None: ...


class BaseForwarder:
    """Routing (include/exclude, the transform hook) and batch limits shared by every type."""

    type: ClassVar[str]
    options: ClassVar[frozenset[str]] = frozenset()
    required: ClassVar[frozenset[str]] = frozenset()
    max_event_bytes = 32 * 1024
    max_batch_bytes = 500 * 1024

    def __init__(
        self,
        *,
        name: str | None = None,
        include: Collection[str] | None = None,
        exclude: Collection[str] = (),
        batch_size: int = DEFAULT_BATCH_SIZE,
        batch_bytes: int = DEFAULT_BATCH_BYTES,
        interval: float = DEFAULT_INTERVAL,
        transform: Transform | None = None,
    ) -> None:
        self.name = name or self.type
        self.include = None if include is None else frozenset(include)
        self.exclude = frozenset(exclude)
        self.batch_size = batch_size
        self.batch_bytes = min(batch_bytes, self.max_batch_bytes)
        self.interval = interval
        self.transform = transform

    def wants(self, event_name: str) -> bool:
        if event_name in self.exclude:
            return False
        return self.include is None or event_name in self.include

    def prepare(self, message: dict[str, Any]) -> bytes | None:
        if self.transform is not None:
            changed = self.transform(message)
            if changed is None:
                return None
            message = changed
        return self.encode(message)

    def encode(self, message: Mapping[str, Any]) -> bytes:
        return encode_json(message)

    def direct_encoder(self) -> DirectEncoder | None:
        """What the pipeline may call instead of ``prepare(to_message(item))``: the same bytes
        without building the message. None when a transform hook must see the message, or a
        subclass encodes in its own way."""
        if self.transform is not None or type(self).encode is not BaseForwarder.encode:
            return None
        return to_json

    async def send(self, items: Sequence[bytes]) -> None:  # pragma: no cover - abstract
        raise NotImplementedError

    async def aclose(self) -> None:
        """Release connections; the pipeline calls it from its own event loop."""

    def after_fork(self) -> None:
        """In a forked child: the parent's connections are the parent's; open new ones."""
        if hasattr(self, "_client"):
            self._client = None

    @classmethod
    def check_options(cls, options: Mapping[str, Any]) -> None:
        """Raise `ConfigError` naming the field for an unknown, missing or mistyped option."""
        unknown = sorted(str(key) for key in options if key not in cls.options)
        if unknown:
            raise ConfigError(
                f"unknown option for a {cls.type} forwarder (known: {sorted(cls.options)})",
                field=unknown[0],
            )
        missing = sorted(cls.required - set(options))
        if missing:
            raise ConfigError(f"a {cls.type} forwarder needs it", field=missing[0])

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name!r}>"


def expect(options: Mapping[str, Any], name: str, kind: type | tuple[type, ...], what: str) -> None:
    """Check one option's type for `check_options` (absent options pass)."""
    if name in options and (
        isinstance(options[name], bool) is not (kind is bool) or not isinstance(options[name], kind)
    ):
        raise ConfigError(f"expected {what}, got {options[name]!r}", field=name)
