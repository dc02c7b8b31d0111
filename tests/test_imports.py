"""The package's internal imports form no cycle (issue 17): every module's
imports of sibling modules, at top level or inside functions, read from
the source with ast."""
import ast
import os
import re

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def package_imports():
    """{module: {modules of the package it imports}}."""
    graph = {}
    for dirpath, _, files in os.walk(os.path.join(ROOT, "asr")):
        for name in files:
            if not name.endswith(".py"):
                continue
            path = os.path.join(dirpath, name)
            parts = os.path.relpath(path, ROOT)[:-3].split(os.sep)
            is_init = parts[-1] == "__init__"
            module = ".".join(parts[:-1] if is_init else parts)
            package = parts[:-1]
            deps = set()
            with open(path, encoding="utf-8") as f:
                tree = ast.parse(f.read(), path)
            for node in ast.walk(tree):
                if isinstance(node, ast.ImportFrom) and node.level:
                    base = package[:len(package) - node.level + 1]
                    if node.module:
                        deps.add(".".join(base + node.module.split(".")))
                    else:
                        deps.update(".".join(base + [a.name]) for a in node.names)
            graph[module] = deps
    return graph


def find_cycle(graph):
    """A list of modules forming a cycle, or None."""
    state = {}

    def visit(m, stack):
        state[m] = 1
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if d not in graph or d == "asr":
                continue
            if state.get(d) == 1:
                return stack[stack.index(d):] + [d]
            if d not in state:
                found = visit(d, stack)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return None

    for m in sorted(graph):
        if m not in state:
            found = visit(m, [])
            if found:
                return found
    return None


def test_the_package_has_no_import_cycle():
    graph = package_imports()
    assert "asr.stream" in graph and "asr.decoder" in graph["asr.stream"]
    assert find_cycle(graph) is None, " -> ".join(find_cycle(graph))


def test_the_cycle_finder_finds_one():
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]


def test_tools_and_tests_import_the_packages_without_path_hacks():
    """tools/ is a package run with ``python -m tools.NAME``; only the test
    suite's conftest puts its own directory (for tests/helpers.py) on the path."""
    offenders = []
    for top in ("tools", "tests"):
        for dirpath, _, files in os.walk(os.path.join(ROOT, top)):
            for name in files:
                path = os.path.join(dirpath, name)
                if not name.endswith(".py") or path.endswith(os.path.join("tests", "conftest.py")):
                    continue
                with open(path, encoding="utf-8") as f:
                    if re.search(r"(?m)^\s*sys\.path\.insert\(", f.read()):
                        offenders.append(os.path.relpath(path, ROOT))
    assert offenders == []
