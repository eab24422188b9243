"""The code's floor plan holds: no import cycles, layers only point down, analysis stays pure,
production code never reaches for development data, and long modules say why they are whole.

Imports are read from the source (every import, also those inside functions), so a cycle hidden
behind a late import still counts."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PROJECT = Path(__file__).resolve().parents[2]
MODULE_LINES = 450  # past this a module is split by responsibility, or says "Kept whole: why"

# The entry layer: pages, forms, the API, the CLI, app assembly and template helpers.
WEB_MODULES = {
    "app",
    "app.web",
    "app.cli",
    "app.templating",
    "app.navigation",
    "app.form_widgets",
    "app.form_errors",
    "app.staff",
    "app.health",
    "app.errors.handlers",
    "app.downloads",
    "app.overload",
}
WEB_PACKAGES = ("app.api", "app.admin")
WEB_MODULE_NAMES = {"views", "forms", "blueprint", "downloads", "responses"}
# The bottom layer: models, pure analysis and the few modules everything may use.
BASE_MODULES = {"app.extensions", "app.config", "app.errors", "app.parsing"}
BASE_PACKAGES = ("app.models", "app.analysis")
LAYERS = {"base": 0, "service": 1, "web": 2, "worker": 3}
PURE_ANALYSIS_MAY_IMPORT = ("app.analysis",)
# Packages whose __init__ gathers its own modules by design (the models re-exported as one
# namespace; the API's resources registered on one Api): their modules' edge to them is not a
# cycle. Every other package's __init__ is a docstring, and an import added to one counts.
ASSEMBLING_PACKAGES = {"app.models", "app.api"}
IMPURE = ("flask", "flask_babel", "flask_login", "sqlalchemy", "celery", "redis", "werkzeug")


def module_files() -> dict[str, Path]:
    modules = {}
    for folder in ("app", "worker"):
        for path in (PROJECT / folder).rglob("*.py"):
            parts = list(path.relative_to(PROJECT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            modules[".".join(parts)] = path
    return modules


MODULES = module_files()


def own_module(name: str) -> str | None:
    """The project module that `name` (a module or a name inside one) belongs to."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def imported_names(path: Path, module: str = "") -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: from the module's own package upwards
                package = module if path.name == "__init__.py" else module.rpartition(".")[0]
                for _level in range(node.level - 1):
                    package = package.rpartition(".")[0]
                base = f"{package}.{base}" if base else package
            # `from app import audit` imports the module app.audit, not the package app.
            names.update(f"{base}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def project_imports(module: str, path: Path) -> set[str]:
    found = {own_module(name) for name in imported_names(path, module)}
    # Importing app.feedback.services runs app/feedback/__init__.py first: a domain package's
    # own imports count. (The top-level packages, app and worker, are where each process
    # starts, so they are left out.)
    parents = module.split(".")[:-1]
    found.update(".".join(parents[:depth]) for depth in range(2, len(parents) + 1))
    found -= ASSEMBLING_PACKAGES
    return {name for name in found if name and name in MODULES}


GRAPH = {name: project_imports(name, path) - {name} for name, path in MODULES.items()}


def layer(module: str) -> str:
    if module.split(".")[0] == "worker":
        return "worker"
    last = module.rpartition(".")[2]
    if (
        module in WEB_MODULES
        or module.startswith(WEB_PACKAGES)
        or last in WEB_MODULE_NAMES
        or last.endswith(("_views", "_forms"))
    ):
        return "web"
    if module in BASE_MODULES or module.startswith(BASE_PACKAGES):
        return "base"
    return "service"


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iteratively: the groups of modules that import each other."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    groups = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    groups.append(sorted(group))
    return groups


def test_relative_imports_and_parent_packages_count(tmp_path):
    source = tmp_path / "services.py"
    source.write_text("from . import positions\nfrom ..models import Feedback\n")
    assert imported_names(source, "app.feedback.services") == {
        "app.feedback.positions",
        "app.models.Feedback",
    }
    parents = project_imports("app.feedback.services", MODULES["app.feedback.services"])
    assert "app.feedback" in parents and "app" not in parents


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert strongly_connected(graph) == [["a", "b", "c"]]


def test_no_module_imports_itself_back_through_others():
    assert strongly_connected(GRAPH) == []


@pytest.mark.parametrize(
    ("module", "expected"),
    [
        ("app.feedback.services", "service"),
        ("app.feedback.views", "web"),
        ("app.feedback.cosigning_views", "web"),
        ("app.reports.blueprint", "web"),
        ("app.api.feedback", "web"),
        ("app.models.feedback", "base"),
        ("app.analysis.themes", "base"),
        ("worker.reports", "worker"),
    ],
)
def test_modules_are_placed_in_their_layer(module, expected):
    assert module in MODULES
    assert layer(module) == expected


def test_layers_only_point_down():
    upward = [
        f"{module} ({layer(module)}) imports {target} ({layer(target)})"
        for module, targets in GRAPH.items()
        for target in targets
        if LAYERS[layer(target)] > LAYERS[layer(module)]
    ]
    assert upward == []


def test_analysis_is_pure():
    impure = []
    for module, path in MODULES.items():
        if not module.startswith("app.analysis"):
            continue
        for name in imported_names(path):
            top = name.split(".")[0]
            if top in IMPURE or (top == "app" and not name.startswith(PURE_ANALYSIS_MAY_IMPORT)):
                impure.append(f"{module} imports {name}")
    assert impure == []


def test_production_code_never_imports_development_data():
    # The CLI's demo-data and generate-feedback commands are the one door to app.dev.
    reaching = [
        f"{module} imports {target}"
        for module, targets in GRAPH.items()
        for target in targets
        if target.startswith("app.dev") and not module.startswith("app.dev") and module != "app.cli"
    ]
    assert reaching == []


def test_app_never_imports_the_worker():
    assert [
        m
        for m, targets in GRAPH.items()
        if m.startswith("app") and any(t.startswith("worker") for t in targets)
    ] == []


def test_long_modules_say_why_they_are_whole():
    unexplained = []
    for module, path in MODULES.items():
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > MODULE_LINES and "kept whole" not in " ".join(lines[:6]).lower():
            unexplained.append(f"{module} ({len(lines)} lines)")
    assert unexplained == []


def test_the_analysis_layer_lists_stances_in_the_vocabulary_order():
    from app.analysis.tally import STANCES as ANALYSIS_STANCES
    from app.vocabulary import STANCES

    assert ANALYSIS_STANCES == STANCES
