"""The package's import graph, built from source: no cycle among nbwandb's modules.

Every ``import`` counts, at module level or inside a function (except under
``if TYPE_CHECKING:``, which never runs). ``from pkg import name`` is an edge to
``pkg.name`` when that is a module, else to ``pkg``.
"""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parent.parent / "nbwandb"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _skipped(tree: ast.AST) -> set[int]:
    """Nodes under ``if TYPE_CHECKING:``."""
    out: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            out.update(id(sub) for sub in ast.walk(node))
    return out


def import_graph() -> dict[str, set[str]]:
    modules = {_module_name(p): p for p in PACKAGE.rglob("*.py")}
    graph: dict[str, set[str]] = {name: set() for name in modules}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = _skipped(tree)
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = here[: len(here) - node.level + 1]
                    source = ".".join([*base, *([node.module] if node.module else [])])
                else:
                    source = node.module or ""
                targets = [
                    f"{source}.{alias.name}" if f"{source}.{alias.name}" in modules else source
                    for alias in node.names
                ]
            else:
                continue
            graph[name].update(t for t in targets if t in modules and t != name)
    return graph


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle as a path ``[a, b, ..., a]``, or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state and (found := visit(start)):
            return found
    return None


def test_the_graph_sees_every_module_and_real_edges():
    graph = import_graph()
    assert {"nbwandb", "nbwandb.run.run", "nbwandb.errors", "nbwandb.run.distributed"} <= set(graph)
    assert "nbwandb.run.run" in graph["nbwandb.run.distributed"]  # FollowerRun subclasses NoOpRun
    assert graph["nbwandb.errors"] == set()  # the bottom of the graph


def test_find_cycle_reports_a_cycle():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_among_the_package_modules():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_core_never_imports_the_notebook_layer():
    graph = import_graph()
    core = [m for m in graph if not m.startswith("nbwandb.notebook") and m != "nbwandb"]
    for module in core:
        assert not any(t.startswith("nbwandb.notebook") for t in graph[module]), module


def test_every_public_name_is_what_the_lazy_table_says_after_every_module_is_imported():
    # A submodule named like a public function (nbwandb.login, nbwandb.launch) would replace
    # the function on the package once imported: no module may share a public name.
    import importlib

    import nbwandb

    for name in sorted(import_graph()):
        if not name.startswith("nbwandb.notebook"):
            importlib.import_module(name)
    for name, (module, attr) in nbwandb._LAZY.items():
        expected = importlib.import_module(module)
        if attr is not None:
            expected = getattr(expected, attr)
        assert getattr(nbwandb, name) is expected, name
    assert callable(nbwandb.login) and callable(nbwandb.launch) and callable(nbwandb.show)


def test_load_ext_leaves_the_panels_and_ipywidgets_to_the_background_preload():
    # %load_ext imports nbwandb.notebook.magics in the cell; ipywidgets alone takes ~65 ms.
    import subprocess
    import sys

    code = (
        "import sys, nbwandb.notebook.magics; "
        "print(sorted(m for m in sys.modules if m.startswith('ipywidgets') or m in "
        "('nbwandb.notebook.run_panel', 'nbwandb.notebook.config_form', 'wandb')))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert out.stdout.strip() == "[]"


# -- layers ------------------------------------------------------------------------------------
# Each folder is a layer; a module imports only from its own rank or below (docs/architecture.md
# draws the same table). Sideways imports between folders of one rank are allowed; the cycle
# test above keeps them acyclic.
LAYERS: list[tuple[int, tuple[str, ...]]] = [
    (0, ("nbwandb.errors", "nbwandb._lazy")),
    (1, ("nbwandb.wandb_compat",)),
    (2, ("nbwandb.values",)),
    (3, ("nbwandb.connection", "nbwandb.render", "nbwandb.distributed", "nbwandb.server_hook")),
    (4, ("nbwandb.run",)),
    (5, ("nbwandb.local",)),
    (6, ("nbwandb.media", "nbwandb.artifacts")),
    (7, ("nbwandb.start",)),
    (8, ("nbwandb.sweeps", "nbwandb.views", "nbwandb.checks")),
    (9, ("nbwandb.notebook",)),
    (10, ("nbwandb", "nbwandb.cli", "nbwandb.demo", "nbwandb.checkpoints")),
]

# Methods of the run handle whose code lives in a feature layer above ``run``: the handle names
# the module as a string (``_Deferred``) and imports it on the method's first call, so that
# ``import nbwandb.run`` stays light. Adding one is a decision: list it here.
DEFERRED_HANDLE_METHODS = {
    "nbwandb.media",
    "nbwandb.artifacts.run_artifacts",
    "nbwandb.artifacts.latest",
}


def rank_of(module: str) -> int:
    """The rank of the longest layer prefix that owns ``module``."""
    best: tuple[int, int] | None = None
    for rank, prefixes in LAYERS:
        for prefix in prefixes:
            owns = module == prefix or module.startswith(prefix + ".")
            if owns and (best is None or len(prefix) > best[1]):
                best = (rank, len(prefix))
    assert best is not None, f"{module} is in no layer: add its folder to LAYERS"
    return best[0]


def test_every_module_has_a_layer_and_imports_point_down():
    graph = import_graph()
    upward = [
        f"{src} (rank {rank_of(src)}) imports {dst} (rank {rank_of(dst)})"
        for src, targets in sorted(graph.items())
        for dst in sorted(targets)
        if rank_of(dst) > rank_of(src)
    ]
    assert upward == [], "upward imports:\n" + "\n".join(upward)


def test_the_rank_check_rejects_an_upward_import():
    assert rank_of("nbwandb.run.writer") == 4 and rank_of("nbwandb.local.reader") == 5
    assert rank_of("nbwandb") == 10 and rank_of("nbwandb.wandb_compat.loader") == 1


def _string_module_refs(path: Path, call: str) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.args[0].value
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Name)
        and node.func.id == call
        and node.args
        and isinstance(node.args[0], ast.Constant)
    }


def test_the_handle_defers_only_the_listed_feature_modules():
    refs = _string_module_refs(PACKAGE / "run" / "handle.py", "_Deferred")
    assert refs == DEFERRED_HANDLE_METHODS
    modules = set(import_graph())
    assert refs <= modules


def test_only_package_inits_re_export_by_name():
    # A lazy table (``lazy_getattr``) names modules as strings, which the graph does not see:
    # only a package's ``__init__`` may hold one, to re-export its public surface.
    for path in PACKAGE.rglob("*.py"):
        if path.name != "__init__.py" and path.name != "_lazy.py":
            assert "lazy_getattr(" not in path.read_text(encoding="utf-8"), path


def test_render_draws_with_the_standard_library_only():
    # render/ is what the panels, the dashboard and the report draw with: no matplotlib,
    # numpy or wandb (a drawing that needs one lives with its caller, as histogram_png does)
    import sys

    outside = []
    for path in sorted((PACKAGE / "render").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            top = {name.split(".")[0] for name in names}
            outside += [
                f"{path.name}: {t}" for t in top - {"nbwandb"} if t not in sys.stdlib_module_names
            ]
    assert outside == []
