"""Reading a source file's imports with ast, for the tests of the layout."""
import ast
from pathlib import Path


def imported_modules(path: Path):
    """The modules a source file imports by absolute name, read with ast (nothing is imported)."""
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
        elif isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
