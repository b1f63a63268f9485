"""The house rules of STYLE.md that a machine can check."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(package: str) -> set[str]:
    found = set()
    for path in (ROOT / package).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                found.add(node.module.split(".")[0])
    return found


def test_drivers_and_labels_import_nothing_of_rma():
    for package in ("drivers", "labels"):
        assert (ROOT / package / "__init__.py").exists()
        assert "rma" not in _imports(package), f"{package} must not import rma"


def test_every_area_has_its_folder():
    for area in ("core", "intake", "bench", "test_station", "inventory", "reports", "ui", "migrations"):
        assert (ROOT / "rma" / area / "__init__.py").exists(), area


def test_models_and_services_never_import_the_ui():
    for path in (ROOT / "rma").rglob("*.py"):
        if path.name in {"services.py", "models.py", "checks.py", "ledger.py", "states.py"}:
            assert not {"nicegui", "rma.ui"} & _module_imports(path), path


def _module_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            out |= {a.name for a in node.names} | {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out |= {node.module, node.module.split(".")[0]}
    return out
