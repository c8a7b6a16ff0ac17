"""The layers as imports (what `lint-imports` checks, here too so that pytest alone catches a
break): no import cycle between any two modules, lazy imports included; the libraries and the
domain use no storage, web or command line; the services no front door."""

from __future__ import annotations

import grimp
import pytest

ROOTS = ("letters", "credentials", "saraban")
PURE = ("letters", "credentials", "saraban.domain")
FRAMEWORKS = ("sqlmodel", "sqlalchemy", "alembic", "fastapi", "starlette", "typer", "uvicorn")


@pytest.fixture(scope="module")
def graph() -> grimp.ImportGraph:
    return grimp.build_graph(*ROOTS, include_external_packages=True, cache_dir=None)


def _inside(module: str, packages: tuple[str, ...]) -> bool:
    return any(module == p or module.startswith(f"{p}.") for p in packages)


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iteratively)."""
    modules = sorted(m for m in graph.modules if _inside(m, ROOTS))
    edges = {m: sorted(graph.find_modules_directly_imported_by(m)) for m in modules}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in modules:
        if root in index:
            continue
        work = [(root, 0)]
        while work:
            node, i = work.pop()
            if i == 0:
                index[node] = low[node] = len(index)
                stack.append(node)
                on_stack.add(node)
            targets = [t for t in edges.get(node, []) if t in edges]
            if i < len(targets):
                work.append((node, i + 1))
                target = targets[i]
                if target not in index:
                    work.append((target, 0))
                elif target in on_stack:
                    low[node] = min(low[node], index[target])
                continue
            for target in targets:
                if target in on_stack:
                    low[node] = min(low[node], low[target])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_import_cycles_between_modules(graph: grimp.ImportGraph) -> None:
    assert _cycles(graph) == []


def test_a_cycle_would_be_found() -> None:
    graph = grimp.build_graph(*ROOTS, cache_dir=None)
    graph.add_import(importer="saraban.domain.vocabulary", imported="saraban.domain.routing")
    assert ["saraban.domain.routing", "saraban.domain.vocabulary"] in _cycles(graph)


def _forbidden(graph: grimp.ImportGraph, sources: tuple[str, ...], banned: tuple[str, ...]) -> list:
    bad = []
    for module in sorted(graph.modules):
        if not _inside(module, sources):
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            if _inside(imported, banned):
                bad.append(f"{module} -> {imported}")
    return bad


def test_the_libraries_and_the_domain_stay_pure(graph: grimp.ImportGraph) -> None:
    banned = (*FRAMEWORKS, "saraban.storage", "saraban.services", "saraban.web", "saraban.cli")
    assert _forbidden(graph, PURE, banned) == []
    # letters and credentials use nothing of saraban but its domain
    outside_domain = ("saraban.settings", "saraban.files", "saraban.logs")
    assert _forbidden(graph, ("letters", "credentials"), outside_domain) == []


def test_imports_go_one_way(graph: grimp.ImportGraph) -> None:
    assert _forbidden(graph, ("saraban.services",), ("saraban.web", "saraban.cli")) == []
    assert _forbidden(graph, ("saraban.storage",), ("saraban.services", "saraban.web")) == []
    assert _forbidden(graph, ("saraban.web",), ("saraban.cli",)) == []
    assert _forbidden(graph, ("saraban.cli",), ("saraban.web",)) == []
    # the request dependencies are a leaf of the web: they import no route or page
    assert _forbidden(graph, ("saraban.web.deps",), ("saraban.web.api", "saraban.web.pages")) == []
