"""Every word a page asks the catalogue for by a built name exists in both languages."""

from __future__ import annotations

import ast
from pathlib import Path

from microbranch.i18n import LANGS, entries

ROOT = Path(__file__).resolve().parent.parent


def _tuple(path: Path, name: str) -> tuple[str, ...]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Assign) and any(getattr(t, "id", None) == name for t in node.targets):
            return ast.literal_eval(node.value)
    raise AssertionError(f"{path.name} has no {name}")


def test_every_audit_action_has_its_words():
    actions = _tuple(ROOT / "app_pages" / "audit.py", "ACTIONS")
    missing = [a for a in actions for lang in LANGS if lang not in entries().get(f"access_action_{a}", {})]
    assert missing == [], f"the audit page names actions the catalogue has no words for: {missing}"
