"""No function of the product is longer than a screen (60 lines): ruff's statement count
(pyproject.toml) lets a long function of few, long statements through."""

import ast
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("data_utils", "models", "training", "search_spaces", "tune")
LONGEST = 60


def test_no_function_of_the_product_is_longer_than_60_lines():
    longer = [
        f"{path.relative_to(REPO)}:{node.lineno} {node.name} ({node.end_lineno - node.lineno + 1})"
        for package in PACKAGES
        for path in sorted((REPO / package).rglob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > LONGEST
    ]
    assert longer == []
