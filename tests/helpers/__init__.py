"""What the tests share, as plain modules: test files import these, never each other."""

from __future__ import annotations

import os
from datetime import UTC, datetime

# A Monday, 10:00 in Shanghai: inside business hours.
T0 = datetime(2026, 11, 23, 2, 0, 0, tzinfo=UTC)

# `SILVERLINE_TEST_REDIS=cluster` runs the same tests against a three-master Redis Cluster.
CLUSTER = os.environ.get("SILVERLINE_TEST_REDIS") == "cluster"
