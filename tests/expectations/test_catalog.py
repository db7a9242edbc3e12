"""The suites are valid GX 1.x suites, every audit exists, and the docs list every check."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nrr.expectations.catalog import (
    SUPPORTED_EXPECTATIONS,
    checks_markdown,
    load_suite,
    render_audit,
    suite_names,
)

DOCS = Path(__file__).resolve().parents[2] / "docs" / "validation.md"


def test_docs_list_every_check_as_the_suites_define_it():
    text = DOCS.read_text()
    begin, end = "<!-- checks:begin -->\n", "<!-- checks:end -->"
    embedded = text[text.index(begin) + len(begin) : text.index(end)].strip()
    assert embedded == checks_markdown().strip(), "run: python -m nrr.expectations.catalog"


@pytest.mark.parametrize("name", suite_names())
def test_suite_loads_into_gx_and_audits_render(name):
    import great_expectations as gx
    from great_expectations.expectations.expectation_configuration import (
        ExpectationConfiguration,
    )

    spec = load_suite(name, _all_parameters())
    assert spec.expectations and not spec.skipped
    suite = gx.ExpectationSuite(
        name=name,
        expectations=[ExpectationConfiguration(**e.config()).to_domain_obj()
                      for e in spec.expectations],
    )  # fmt: skip
    assert len(suite.expectations) == len(spec.expectations)
    for expectation in spec.expectations:
        assert expectation.type in SUPPORTED_EXPECTATIONS
        if expectation.audit:
            assert render_audit(expectation.audit, expectation.meta.get("audit_args") or {})


def test_expectations_without_a_one_pass_form_are_refused(tmp_path, monkeypatch):
    from nrr.expectations import catalog

    (tmp_path / "bad.json").write_text(
        '{"name": "bad", "expectations": [{"type": "expect_column_values_to_be_unique", '
        '"kwargs": {"column": "id"}, "description": "ids unique"}]}'
    )
    monkeypatch.setattr(catalog, "SUITES_DIR", tmp_path)
    catalog._suite_json.cache_clear()
    try:
        with pytest.raises(ValueError, match="has no one-pass SQL form"):
            load_suite("bad", {})
    finally:
        catalog._suite_json.cache_clear()


def test_compute_path_does_not_import_great_expectations():
    code = (
        "import sys, nrr.cli, nrr.compute, expectations; print('great_expectations' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)  # fmt: skip
    assert result.stdout.strip() == "False"


def _all_parameters() -> dict:
    from datetime import date

    import pandas as pd

    day = pd.Timestamp(date(2025, 6, 1))
    return {
        "as_of": day, "close_last_day": day, "close_end": day, "now": day, "earliest_date": day,
        "reporting_currency": "usd", "iso_currencies": ["usd", "eur"], "min_rows": 1,
        "max_rows": 2, "min_total_mrr": 1.0, "max_total_mrr": 2.0,
    }  # fmt: skip
