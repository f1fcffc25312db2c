"""The README's search examples work as written (`Ma%` was refused: a part needs 3 letters or digits)."""

from __future__ import annotations

import re
from pathlib import Path

from cti_daemon.crm.models import Customer
from cti_daemon.crm.numbers import NumberRules
from cti_daemon.crm.search import CustomerSearch
from cti_daemon.crm.store import Store

README = Path(__file__).resolve().parents[2] / "README.md"


def _documented_patterns() -> list[str]:
    section = README.read_text(encoding="utf-8").split("### Search", 1)[1].split("\n### ", 1)[0]
    return [t for t in re.findall(r"`([^`\s]+)`", section) if "%" in t and any(c.isalpha() for c in t)]


async def test_given_the_readme_like_examples_then_each_finds_maria(store: Store) -> None:
    async with store.session() as session, session.begin():
        session.add(Customer(id="c-1", name="Maria Ivanova", kind="person"))
        session.add(Customer(id="c-2", name="Ivanova Maria", kind="person"))
    search = CustomerSearch(store, NumberRules("RU"))
    patterns = _documented_patterns()
    assert len(patterns) >= 3, patterns
    for pattern in patterns:
        page = await search.search(pattern)
        assert page.items, pattern
