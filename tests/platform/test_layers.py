"""The areas of services/ depend one way: each imports only the packages before it in LAYERS, and
takes from another area only what that area's `__init__` docstring lists under "Other areas may
call:". A name an area keeps for itself can then change without a search through the others."""
import ast
import re
from pathlib import Path

import pytest

import services

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ROOT / "services"

# Lowest first. platform knows no area; events is what every area emits into; read_models composes
# the areas for showing. An area may import any package listed before it, never one after.
LAYERS = ("platform", "events", "wechat", "index", "leaderboards", "messages", "members", "ledger", "coupons",
          "levels", "tasks", "signin", "payments", "guides", "invites", "mall", "stats",
          "read_models")
OPEN = {"platform"}  # the foundation: everything public in it may be used


def _package_of(path: Path) -> str:
    return path.relative_to(SERVICES).parts[0]


def _modules():
    return sorted(path for path in SERVICES.rglob("*.py") if path.parent != SERVICES)


def _imports(tree: ast.AST):
    """(line, package, module or None, names) for each import of another services package."""
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module == "services":
            for alias in node.names:
                yield node.lineno, alias.name, None, [(alias.asname or alias.name, None)]
        elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("services."):
            package, _, module = node.module.removeprefix("services.").partition(".")
            yield node.lineno, package, module or None, [(alias.asname or alias.name, alias.name) for alias in node.names]
        elif isinstance(node, ast.Import):
            for alias in node.names:
                assert not alias.name.startswith("services."), f"import {alias.name}: use from … import"


def _surface(package: str) -> set[str]:
    """What a package's docstring lists under "Other areas may call:", as module.name (or name)."""
    doc = ast.get_docstring(ast.parse((SERVICES / package / "__init__.py").read_text())) or ""
    listed = re.search(r"Other areas may call:(.*?)(?<!\.\.)\.(\s|$)", re.sub(r"\([^()]*\)", "", doc), re.S)
    names, module = set(), None
    for token in re.findall(r"[\w.]+|/|;|,", listed[1] if listed else ""):
        if token in "/;,":
            continue
        if "." in token:
            module, _, name = token.rpartition(".")
            names.add(f"{module}.{name}")
        elif module is not None:
            names.add(f"{module}.{token}")
        else:
            names.add(token)
    return names


def _taken(tree: ast.AST, package: str, module: str | None, names):
    """The names a file takes from an import: module.attribute for each use of an imported module."""
    for bound, imported in names:
        if module is None and not (SERVICES / package / f"{bound}.py").exists():
            # `from services import events` binds a package: its attributes are what is taken
            yield from (f"{attr}" for attr in _attributes(tree, bound))
        elif module is None:
            yield from (f"{imported or bound}.{attr}" for attr in _attributes(tree, bound))
        elif (SERVICES / package / module / f"{imported}.py").exists() or (SERVICES / package / module / imported).is_dir():
            yield from (f"{imported}.{attr}" for attr in _attributes(tree, bound))
        elif (SERVICES / package / f"{module}.py").exists() or (SERVICES / package / module).is_dir():
            yield f"{module}.{imported}"


def _attributes(tree: ast.AST, bound: str):
    return {node.attr for node in ast.walk(tree)
            if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == bound}


def test_every_package_has_its_place_in_the_order():
    packages = {path.name for path in SERVICES.iterdir() if (path / "__init__.py").exists()}
    assert packages == set(LAYERS)


def test_the_wiring_lists_the_areas_in_the_order():
    wired = [area.name for area in services.AREAS]
    assert wired == [name for name in LAYERS if name in wired]


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(SERVICES)))
def test_an_area_imports_only_the_areas_below_it(path):
    own = _package_of(path)
    for line, package, _, _ in _imports(ast.parse(path.read_text())):
        if package != own:
            assert LAYERS.index(package) < LAYERS.index(own), \
                f"{path.relative_to(ROOT)}:{line} imports services.{package}, which comes after {own} in LAYERS"


@pytest.mark.parametrize("path", _modules(), ids=lambda path: str(path.relative_to(SERVICES)))
def test_an_area_takes_from_another_only_what_that_area_lists(path):
    own = _package_of(path)
    tree = ast.parse(path.read_text())
    for line, package, module, names in _imports(tree):
        if package == own or package in OPEN:
            continue
        unlisted = set(_taken(tree, package, module, names)) - _surface(package)
        assert not unlisted, (f"{path.relative_to(ROOT)}:{line} takes {sorted(unlisted)} from services.{package}, "
                              f"whose __init__ docstring does not list them under 'Other areas may call:'")


def test_the_surface_parser_reads_a_listing():
    assert _surface("ledger") >= {"points.earn", "points.spend", "growth.earn"}
