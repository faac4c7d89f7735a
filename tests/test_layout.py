"""The house rules, checked on the source: no import cycles, no module over ~500 lines, no string
dispatch on decompression kinds, no `isinstance` on law families outside their own modules."""

import ast
import pathlib
import re

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "freedecomp_jax"
LAW_TYPES = ("SpectralCurve", "LevyKhintchine", "ZeroRows", "Spikes")
LAW_MODULES = {"_curve.py", "_levy.py", "_levy_fit.py", "_zero_rows.py", "_spikes.py", "_law.py", "_kinds.py"}


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        yield name, path


def _imports(name: str, path: pathlib.Path, known: set[str]) -> set[str]:
    """Modules of the package that `path` imports anywhere (function-local imports included)."""
    package = name if path.name == "__init__.py" else name.rsplit(".", 1)[0]
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.level:
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
            target = f"{base}.{node.module}" if node.module else base
            out |= {t for t in [target] + [f"{target}.{a.name}" for a in node.names] if t in known}
    return out


def test_no_import_cycles():
    modules = dict(_modules())
    known = set(modules)
    # package __init__ files only re-export: the cycles that matter run between private modules
    graph = {m: {d for d in _imports(m, p, known) if modules[d].name != "__init__.py"} for m, p in modules.items() if p.name != "__init__.py"}
    state: dict[str, int] = {}
    cycles = []

    def visit(node, stack):
        state[node] = 1
        stack.append(node)
        for dep in sorted(graph.get(node, ())):
            if state.get(dep) == 1:
                cycles.append(stack[stack.index(dep) :] + [dep])
            elif dep not in state:
                visit(dep, stack)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node, [])
    assert len(graph) > 40 and cycles == []


def test_modules_stay_small():
    sizes = {p.name: len(p.read_text().splitlines()) for _, p in _modules()}
    assert max(sizes.values()) <= 500, sorted(sizes.items(), key=lambda kv: -kv[1])[:3]


def test_no_string_dispatch_and_no_law_type_checks():
    for _, path in _modules():
        text = path.read_text()
        assert not re.search(r"(?<![.\w])kind\s*[!=]=\s*['\"]", text), path  # a dtype's .kind is not a decompression kind
        if path.name not in LAW_MODULES:
            for law in LAW_TYPES:
                assert not re.search(rf"isinstance\([^)]*\b{law}\b", text), (path, law)
