"""The package layout holds: no import cycles in `pipelines/`, http/ imports nothing of flatten/ or pages/, one class
carries a page's `next` and `count`, importing a module does nothing to the process,
and no merge left its conflict markers behind."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

PIPELINES = Path(__file__).resolve().parents[1] / "pipelines"


def module_name(path: Path) -> str:
    """The dotted name of a module file under `pipelines/`."""
    parts = path.relative_to(PIPELINES.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, modules: set[str]) -> set[str]:
    """The `pipelines` modules `path` imports anywhere in its code, type-checking-only imports included: a cycle
    through them is a cycle of the design all the same."""
    tree = ast.parse(path.read_text())
    package = module_name(path) if path.name == "__init__.py" else module_name(path).rpartition(".")[0]
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            found |= {f"{base}.{alias.name}" if f"{base}.{alias.name}" in modules else base for alias in node.names}
    return found & modules


def import_graph() -> dict[str, set[str]]:
    """Each module of `pipelines/` and the modules of `pipelines/` it imports."""
    files = {module_name(p): p for p in PIPELINES.rglob("*.py")}
    return {name: imported_modules(path, set(files)) - {name} for name, path in files.items()}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for target in sorted(graph[node]):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                found.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_module_of_pipelines_imports_itself_back_through_others():
    graph = import_graph()
    assert len(graph) > 40 and graph["pipelines.usercom.source"]  # the walk found the modules and their imports
    assert "pipelines.job.summary" in graph["pipelines.run_log"]  # an import under `if TYPE_CHECKING:` counts
    assert cycles(graph) == []


def test_http_hands_on_bytes_and_heads_and_imports_nothing_of_flatten_or_pages():
    graph = import_graph()
    http = {name: imports for name, imports in graph.items() if name.startswith("pipelines.usercom.http.")}
    assert len(http) > 5 and "pipelines.usercom.http.transport" in http["pipelines.usercom.http.client"]
    assert "pipelines.usercom.flatten.json_reader" in graph["pipelines.usercom.pages.pagination"]  # the walk sees flatten/
    below = ("pipelines.usercom.flatten", "pipelines.usercom.pages", "pipelines.usercom.run")
    into_below = {name: sorted(x for x in imports if x.startswith(below)) for name, imports in http.items()}
    assert {name: found for name, found in into_below.items() if found} == {}


def classes_with_fields(*wanted: set[str]) -> list[str]:
    """The classes of `pipelines/` that have a field of each set in `wanted` (a class-level annotation, or an
    attribute set on `self` in one of its methods), by dotted name."""
    found = []
    for path in sorted(PIPELINES.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if not isinstance(node, ast.ClassDef):
                continue
            names = {n.target.id for n in node.body if isinstance(n, ast.AnnAssign) and isinstance(n.target, ast.Name)}
            names |= {t.attr for n in ast.walk(node) if isinstance(n, (ast.Assign, ast.AnnAssign))
                      for t in (n.targets if isinstance(n, ast.Assign) else [n.target])
                      if isinstance(t, ast.Attribute) and isinstance(t.value, ast.Name) and t.value.id == "self"}
            if all(names & group for group in wanted):
                found.append(f"{module_name(path)}.{node.name}")
    return found


def test_one_class_carries_a_pages_next_link_and_count():
    # a page has two forms on its way: http's `Page` (bytes, head, then its parsed tickets) and flatten's `FlatPage`
    assert classes_with_fields({"next_url", "next"}, {"count"}) == ["pipelines.usercom.http.page.Page"]
    assert "pipelines.usercom.flatten.tables.FlatPage" in classes_with_fields({"tables"}, {"kept"})  # the scan sees fields


def test_importing_every_module_sets_nothing_in_the_process():
    # allocator, umask, logging and the run lock are set where a run starts, never on import
    names = sorted(import_graph())
    script = ("import importlib, logging, os, sys\n"
              "umask = os.umask(0o022); os.umask(umask)\n"
              f"for name in {names!r}:\n"
              "    importlib.import_module(name)\n"
              "print(os.environ.get('ARROW_DEFAULT_MEMORY_POOL'), os.umask(umask) == umask, logging.getLogger().handlers)\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith("ARROW_")}
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=240)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["None", "True", "[]"]


def test_the_command_line_and_the_job_load_no_pyarrow_before_the_run_chooses_its_allocator():
    script = "import sys, pipelines.cli, pipelines.job; print('pyarrow' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split() == ["False"]


def test_no_tracked_file_holds_a_merge_conflict_marker():
    root = Path(__file__).resolve().parent.parent
    tracked = subprocess.run(["git", "ls-files"], cwd=root, capture_output=True, text=True, check=True).stdout.split()
    marked = []
    for name in tracked:
        path = root / name
        if path.suffix in {".py", ".md", ".sql", ".yml", ".toml", ".ipynb", ".json", ".cfg", ""} and path.is_file():
            lines = path.read_text(errors="replace").splitlines()
            marked += [name for line in lines if line.startswith(("<<<<<<< ", ">>>>>>> "))]
    assert tracked and marked == []
