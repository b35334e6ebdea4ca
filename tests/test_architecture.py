"""The README's picture of the code, enforced: chat → eval → generate → index → (ingest, embed) → core.

A package may import its own modules and, through their `__init__` only, the packages directly below it.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
ALLOWED = {
    "core": set(),
    "ingest": {"core"},
    "embed": {"core"},
    "index": {"core", "ingest", "embed"},
    "generate": {"core", "index"},
    "eval": {"core", "generate", "index"},
    "chat": {"core", "eval", "generate", "index"},
}


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, dotted module) of every absolute import in a file, including imports inside functions."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def test_packages_import_only_downwards_and_only_through_init():
    problems = []
    for package, allowed in ALLOWED.items():
        for path in sorted((ROOT / package).rglob("*.py")):
            for line, module in _imports(path):
                top = module.split(".")[0]
                if top == package or top not in ALLOWED:
                    continue
                where = f"{path.relative_to(ROOT)}:{line} imports {module}"
                if top not in allowed:
                    problems.append(f"{where} ({package} may use {sorted(allowed) or 'nothing'})")
                elif module != top:
                    problems.append(f"{where} (use what {top}/__init__.py exports)")
    assert not problems, "\n".join(problems)


def test_the_check_sees_a_violation(tmp_path):
    upward = tmp_path / "upward.py"
    upward.write_text("def f():\n    from chat.cli import main\n", encoding="utf-8")
    assert _imports(upward) == [(2, "chat.cli")]
