"""The offline Twilio's parts use the switch through its public Switchboard, never its privates."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SIMULATOR = ROOT / "ivr" / "simulator"
HANDLES = ("sim", "switch")  # the names the parts give the switch they are handed
PARTS = ("interpreter.py", "conferences.py", "rest.py", "account.py")


def private_reaches(source: str) -> list[tuple[int, str]]:
    """Each `sim._x` / `self.switch._x` in `source`: a private member reached through a handle."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if not isinstance(node, ast.Attribute) or not node.attr.startswith("_"):
            continue
        if node.attr.startswith("__"):
            continue
        handle = node.value
        name = handle.attr if isinstance(handle, ast.Attribute) else getattr(handle, "id", "")
        if name in HANDLES:
            found.append((node.lineno, f"{name}.{node.attr}"))
    return sorted(found)


def test_no_module_reaches_a_private_member_of_the_switch() -> None:
    leaks = [
        f"{path.relative_to(ROOT)}:{line}: {reach}"
        for path in sorted(SIMULATOR.rglob("*.py"))
        if path.name != "switch.py"
        for line, reach in private_reaches(path.read_text(encoding="utf-8"))
    ]
    assert not leaks, "private members of the switch used elsewhere:\n" + "\n".join(leaks)


def test_the_switchs_parts_do_not_import_it() -> None:
    """They are handed a Switchboard; importing switch.py (even for types) would tie them to it."""
    core = SIMULATOR / "core"
    found = [
        f"{part}:{node.lineno}"
        for part in PARTS
        for node in ast.walk(ast.parse((core / part).read_text(encoding="utf-8")))
        if isinstance(node, ast.ImportFrom) and node.module == "ivr.simulator.core.switch"
    ]
    assert not found, "the switch's parts import it:\n" + "\n".join(found)


def test_a_private_reach_is_caught() -> None:
    source = "proc = self.sim._procs.get(sid)\nx = switch._run(leg)\ny = self.sim.now()\n"
    assert private_reaches(source) == [(1, "sim._procs"), (2, "switch._run")]
