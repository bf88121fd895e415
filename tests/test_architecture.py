"""The structure stays as docs/architecture.md describes it.

Every name the package looks up at run time resolves, the worked example of the
architecture page runs, the core never imports the API, the CLI, napari or Qt,
and no two modules import each other (directly or through others).
"""

import ast
import dataclasses
import importlib
import re
import sys
from pathlib import Path

import numpy as np
import pytest

import napari_deepsuperpixel
from napari_deepsuperpixel.methods import REGISTRY

PKG = Path(napari_deepsuperpixel.__file__).parent
DOCS = Path(__file__).resolve().parents[1] / "docs"
CORE = ("methods", "nn", "training", "metrics", "io", "datasets", "annotate")


def _resolve(ref: str):
    module, _, attr = ref.partition(":")
    return getattr(importlib.import_module(module), attr)


@pytest.mark.parametrize("imports, forbidden", [
    # the package and its method list: no napari, Qt or torch (napari starts fast, scripts stay light)
    ("import napari_deepsuperpixel as n; n.list_methods()", ("napari", "qtpy", "PyQt5", "PyQt6", "torch", "magicgui")),
    # the napari reader and writers work without torch or Qt
    ("import napari_deepsuperpixel._napari._reader, napari_deepsuperpixel._napari._writer", ("torch", "qtpy", "PyQt5")),
    # metrics and datasets: numba and scipy only when a function needs them
    ("import napari_deepsuperpixel.metrics, napari_deepsuperpixel.datasets", ("numba", "scipy", "skimage")),
])
def test_imports_stay_light(imports, forbidden):
    import subprocess

    code = f"import sys; {imports}; bad = [m for m in {forbidden!r} if m in sys.modules]; print(bad); sys.exit(bool(bad))"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registry_reference_resolves(name):
    info = REGISTRY[name]
    assert dataclasses.is_dataclass(_resolve(info.params_ref)), info.params_ref
    assert callable(_resolve(info.runner_ref)), info.runner_ref
    assert info.parameters, f"{name} declares no parameters"
    assert all(p.help for p in info.parameters), f"{name}: every parameter needs a help text"


def test_cli_modules_and_trainers_resolve():
    from napari_deepsuperpixel.cli import SUBCOMMAND_MODULES
    from napari_deepsuperpixel.training import TRAINERS, get_trainer

    for mod in SUBCOMMAND_MODULES:
        assert callable(importlib.import_module(mod).add_parser), mod
    for model in TRAINERS:
        assert callable(get_trainer(model))


def _imports(path: Path, modules=()) -> set:
    """Absolute module names imported anywhere in a file (also inside functions).

    ``from pkg import sub`` counts as importing ``pkg.sub`` when that is one of
    ``modules`` (the package itself is then already imported), else ``pkg``.
    """
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    package = parts if path.name == "__init__.py" else parts[:-1]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[: len(package) - node.level + 1] if node.level else []
            mod = ".".join(base + ([node.module] if node.module else []))
            subs = {f"{mod}.{a.name}" for a in node.names} & set(modules)
            out |= subs if subs else {mod}
    return out


def _modules() -> dict:
    mods = {}
    for path in PKG.rglob("*.py"):
        rel = path.relative_to(PKG.parent).with_suffix("")
        parts = list(rel.parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        mods[".".join(parts)] = path
    return mods


def test_core_never_imports_the_api_the_cli_napari_or_qt():
    bad = re.compile(r"^(napari|qtpy|PyQt5|PyQt6|PySide2|PySide6|magicgui|superqt)(\.|$)"
                     r"|^napari_deepsuperpixel\.(api|cli)(\.|$)")
    offenders = []
    for name, path in _modules().items():
        parts = name.split(".")
        if len(parts) > 1 and parts[1] in CORE:
            offenders += [f"{name} imports {m}" for m in _imports(path) if bad.match(m)]
    assert not offenders, offenders


def test_no_import_circles():
    mods = _modules()
    graph = {name: {m for m in _imports(path, mods) if m in mods and m != name} for name, path in mods.items()}
    state, stack, circles = {}, [], []

    def visit(n):
        state[n] = 1
        stack.append(n)
        for m in graph[n]:
            if state.get(m) == 1:
                circles.append(stack[stack.index(m):] + [m])
            elif m not in state:
                visit(m)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    assert not circles, [" -> ".join(c) for c in circles]


def test_the_worked_example_of_the_architecture_page_runs(tmp_path, monkeypatch):
    text = (DOCS / "architecture.md").read_text()
    blocks = re.findall(r"```python\n# file: (\S+)\n(.*?)```", text, flags=re.S)
    files = dict(blocks)
    assert set(files) == {"my_grid.py", "use_grid.py"}
    (tmp_path / "my_grid.py").write_text(files["my_grid.py"])
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        exec(compile(files["use_grid.py"], "use_grid.py", "exec"), {})
        info = REGISTRY["grid"]
        assert [p.role for p in info.parameters] == ["count"]
        labels = napari_deepsuperpixel.segment(np.zeros((30, 30)), "grid", n_segments=9)
        assert labels.max() == 9
    finally:
        REGISTRY.pop("grid", None)
        sys.modules.pop("my_grid", None)



def test_no_circles_between_folders():
    """The folders form layers (docs/architecture.md): no folder imports one that imports it back."""
    mods = _modules()
    top = lambda m: m.split(".")[1] if m.count(".") >= 1 else ""  # noqa: E731
    graph: dict = {}
    for name, path in mods.items():
        for m in _imports(path, mods):
            if m in mods and top(m) and top(name) and top(m) != top(name):
                graph.setdefault(top(name), set()).add(top(m))
    # the package root (__init__.py, api.py) hands names on; folders may use it
    circles = [(a, b) for a in graph for b in graph[a] if a in graph.get(b, set())]
    assert not circles, circles
