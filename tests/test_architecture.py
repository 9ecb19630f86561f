"""The import graph of src/crm_api: no cycle, and core/ depends on no domain.

Every import is read with ``ast``, wherever it sits: at module level, inside a function (the
usual way a cycle hides) or under ``TYPE_CHECKING``. Relative imports are resolved; ``from a
import b`` is an edge to module ``a.b`` when it is one, else to ``a``.

Granularity: one node per module (each ``.py`` file; a package's ``__init__.py`` is the module
named after the package). Not one per package: a domain reaches another through its service
(STYLE.md), so contacts' router uses the companies service and companies' router the contacts
service, and at package level nearly every domain sits in one cycle by design. A cycle between
modules is the one that bites (an import order that fails, a function-level import to dodge it).

core/ may import only core/ and ``crm_api.models``: the tables are shared infrastructure that
core's generic code (records, events, idempotency) reads. Nothing else, and no exceptions.
"""

import ast
from collections import defaultdict
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
CORE_MAY_IMPORT = ("crm_api.core", "crm_api.models")


def _module_name(root: Path, path: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def import_graph(root: Path, package: str = "crm_api") -> dict[str, set[str]]:
    """Each module of ``package`` under ``root`` and the modules of ``package`` it imports."""
    paths = {_module_name(root, path): path for path in (root / package).rglob("*.py")}

    def known(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    graph: dict[str, set[str]] = defaultdict(set)
    for module, path in paths.items():
        here = module if path.name == "__init__.py" else module.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = here.split(".")[: len(here.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                names = [f"{base}.{alias.name}" for alias in node.names]
            else:
                continue
            for name in names:
                if name == package or name.startswith(f"{package}."):
                    target = known(name)
                    if target is not None and target != module:
                        graph[module].add(target)
        graph.setdefault(module, set())
    return dict(graph)


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, targets = work[-1]
            target = next(targets, None)
            if target is not None:
                if target not in index:
                    index[target] = low[target] = len(index)
                    stack.append(target)
                    on_stack.add(target)
                    work.append((target, iter(sorted(graph.get(target, ())))))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component: list[str] = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycle_among_modules() -> None:
    graph = import_graph(SRC)
    assert "crm_api.core.routing" in graph
    assert cycles(graph) == []


def test_core_imports_no_domain() -> None:
    graph = import_graph(SRC)
    outside = {
        (module, target)
        for module, targets in graph.items()
        if module.startswith("crm_api.core.")
        for target in targets
        if not target.startswith(CORE_MAY_IMPORT)
    }
    assert outside == set()


def test_the_graph_sees_imports_inside_functions_and_relative_ones(tmp_path: Path) -> None:
    """The two tests above can fail: a cycle through a function-level import is found."""
    package = tmp_path / "shop"
    (package / "core").mkdir(parents=True)
    (package / "orders").mkdir()
    for init in (package, package / "core", package / "orders"):
        (init / "__init__.py").write_text("")
    (package / "core" / "cascade.py").write_text(
        "def read():\n    from shop.orders.service import order\n    return order\n"
    )
    (package / "orders" / "service.py").write_text(
        "from ..core import cascade\nfrom . import schemas\norder = 1\n"
    )
    (package / "orders" / "schemas.py").write_text("")
    graph = import_graph(tmp_path, "shop")
    assert graph["shop.orders.service"] == {"shop.core.cascade", "shop.orders.schemas"}
    assert cycles(graph) == [["shop.core.cascade", "shop.orders.service"]]
