from __future__ import annotations

import pytest

from personalize_sdk import Personalizer
from tests.helpers import Clock


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def pz(clock: Clock) -> Personalizer:
    return Personalizer(clock=clock, strict=True)
