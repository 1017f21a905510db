"""The call flow's tests: an engine whose directory knows a senior and a younger caller."""

from __future__ import annotations

import pytest

from routing.engine import Engine
from tests.helpers.people import add_people


@pytest.fixture
def people(engine: Engine) -> Engine:
    """The app's engine, with 陈伯 (SENIOR, Cantonese) and 李娜 (YOUNG) in its directory."""
    return add_people(engine)
