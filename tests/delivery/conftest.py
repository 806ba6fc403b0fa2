from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from personalize_sdk.delivery_config import DeliverySettings
from tests.delivery.sink import Sink
from tests.delivery.small_disk import mounted


@pytest.fixture
def sink() -> Iterator[Sink]:
    server = Sink()
    yield server
    server.close()


@pytest.fixture
def delivery(tmp_path: Path) -> DeliverySettings:
    """Default bounds, the spool in this test's own folder."""
    return DeliverySettings(spool_dir=tmp_path / "spool")


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A real file system of 256 KiB, to fill up (`tests.delivery.small_disk`)."""
    with mounted(tmp_path / "small-disk") as disk:
        yield disk


from tests.stores.conftest import redis_prefix  # noqa: E402, F401 - the shared Redis fixture
