"""README.md and docs/*.md: every relative link resolves inside the repository (file and,
for a Markdown target, its #anchor), no link leads outside it, the Summary lines are all
defined in the README, and no document cites the contract outside the repository."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from optmodel.schema import OBJECTIVE_TERM_MEANINGS, SUMMARY_MEANINGS, summary_meaning

ROOT = Path(__file__).resolve().parent.parent
DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
REF_LINK = re.compile(r"^\s*\[[^\]]+\]:\s*(\S+)", re.MULTILINE)
HTML_LINK = re.compile(r"""(?:href|src)=["']([^"']+)["']""")


def _links(text: str) -> list[str]:
    text = re.sub(r"```.*?```", "", text, flags=re.DOTALL)  # code blocks are not links
    text = re.sub(r"`[^`\n]*`", "", text)  # nor is inline code
    return LINK.findall(text) + REF_LINK.findall(text) + HTML_LINK.findall(text)


def _anchors(md: Path) -> set[str]:
    """GitHub's heading anchors: lower case, punctuation dropped, spaces → hyphens."""
    out = set()
    for line in md.read_text(encoding="utf-8").splitlines():
        m = re.match(r"^#{1,6}\s+(.*?)\s*#*\s*$", line)
        if m:
            slug = re.sub(r"[^\w\- ]", "", m.group(1).strip().lower().replace("`", ""))
            out.add(slug.replace(" ", "-"))
    return out


@pytest.mark.parametrize("doc", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_relative_links_resolve_inside_the_repository(doc):
    links = _links(doc.read_text(encoding="utf-8"))
    for target in links:
        assert not re.match(r"^[a-z][a-z0-9+.-]*:", target, re.IGNORECASE), (
            f"{doc.name} links outside the repository: {target}")
        path, _, anchor = target.partition("#")
        dest = (doc.parent / path).resolve() if path else doc
        assert dest.is_relative_to(ROOT), f"{doc.name}: {target} leaves the repository"
        assert dest.exists(), f"{doc.name}: {target} does not exist"
        if anchor and dest.suffix == ".md":
            assert anchor in _anchors(dest), f"{doc.name}: no heading #{anchor} in {dest.name}"


def test_docs_do_not_cite_the_contract_outside_the_repository():
    for doc in DOCS:
        text = doc.read_text(encoding="utf-8")
        assert "../shared" not in text, doc.name
        assert "MODEL.md" not in text, doc.name


def test_the_formulation_ships_with_the_repository():
    text = (ROOT / "docs" / "model.md").read_text(encoding="utf-8")
    for name in ("product_balance", "process_capacity", "process_min_load", "build_limit",
                 "node_open_link", "deposit_reserve", "deposit_annual", "route_capacity",
                 "market_max", "market_min", "export_quota", "min_domestic_processing",
                 "investment_budget", "curve_segments", "national_npv_musd",
                 "domestic_demand_support_usd_per_t", "shadow_price_usd_per_t"):
        assert name in text, name
    for term in OBJECTIVE_TERM_MEANINGS:
        assert term.replace("_", " ") in text.replace("_", " "), term


def test_readme_defines_every_summary_line():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("### What each Summary line means", 1)[1].split("\n## ", 1)[0]
    for metric in SUMMARY_MEANINGS:
        assert f"| `{metric}` |" in section, metric
    assert "| `pv_<term>_musd` |" in section
    # and the workbook's meaning column has a sentence for every pv_ line too
    assert all(summary_meaning(f"pv_{t}_musd") for t in OBJECTIVE_TERM_MEANINGS)
