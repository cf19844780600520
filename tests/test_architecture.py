"""The layering contracts of DESIGN.md hold (import-linter, configured in pyproject.toml), and no module imports
itself through others (grimp, import-linter's graph of the imports: those placed inside functions and those made
only for type checking count too, since each is a dependency of one module on the other all the same)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import grimp
import pytest

ROOT = Path(__file__).resolve().parents[1]
# The packages kept free of import cycles (bot joins once its wiring is typed; see issue 11).
ACYCLIC = ("access", "atlas", "storage", "bot")


def import_cycles(*packages: str) -> list[tuple[str, ...]]:
    """Each cycle among the modules of `packages` once, as the path that closes it (`a -> b -> a`)."""
    graph = grimp.build_graph(*packages, cache_dir=None)
    cycles: list[tuple[str, ...]] = []
    seen: set[frozenset[str]] = set()
    for module in sorted(graph.modules):
        for imported in sorted(graph.find_modules_directly_imported_by(module)):
            back = graph.find_shortest_chain(importer=imported, imported=module)
            if back is None:
                continue
            cycle = (module, *back)
            if frozenset(cycle) not in seen:
                seen.add(frozenset(cycle))
                cycles.append(cycle)
    return cycles


def test_no_module_of_the_domain_or_its_adapters_imports_itself_through_others() -> None:
    cycles = import_cycles(*ACYCLIC)
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(cycle) for cycle in cycles)


def test_a_cycle_is_found_however_it_hides(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # given a package whose modules import each other at the top, inside a function, and only for the type checker
    package = tmp_path / "cyclic"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "a.py").write_text("from cyclic import b\n")
    (package / "b.py").write_text("def later():\n    from cyclic import c\n")
    (package / "c.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from cyclic import a\n")
    (package / "d.py").write_text("from cyclic import a\n")  # imports into the cycle, and is not part of it
    monkeypatch.syspath_prepend(str(tmp_path))
    # then the one cycle is reported, with its path
    assert import_cycles("cyclic") == [("cyclic.a", "cyclic.b", "cyclic.c", "cyclic.a")]


def test_import_contracts_are_kept() -> None:
    lint = shutil.which("lint-imports", path=str(Path(sys.executable).parent)) or shutil.which("lint-imports")
    assert lint, "import-linter is part of the dev extra"
    result = subprocess.run([lint], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_domain_imports_only_the_standard_library_and_pydantic() -> None:
    allowed = {"access", "pydantic", "__future__"}
    stdlib = set(sys.stdlib_module_names)
    for path in (ROOT / "access").glob("*.py"):
        for line in path.read_text(encoding="utf-8").splitlines():
            words = line.split()
            if len(words) >= 2 and words[0] in ("import", "from") and not line.startswith(" "):
                top = words[1].split(".")[0]
                assert top in allowed or top in stdlib, f"{path.name}: {line}"


def test_the_domain_and_the_bot_type_check_strictly() -> None:
    mypy = shutil.which("mypy", path=str(Path(sys.executable).parent)) or shutil.which("mypy")
    assert mypy, "mypy is part of the dev extra"
    result = subprocess.run([mypy, "-p", "access", "-p", "bot"], cwd=ROOT, capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_code_passes_the_linter() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    assert ruff, "ruff is part of the dev extra"
    result = subprocess.run([ruff, "check", "--no-cache", "."], cwd=ROOT, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
