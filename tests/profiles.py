"""Hypothesis profiles, chosen with HYPOTHESIS_PROFILE (loaded by tests/conftest.py).

- `dev` (plain `pytest`): quick and random, for a developer's edit-test loop.
- `ci` (`make test`, `.ci/run`): derandomized, so every clean clone draws the same examples
  and whether the suite passes is never a draw; three times `dev`'s examples.
- `thorough`: 25 times `dev`'s examples, random; run it with several `--hypothesis-seed`
  values before changing the router (README, "Tests").

No profile keeps an example database: a counterexample found once is pinned in the test with
`@example` (or as a plain test), never left in one machine's `.hypothesis/` folder only.
Each property names its examples for `dev` through `examples(n)`, scaled here.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_SCALE = {"dev": 1, "ci": 3, "thorough": 25}
_SLOW_OK = [HealthCheck.function_scoped_fixture, HealthCheck.too_slow]

settings.register_profile("dev", database=None, print_blob=True, deadline=None)
settings.register_profile(
    "ci",
    database=None,
    print_blob=True,
    deadline=None,
    derandomize=True,
    suppress_health_check=_SLOW_OK,
)
settings.register_profile(
    "thorough", database=None, print_blob=True, deadline=None, suppress_health_check=_SLOW_OK
)

PROFILE = os.environ.get("HYPOTHESIS_PROFILE", "dev")
if PROFILE not in _SCALE:
    raise SystemExit(f"HYPOTHESIS_PROFILE must be one of {', '.join(_SCALE)}, not {PROFILE!r}")
settings.load_profile(PROFILE)


def examples(n: int) -> int:
    """The examples a property draws under the loaded profile, `n` being its `dev` count."""
    return n * _SCALE[PROFILE]
