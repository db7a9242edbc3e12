"""The rule index of docs/metrics.md: every rule points at a file that exists and mentions
the name given, and the rules the contract most easily scatters each have their one home."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "metrics.md"
ROW = re.compile(r"^\| (?P<rule>[^|]+?) \| `(?P<home>[^`]+)` \| `(?P<name>[^`]+)` \|$")


def index_rows() -> list[tuple[str, str, str]]:
    text = DOC.read_text()
    section = text.split("## Rule index", 1)[1].split("\n## ", 1)[0]
    return [
        (m["rule"], m["home"], m["name"])
        for line in section.splitlines()
        if (m := ROW.match(line.strip()))
    ]


def test_the_index_is_there_and_parsed():
    rows = index_rows()
    assert len(rows) >= 20
    table_lines = [
        line
        for line in DOC.read_text().split("## Rule index", 1)[1].split("\n## ", 1)[0].splitlines()
        if line.startswith("| ") and not line.startswith("| rule ")
    ]
    assert len(table_lines) == len(rows), "every row of the index has a file and a name"


@pytest.mark.parametrize(("rule", "home", "name"), index_rows())
def test_each_rule_points_at_a_file_that_mentions_it(rule, home, name):
    path = ROOT / home
    assert path.is_file(), f"{rule}: {home} does not exist"
    assert name in path.read_text(), f"{rule}: {home} does not mention {name}"


def test_every_macro_is_in_the_index():
    macros = re.findall(r"{% macro (\w+)\(", (ROOT / "metrics/models/macros.sql").read_text())
    named = {name for _, home, name in index_rows() if home == "metrics/models/macros.sql"}
    helpers = {"running_totals", "off_by_a_cent", "acv_band", "acv_band_name"}  # not rules
    assert set(macros) - helpers <= named


@pytest.mark.parametrize(
    ("macro", "written"),
    [
        # a rule with a home is not written out anywhere else in the code
        ("to_reporting_currency", r"as decimal\(38, 6\)\) \*"),
        ("cent_tolerance", r"0\.005"),
        ("churn_kind", r"bool_or\([^)]*\) then 'involuntary'"),
        ("acv_band_code", r"\* 12 <"),
        ("benchmark_band", r"from benchmark_bands as bands"),
        ("ledger_columns", r"\"start_date\",\s*\"end_date\",\s*\"mrr\""),
    ],
)
def test_a_rule_is_written_only_in_its_home(macro, written):
    home = ROOT / "metrics/models/macros.sql"
    assert f"{{% macro {macro}(" in home.read_text()
    places = [
        path.relative_to(ROOT).as_posix()
        for folder in ("metrics", "expectations", "nrr")
        for path in (ROOT / folder).rglob("*")
        if path.suffix in (".sql", ".py") and path != home and re.search(written, path.read_text())
    ]
    assert places == [], f"{macro} is written out in {places}"
