"""The layers stay in order: pages → lib.ui → domain (lib/*.py) → lib.local_studio.

Streamlit is imported only in lib.ui, the pages and app.py.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOMAIN = sorted(path for path in (ROOT / "lib").rglob("*.py")
                if "ui" not in path.relative_to(ROOT / "lib").parts)


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at any depth (lazy imports inside functions included)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
    return names


def test_domain_modules_exist():
    """The scan below covers the domain code (a moved folder would otherwise make it pass on nothing)."""
    assert {"client.py", "store.py", "workspace.py", "app.py"} <= {path.name for path in DOMAIN}


@pytest.mark.parametrize("path", DOMAIN, ids=lambda path: str(path.relative_to(ROOT)))
def test_domain_code_imports_neither_streamlit_nor_the_ui(path: Path):
    """Domain code and the Local Studio are plain Python: no streamlit, no lib.ui."""
    bad = {name for name in imported_modules(path)
           if name.split(".")[0] == "streamlit" or name == "lib.ui" or name.startswith("lib.ui.")}
    assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_local_studio_does_not_import_the_app_side():
    """The Local Studio is a server of its own: it may use the shared contract rules, not the client."""
    for path in (ROOT / "lib" / "local_studio").rglob("*.py"):
        bad = {name for name in imported_modules(path) if name.startswith(("lib.client", "lib.workspace",
                                                                            "lib.store", "lib.history_",
                                                                            "lib.ui"))}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_the_check_sees_a_streamlit_import(tmp_path: Path):
    """The scanner itself finds an import hidden inside a function."""
    sample = tmp_path / "sample.py"
    sample.write_text("def f():\n    import streamlit as st\n    from lib.ui import session\n")
    assert {"streamlit", "lib.ui", "lib.ui.session"} <= imported_modules(sample)
