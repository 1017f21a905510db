"""The architecture, checked: no import cycles, every arrow points down, the engine is web-free.

Reads the source with `ast` (nothing is imported), so a violation is reported with the file
and line of the offending import. An import under `if TYPE_CHECKING:` is an arrow like any
other: a type-only dependency still ties the two modules together. The layers, lowest first
(docs/design.md explains them):

    routing, dialects     the engine and the prompt packs: no web framework
    ivr.telephony         Twilio's REST client
    ivr.services          the app's services, named once
    ivr.call              the voice call flow: webhooks, TwiML, dispatch
    ivr.web               pages, API, metrics
    ivr.runtime           the process: server, embedded Redis, ticker
    ivr.simulator         the offline Twilio's glue to the app (its core imports no Silverline)
    ivr.cli               the command line
    app                   the composition root: create_app and the `silverline` command
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PRODUCT = ("app", "ivr", "routing", "dialects")
LAYERS = (
    ("routing", "dialects"),
    ("ivr.settings",),
    ("ivr.telephony",),
    ("ivr.services",),
    ("ivr.call",),
    ("ivr.web",),
    ("ivr.runtime",),
    ("ivr.simulator",),
    ("ivr.cli",),
    ("app",),
)
WEB = ("flask", "werkzeug", "jinja2", "gunicorn", "prometheus_client", "twilio")
# werkzeug's password hashing is a hashing library the engine's user store uses (the standard
# the project holds to: no home-made password hashing), not the web framework.
WEB_ALLOWED = ("werkzeug.security",)
CORE = "ivr.simulator.core"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def product_files() -> dict[str, Path]:
    found = {"app": ROOT / "app.py"}
    for top in PRODUCT[1:]:
        for path in (ROOT / top).rglob("*.py"):
            found[module_name(path)] = path
    return found


def imports(path: Path, package: str) -> Iterator[tuple[str, int]]:
    """Every module `path` imports (at any depth, `if TYPE_CHECKING:` included), with its line.

    An import for the type checker alone is still an arrow: the module cannot be read or
    checked without the other, so a cycle through it is a cycle of design.
    """
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            yield base, node.lineno
            for alias in node.names:  # `from ivr.call import voice` imports ivr.call.voice
                yield f"{base}.{alias.name}", node.lineno


def graph() -> dict[str, set[tuple[str, int]]]:
    """Product module -> the product modules it imports (with the line of each import)."""
    files = product_files()
    edges: dict[str, set[tuple[str, int]]] = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        edges[name] = {(m, line) for m, line in imports(path, package) if m in files}
    return edges


def layer(module: str) -> int:
    if module == "ivr":  # the bare namespace package: `from ivr import services`
        return 0
    best = -1, -1  # (prefix length, layer)
    for rank, prefixes in enumerate(LAYERS):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and len(prefix) > best[0]:
                best = len(prefix), rank
    assert best[1] >= 0, f"{module} is in no layer: add it to LAYERS"
    return best[1]


def test_no_import_cycles() -> None:
    edges = {m: {t for t, _ in targets} for m, targets in graph().items()}
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    cycles: list[list[str]] = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges[node]):
            if nxt == node or nxt in path[:-1] and nxt == path[-1]:
                continue
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt) :] + [nxt])
            elif nxt not in state:
                visit(nxt, [*path, nxt])
        state[node] = 2

    for module in sorted(edges):
        if module not in state:
            visit(module, [module])
    # A package's __init__ importing its own submodules (which import their package) is how
    # Python packages are built, not a cycle of design.
    real = [c for c in cycles if not _package_init_only(c)]
    assert not real, "import cycles:\n" + "\n".join(" -> ".join(c) for c in real)


def _package_init_only(cycle: list[str]) -> bool:
    return any(b.startswith(a + ".") for a, b in zip(cycle, cycle[1:], strict=False)) and all(
        m.startswith(cycle[0].rpartition(".")[0]) for m in cycle
    )


def test_every_arrow_points_down() -> None:
    files = product_files()
    upward = [
        f"{files[src].relative_to(ROOT)}:{line}: {src} imports {dst}"
        for src, targets in graph().items()
        for dst, line in sorted(targets)
        if layer(dst) > layer(src)
    ]
    assert not upward, "imports that point up a layer:\n" + "\n".join(upward)


def test_the_offline_twilio_core_imports_nothing_of_silverline() -> None:
    files = product_files()
    leaks = [
        f"{files[src].relative_to(ROOT)}:{line}: {dst}"
        for src, targets in graph().items()
        if src.startswith(CORE)
        for dst, line in sorted(targets)
        if not dst.startswith(CORE)
    ]
    assert not leaks, "the simulator's core reaches into Silverline:\n" + "\n".join(leaks)


def test_the_engine_and_the_packs_import_nothing_web() -> None:
    found = []
    for top in ("routing", "dialects"):
        for path in (ROOT / top).rglob("*.py"):
            for module, line in imports(path, module_name(path)):
                top = module.split(".")[0]
                if module.startswith(WEB_ALLOWED):
                    continue
                if top in WEB or top in ("ivr", "app"):
                    found.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    assert not found, "web imports in the engine:\n" + "\n".join(found)


def test_benchmarks_and_product_import_nothing_from_the_tests() -> None:
    found = []
    for top in ("bench", *PRODUCT[1:]):
        for path in (ROOT / top).rglob("*.py"):
            for module, line in imports(path, module_name(path)):
                if module.split(".")[0] == "tests":
                    found.append(f"{path.relative_to(ROOT)}:{line}: {module}")
    assert not found, "imports of tests/:\n" + "\n".join(found)


def test_a_cycle_and_an_upward_arrow_are_caught(tmp_path: Path) -> None:
    """The checks above can fail: an upward import is ranked above its importer."""
    assert layer("ivr.cli.sim") > layer("ivr.simulator.offline") > layer("ivr.call.voice")
    assert layer("app") > layer("ivr.cli") and layer("routing.queues.router") == 0
    source = tmp_path / "m.py"
    source.write_text("from ivr.call import voice\nimport app\n", encoding="utf-8")
    assert {m for m, _ in imports(source, "ivr.web")} >= {"ivr.call.voice", "app"}


# routing/'s own packages, lowest first (routing/__init__.py says what each holds).
ROUTING_LAYERS = (
    (
        "routing.clock",
        "routing.exceptions",
        "routing.keys",
        "routing.scripts",
        "routing.settings",
        "routing.store",
    ),
    ("routing.callers",),
    ("routing.queues",),
    ("routing.outbound",),
    ("routing.reporting",),
    ("routing.governance",),
    ("routing.demo", "routing.engine", "routing.migrate", "routing.team_report"),
)


def routing_layer(module: str) -> int:
    if module == "routing":  # the package's docstring: `from routing import x` names x too
        return -1
    ranks = [
        rank
        for rank, prefixes in enumerate(ROUTING_LAYERS)
        for prefix in prefixes
        if module == prefix or module.startswith(prefix + ".")
    ]
    assert len(ranks) == 1, f"{module} is in {len(ranks)} routing layers: add it to ROUTING_LAYERS"
    return ranks[0]


def routing_upward(edges: dict[str, set[tuple[str, int]]]) -> list[str]:
    """Every import inside routing/ that points up ROUTING_LAYERS."""
    return [
        f"{src}:{line} imports {dst}"
        for src, targets in edges.items()
        if src.startswith("routing.")
        for dst, line in sorted(targets)
        if dst.startswith("routing") and routing_layer(dst) > routing_layer(src)
    ]


def test_routing_packages_import_only_those_below() -> None:
    edges = graph()
    for module in edges:  # a new module names its layer, or this fails
        if module.startswith("routing."):
            routing_layer(module)
    upward = routing_upward(edges)
    assert not upward, "routing imports that point up ROUTING_LAYERS:\n" + "\n".join(upward)


def test_routing_layers_catch_an_upward_import() -> None:
    """The check above can fail: the engine's callers reaching up to the router is reported."""
    assert routing_layer("routing.queues.router") > routing_layer("routing.callers.directory")
    assert routing_layer("routing.engine") > routing_layer("routing.governance.privacy")
    wrong = {"routing.callers.directory": {("routing.queues.router", 7)}}
    assert routing_upward(wrong) == ["routing.callers.directory:7 imports routing.queues.router"]


def test_type_checking_imports_are_arrows(tmp_path: Path) -> None:
    """An import under `if TYPE_CHECKING:` counts for cycles and layers like any other."""
    source = tmp_path / "m.py"
    source.write_text(
        "from typing import TYPE_CHECKING\n"
        "import typing\n"
        "if TYPE_CHECKING:\n"
        "    from ivr.simulator.core.switch import Simulator\n"
        "if typing.TYPE_CHECKING:\n"
        "    import app\n",
        encoding="utf-8",
    )
    found = set(imports(source, "ivr.simulator.core"))
    assert {("ivr.simulator.core.switch.Simulator", 4), ("app", 6)} <= found


def test_no_function_is_longer_than_forty_lines() -> None:
    """A function a reader can hold in view: the project's rule, checked on the product code."""
    long = []
    for path in product_files().values():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = (node.end_lineno or node.lineno) - node.lineno + 1
                if lines > 40:
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} ({lines})")
    assert not long, "functions over 40 lines:\n" + "\n".join(long)


def test_no_test_module_imports_another() -> None:
    """Tests share through conftest.py fixtures and tests/helpers, never through a test_*.py."""
    tests = ROOT / "tests"
    found = set()
    for path in tests.rglob("*.py"):
        name = module_name(path)
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for module, line in imports(path, package):
            target = _test_module(module)
            if target:
                found.add(f"{path.relative_to(ROOT)}:{line}: {target}")
    assert not found, "test modules imported (share through tests/helpers):\n" + "\n".join(
        sorted(found)
    )


def _test_module(module: str) -> str:
    """The test_*.py module that `module` is or names an attribute of, or ""."""
    parts = module.split(".")
    for i, part in enumerate(parts, start=1):
        if part.startswith("test_") and ROOT.joinpath(*parts[:i]).with_suffix(".py").is_file():
            return ".".join(parts[:i])
    return ""
