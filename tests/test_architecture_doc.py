"""docs/architecture.md names every module, in the row of its folder, at its folder's rank.

A module added without a line in the doc, or a folder moved to another rank in
``tests/test_import_graph.py`` but not in the doc, fails here.
"""

from __future__ import annotations

import re
from pathlib import Path

from test_import_graph import PACKAGE, import_graph, rank_of

DOC = PACKAGE.parent / "docs" / "architecture.md"
ROW = re.compile(r"^\| `(?P<folder>[\w/]+)` \| (?P<rank>\d+) \| (?P<text>.*) \|$")


def doc_rows() -> list[tuple[str, int, str]]:
    """(folder, rank, text) of each row of the "Who owns what" table."""
    rows = []
    for line in DOC.read_text(encoding="utf-8").splitlines():
        if m := ROW.match(line):
            rows.append((m["folder"].rstrip("/"), int(m["rank"]), m["text"]))
    return rows


def folder_and_leaf(module: str) -> tuple[str, str]:
    """``nbwandb.run.writer`` -> (``run``, ``writer``); ``nbwandb.errors`` -> (``nbwandb``, ``errors``);
    a package's ``__init__`` -> its own name in its parent's row."""
    path = PACKAGE.parent.joinpath(*module.split("."))
    parts = module.split(".")[1:]
    if path.is_dir():  # a package: listed by the row of its folder
        return (parts[0] if parts else "nbwandb"), "__init__"
    return ("/".join(parts[:-1]) or "nbwandb"), parts[-1]


def test_the_doc_has_a_row_for_every_folder_at_its_rank():
    rows = doc_rows()
    assert rows, "no table rows found in docs/architecture.md"
    for folder, rank, _ in rows:
        module = "nbwandb" if folder == "nbwandb" else f"nbwandb.{folder.replace('/', '.')}"
        if folder == "nbwandb":
            continue  # the top-level files have rows at two ranks, checked per module below
        assert rank_of(module) == rank, (
            f"{folder}/ is rank {rank} in the doc, {rank_of(module)} in the test"
        )


def test_every_module_is_named_in_its_folders_row():
    rows = doc_rows()
    missing = []
    for module in sorted(import_graph()):
        folder, leaf = folder_and_leaf(module)
        if leaf == "__init__" and folder != "nbwandb":
            assert any(f == folder for f, _, _ in rows), f"no row for {folder}/"
            continue
        texts = [t for f, r, t in rows if f == folder and r == rank_of(module)]
        if not any(f"`{leaf}`" in t for t in texts):
            missing.append(f"{module} (`{leaf}` in the `{folder}/` row at rank {rank_of(module)})")
    assert missing == [], "modules missing from docs/architecture.md:\n" + "\n".join(missing)


def test_the_check_finds_a_missing_module(tmp_path: Path):
    assert folder_and_leaf("nbwandb.run.writer") == ("run", "writer")
    assert folder_and_leaf("nbwandb.errors") == ("nbwandb", "errors")
    assert folder_and_leaf("nbwandb.local") == ("local", "__init__")
    rows = doc_rows()
    assert not any("`no_such_module`" in t for _, _, t in rows)
