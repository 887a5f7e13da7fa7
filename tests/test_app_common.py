"""The one formatter of counts with denominators (issue 5: never a bare percentage)."""
from pages.common import PAGES, frac, pages_for


def test_frac_shows_count_denominator_and_percent():
    # 3 / 9 = 0.333 -> 33%
    assert frac(3, 9) == "3 / 9 (33%)"


def test_frac_rounds_to_whole_percent():
    # 2 / 3 = 66.67% -> 67; 1 / 2 = 50%
    assert frac(2, 3) == "2 / 3 (67%)"
    assert frac(1, 2) == "1 / 2 (50%)"


def test_frac_with_zero_denominator_shows_no_percentage():
    assert frac(0, 0) == "0 / 0 (–)"


def test_frac_treats_missing_counts_as_zero():
    assert frac(None, 4) == "0 / 4 (0%)"


def test_roles_pages_match_issue_6():
    assert pages_for("pi") == list(PAGES)
    assert set(pages_for("monitor")) == {"overview", "enrollment", "safety", "labs", "subject"}
    assert set(pages_for("data")) == {"data_quality", "enrollment"}
    assert "efficacy" not in pages_for("data") and "glucocorticoids" not in pages_for("data")


def test_pages_reach_the_contract_only_through_the_warehouse_layer():
    """One-way layers (DEVELOPERS.md): pages read warehouse/ (queries, study facts); they never
    import the ETL, so no page can re-derive a clinical result or re-type a rule's number."""
    import ast
    from pathlib import Path

    offenders = []
    for f in sorted((Path(__file__).resolve().parent.parent / "pages").glob("*.py")):
        for node in ast.walk(ast.parse(f.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{f.name}: {n}" for n in names if n == "etl" or n.startswith("etl.")]
    assert offenders == []
