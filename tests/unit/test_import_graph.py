"""The layout of studio/: its import graph (read with ast, nothing imported) has no circle, and the
stages only look back: plan -> references -> generate -> refine -> export, never an arrow forwards.

Every import counts, a lazy one inside a function too (it still ties the two files together), except
those under `if TYPE_CHECKING:` (never run).
"""

from __future__ import annotations

import ast
from pathlib import Path

STUDIO = Path(__file__).resolve().parents[2] / "studio"
STAGES = ["plan", "references", "generate", "refine", "export"]  # in the order they run


def module_name(path: Path) -> str:
    parts = path.relative_to(STUDIO.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(path): path for path in STUDIO.rglob("*.py")}


def _type_checking_only(node: ast.AST, parents: dict) -> bool:
    while node in parents:
        node = parents[node]
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            return True
    return False


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The studio modules `name` imports (a name imported from a package counts as its submodule when it is one)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    parents = {child: node for node in ast.walk(tree) for child in ast.iter_child_nodes(node)}
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if _type_checking_only(node, parents):
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in known and target != name)
    return found


def import_graph() -> dict[str, set[str]]:
    found = modules()
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def circles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan's algorithm, iterative)."""
    index, low, on_stack, stack, result, counter = {}, {}, set(), [], [], [0]

    def visit(start: str) -> None:
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter[0]
        counter[0] += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter[0]
                    counter[0] += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    if len(component) > 1:
                        result.append(sorted(component))

    for name in sorted(graph):
        if name not in index:
            visit(name)
    return result


def stage_of(name: str) -> int | None:
    parts = name.split(".")
    return STAGES.index(parts[1]) if len(parts) > 1 and parts[1] in STAGES else None


# The one circle left, named so that no other can creep in: load_project (project/model.py) migrates an
# old folder on open through project/layout.py, which builds on model.py (a lazy import, by design of
# the versioned layout). Breaking it means moving the migration above load_project's callers.
# The two after it came with the GPU-memory and panel work merged last (lazy imports too): still to break.
KNOWN_CIRCLES = [["studio.project.draft", "studio.project.layout", "studio.project.model"],
                 ["studio.generate.first_chunk", "studio.gpu", "studio.models.cache", "studio.models.hub",
                  "studio.models.memory"],
                 ["studio.ui.handlers", "studio.ui.qa_panel"]]


def test_the_import_graph_has_no_circle():
    """Bugs caught: studio/config.py imported studio/cluster, closing a 16-file import circle; the clause
    parser imported the planner's repair, which imports the beats that parse clauses."""
    found = [c for c in circles(import_graph()) if c not in KNOWN_CIRCLES]
    assert found == [], "import circles: " + " | ".join(" <-> ".join(c) for c in found)


def test_no_stage_imports_a_later_stage():
    """Bug caught: seam healing in generate/ imported refine/sdedit.py (a stage importing a later one)."""
    forwards = [f"{name} -> {target}" for name, targets in import_graph().items() for target in sorted(targets)
                if stage_of(name) is not None and stage_of(target) is not None and stage_of(target) > stage_of(name)]
    assert forwards == []


def test_the_checks_see_a_circle_and_a_forward_arrow():
    """The walk itself: a made-up graph with a circle and a forward arrow is caught."""
    graph = {"studio.a": {"studio.b"}, "studio.b": {"studio.c"}, "studio.c": {"studio.a"}, "studio.d": set()}
    assert circles(graph) == [["studio.a", "studio.b", "studio.c"]]
    assert stage_of("studio.generate.seam") < stage_of("studio.refine.sdedit")
    assert "studio.models.sdedit" in import_graph()["studio.refine.stage"]  # a real arrow (a lazy import) is seen
