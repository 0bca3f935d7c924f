"""The package's edges: `services` imports no UI and no emulator, and no project module imports
another that (directly or not) imports it back at module level.

The cycle check reads the source with `ast` and imports nothing. It counts module-level imports
only (an import inside a function runs later, when every module is loaded; one under
`if TYPE_CHECKING:` never runs), including those in `if`/`try` blocks and class bodies. An edge
goes from the importing module to every project module the import statement initialises:

* `import a.b.c` and `from a.b import c` (c a submodule): `a.b.c`, and the packages `a`, `a.b`
  unless they are packages of the importing module itself, which are already initialising
  whenever one of their submodules is (so `from . import x` is an edge to the submodule `x`,
  not to the package);
* `from a.b import name` (name not a submodule): `a.b` itself, even when it is the importing
  module's own package: reading a name off a package that is still running its `__init__` is
  exactly how a circular import fails.

A package `__init__` that re-exports its submodules (`from .jobs import start_job`) therefore
has an edge to each of them.
"""
from __future__ import annotations

import ast
import json
import re
import subprocess
import sys
from collections import deque
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
# Top-level packages of the project whose imports are checked (those that exist).
PROJECT_PACKAGES = ("services", "dashboard", "emulator", "cli")
UI_AND_EMULATOR = ("panel", "dashboard", "emulator")


# ---- the import graph -----------------------------------------------------------------------

def project_modules(root: Path, packages=PROJECT_PACKAGES) -> dict[str, tuple[Path, bool]]:
    """Dotted module name -> (file, is a package) for every .py under the packages present."""
    found: dict[str, tuple[Path, bool]] = {}
    for top in packages:
        base = root / top
        if not (base / "__init__.py").is_file():
            continue
        for path in sorted(base.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if not all(p.isidentifier() for p in parts):
                continue                     # not importable under a dotted name
            is_package = parts[-1] == "__init__"
            if is_package:
                parts = parts[:-1]
            found[".".join(parts)] = (path, is_package)
    return found


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def module_level_imports(tree: ast.Module):
    """Import statements that run when the module is imported (not inside functions, not
    under `if TYPE_CHECKING:`)."""
    todo = deque(tree.body)
    while todo:
        node = todo.popleft()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and _type_checking(node.test):
            todo.extend(node.orelse)
        else:
            todo.extend(c for c in ast.iter_child_nodes(node)
                        if isinstance(c, (ast.stmt, ast.excepthandler, ast.match_case)))


def _prefixes(dotted: str) -> list[str]:
    parts = dotted.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts) + 1)]


def import_graph(root: Path, packages=PROJECT_PACKAGES):
    """(modules, edges): edges[module] = {imported project module: line of the import}."""
    modules = project_modules(root, packages)
    edges: dict[str, dict[str, int]] = {name: {} for name in modules}
    for name, (path, is_package) in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
        package = name if is_package else name.rpartition(".")[0]
        ancestors = set(_prefixes(name)[:-1])

        def add(target: str, line: int, *, reads_name: bool = False) -> None:
            for t in _prefixes(target):
                if t not in modules or t == name:
                    continue
                if t in ancestors and not (reads_name and t == target):
                    continue
                edges[name].setdefault(t, line)

        for node in module_level_imports(tree):
            if isinstance(node, ast.Import):
                for alias in node.names:
                    add(alias.name, node.lineno)
                continue
            if node.level:
                base = package.split(".")
                base = base[:len(base) - (node.level - 1)] if node.level > 1 else base
                source = ".".join(base + ([node.module] if node.module else []))
            else:
                source = node.module or ""
            for alias in node.names:
                sub = f"{source}.{alias.name}"
                if sub in modules:
                    add(sub, node.lineno)
                else:
                    add(source, node.lineno, reads_name=True)
    return modules, edges


def cycles(edges: dict[str, dict[str, int]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in edges[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 10 * len(edges) + 100))
    try:
        for v in sorted(edges):
            if v not in index:
                visit(v)
    finally:
        sys.setrecursionlimit(limit)
    return sorted(found)


def shortest_cycle(edges: dict[str, dict[str, int]], start: str) -> list[str]:
    """One shortest import path from `start` back to itself."""
    parent: dict[str, str] = {}
    todo = deque([start])
    while todo:
        v = todo.popleft()
        for w in sorted(edges[v]):
            if w == start:
                path = [v]
                while path[-1] != start:
                    path.append(parent[path[-1]])
                return path[::-1] + [start]
            if w not in parent:
                parent[w] = v
                todo.append(w)
    return []


def _shown(path: Path) -> Path:
    return path.relative_to(ROOT) if path.is_relative_to(ROOT) else path


def describe(modules, edges, component: list[str]) -> str:
    """A shortest cycle through the component, then every import edge inside it, with its line."""
    inside = set(component)
    lines = [" -> ".join(shortest_cycle(edges, component[0]))]
    for m in component:
        for target, line in sorted(edges[m].items()):
            if target in inside:
                lines.append(f"    {m} -> {target}  ({_shown(modules[m][0])}:{line})")
    return "\n".join(lines)


# ---- the checks ----------------------------------------------------------------------------

_IMPORT_ALL = r"""
import importlib, json, pkgutil, sys
import services

def skipped(name):
    # services.emulator: a deprecated re-export of the top-level emulator package;
    # services.cli*: moving to their own package.
    return (name == "services.emulator" or name.startswith("services.emulator.")
            or name.startswith("services.cli"))

def walk(path, prefix):
    for info in sorted(pkgutil.iter_modules(path, prefix), key=lambda i: i.name):
        if skipped(info.name):
            continue
        module = importlib.import_module(info.name)
        yield info.name
        if info.ispkg:
            yield from walk(module.__path__, info.name + ".")

imported = list(walk(services.__path__, "services."))
offenders = sorted(m for m in sys.modules if m.startswith(tuple(sys.argv[1:])))
print(json.dumps({"imported": imported, "offenders": offenders}))
"""


def test_importing_every_services_module_loads_no_ui_and_no_emulator():
    proc = subprocess.run([sys.executable, "-c", _IMPORT_ALL, *UI_AND_EMULATOR], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    # The walk reached the whole package, subpackages included.
    assert {"services.api", "services.store.lookups", "services.bulk.results",
            "services.workflows.steps", "services.sync.reader"} <= set(result["imported"])
    assert not any(m.startswith(("services.emulator", "services.cli")) for m in result["imported"])
    assert result["offenders"] == [], (
        "importing services loads UI or emulator modules: " + ", ".join(result["offenders"]))


_DYNAMIC = {"import_module", "__import__"}
_UI_NAME = re.compile(r"^(dashboard|panel)(\.|$)")


def _dynamic_import_calls(tree: ast.AST) -> list[ast.Call]:
    calls = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in _DYNAMIC:
                calls.append(node)
    return calls


def _dynamic_imports_of_ui(paths) -> list[str]:
    """`file:line: 'name'` of every dashboard or panel module name in a module that imports
    dynamically: the literal argument, or a string the name may come from (a table, as in
    services/__init__.py)."""
    found = []
    for path in paths:
        text = path.read_text(encoding="utf-8")
        if not any(word in text for word in _DYNAMIC):
            continue
        tree = ast.parse(text, str(path))
        if not _dynamic_import_calls(tree):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) \
                    and _UI_NAME.match(node.value.strip()):
                found.append(f"{path.relative_to(ROOT)}:{node.lineno}: {node.value!r}")
    return found


def _services_files(*, cli: bool) -> list[Path]:
    """services/**/*.py, either without or only the command-line modules services/cli*.py."""
    return [p for p in sorted((ROOT / "services").rglob("*.py"))
            if (p.parent == ROOT / "services" and p.name.startswith("cli")) == cli]


def test_no_dynamic_import_in_services_reaches_dashboard():
    """`import_module`/`__import__` in services/ never names the dashboard (or panel)."""
    found = _dynamic_imports_of_ui(_services_files(cli=False))
    assert not found, "services/ imports the dashboard dynamically:\n" + "\n".join(found)


def test_no_dynamic_import_in_services_cli_reaches_dashboard():
    found = _dynamic_imports_of_ui(_services_files(cli=True))
    assert not found, "services/cli*.py import the dashboard dynamically:\n" + "\n".join(found)


def test_no_import_cycles_among_project_modules():
    modules, edges = import_graph(ROOT)
    # The graph is the project's: every package present was read, with its real edges.
    assert "services.api" in modules and "services.store" in edges["services.api"]
    assert "services.bulk.results" in edges["services.bulk.jobs"]
    if (ROOT / "dashboard" / "__init__.py").is_file():
        assert any(t.startswith("services") for m in modules if m.startswith("dashboard")
                   for t in edges[m])
    found = cycles(edges)
    assert not found, "import cycles (module-level imports):\n" + "\n".join(
        describe(modules, edges, c) for c in found)


# ---- the cycle finder itself, on small made-up packages --------------------------------------

def _tree(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def test_cycle_finder_reports_module_level_cycles_with_their_lines(tmp_path):
    root = _tree(tmp_path, {
        "services/__init__.py": "",
        "services/a.py": "import os\nfrom .b import thing\n",
        "services/b.py": "from services import c\n",
        "services/c.py": "from . import a\n",
        "services/d.py": "from .a import x\n",
    })
    modules, edges = import_graph(root, ("services",))
    assert edges["services.a"] == {"services.b": 2}
    assert cycles(edges) == [["services.a", "services.b", "services.c"]]
    assert shortest_cycle(edges, "services.a") == ["services.a", "services.b", "services.c",
                                                   "services.a"]


def test_cycle_finder_ignores_deferred_and_type_checking_imports(tmp_path):
    root = _tree(tmp_path, {
        "services/__init__.py": "",
        "services/a.py": "from .b import B\n",
        "services/b.py": ("from typing import TYPE_CHECKING\n"
                          "if TYPE_CHECKING:\n    from .a import A\n"
                          "def later():\n    from .a import A\n    return A\n"
                          "class K:\n    async def m(self):\n        from . import a\n"),
    })
    _, edges = import_graph(root, ("services",))
    assert edges["services.b"] == {}
    assert cycles(edges) == []


def test_cycle_finder_counts_imports_in_try_blocks_and_class_bodies(tmp_path):
    root = _tree(tmp_path, {
        "services/__init__.py": "",
        "services/a.py": "try:\n    from .b import B\nexcept ImportError:\n    B = None\n",
        "services/b.py": "class K:\n    from .a import B as inner\n",
    })
    _, edges = import_graph(root, ("services",))
    assert cycles(edges) == [["services.a", "services.b"]]


def test_package_init_reexports_and_imports_of_sibling_submodules(tmp_path):
    """A package re-exporting its submodules has edges to them; `from . import x` in a
    submodule is an edge to x, not to the package, so neither makes a cycle by itself. Reading
    a name the package __init__ defines is an edge to the package, and is a cycle."""
    root = _tree(tmp_path, {
        "services/__init__.py": "",
        "services/bulk/__init__.py": "from .jobs import run\nfrom .plan import Plan\nLIMIT = 3\n",
        "services/bulk/jobs.py": "from . import results\nimport services.bulk.results\n",
        "services/bulk/plan.py": "from .jobs import run\nfrom .results import R\n",
        "services/bulk/results.py": "",
        "services/bulk/bad.py": "from . import LIMIT\n",
    })
    _, edges = import_graph(root, ("services",))
    assert set(edges["services.bulk"]) == {"services.bulk.jobs", "services.bulk.plan"}
    assert edges["services.bulk.jobs"] == {"services.bulk.results": 1}
    assert set(edges["services.bulk.plan"]) == {"services.bulk.jobs", "services.bulk.results"}
    assert edges["services.bulk.bad"] == {"services.bulk": 1}
    assert cycles(edges) == []       # bulk does not import bad
    (root / "services/bulk/__init__.py").write_text("from .bad import nothing\nLIMIT = 3\n")
    _, edges = import_graph(root, ("services",))
    assert cycles(edges) == [["services.bulk", "services.bulk.bad"]]


def test_imports_across_packages_initialise_the_other_package(tmp_path):
    """`from services.store import x` runs services/store/__init__ first: an edge to it too."""
    root = _tree(tmp_path, {
        "services/__init__.py": "",
        "services/audit.py": "from .store.log import write\n",
        "services/store/__init__.py": "from ..audit import COLUMNS\n",
        "services/store/log.py": "",
        "dashboard/__init__.py": "",
        "dashboard/app.py": "import services.store.log\nfrom services import audit\n",
    })
    _, edges = import_graph(root, ("services", "dashboard", "cli"))
    assert set(edges["services.audit"]) == {"services.store", "services.store.log"}
    assert set(edges["dashboard.app"]) == {"services", "services.store", "services.store.log",
                                           "services.audit"}
    assert cycles(edges) == [["services.audit", "services.store"]]


@pytest.mark.parametrize("module,statement,expected", [
    ("services/bulk/jobs.py", "from .. import audit", "services.audit"),
    ("services/bulk/jobs.py", "from ..store import schema", "services.store.schema"),
    ("services/bulk/jobs.py", "from ..store.schema import users", "services.store.schema"),
    ("services/bulk/__init__.py", "from . import jobs", "services.bulk.jobs"),
    ("services/bulk/__init__.py", "from .. import audit", "services.audit"),
    ("services/bulk/deep/__init__.py", "from ... import audit", "services.audit"),
    ("services/bulk/deep/mod.py", "from ... import audit", "services.audit"),
    ("services/bulk/deep/mod.py", "from .. import jobs", "services.bulk.jobs"),
])
def test_relative_imports_resolve_from_the_module_s_package(tmp_path, module, statement, expected):
    files = {f: "" for f in ("services/__init__.py", "services/audit.py", "services/store/__init__.py",
                             "services/store/schema.py", "services/bulk/__init__.py",
                             "services/bulk/jobs.py", "services/bulk/deep/__init__.py",
                             "services/bulk/deep/mod.py")}
    files[module] = statement + "\n"
    _, edges = import_graph(_tree(tmp_path, files), ("services",))
    name = module[:-3].replace("/", ".").removesuffix(".__init__")
    assert expected in edges[name]
    assert not any(t.endswith(".services") or t == "services.services" for t in edges[name])
