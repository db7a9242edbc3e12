"""Data Docs show ledger values as text: a value written as HTML never becomes markup in the
pages (the page a blocked close's Slack alert links to)."""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

from nrr.expectations.gates import validate_inputs
from tests.expectations.conftest import AS_OF, clean_rows, make_settings, write_csv

PAYLOADS = ("<img src=x onerror=alert(8)>", "<script>alert(9)</script>")


class Tags(HTMLParser):
    """Every start tag of a page with its attributes, and the text inside <script> tags."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str | None]]] = []
        self.scripts: list[str] = []
        self._in_script = False
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append((tag, dict(attrs)))
        self._in_script = tag == "script"

    def handle_endtag(self, tag):
        self._in_script = False

    def handle_data(self, data):
        (self.scripts if self._in_script else self.text).append(data)


def test_ledger_values_in_data_docs_are_text_not_markup(tmp_path):
    rows = clean_rows()
    rows[3]["currency"] = PAYLOADS[0]  # an invalid currency: listed among unexpected values
    rows[5]["currency"] = PAYLOADS[1]
    for row in rows:
        row["plan"] = PAYLOADS[0]  # a customer attribute on every row
    ledger = write_csv(rows, tmp_path / "ledger.csv")

    report = validate_inputs(make_settings(tmp_path / "data"), as_of=AS_OF, ledger_path=ledger,
                             previous=None)  # fmt: skip

    assert not report.passed  # the currency check failed and lists the values
    pages = list(Path(report.data_docs_path).parent.rglob("*.html"))
    assert len(pages) >= 2
    shown = []
    for page in pages:
        parser = Tags()
        parser.feed(page.read_text())
        handlers = [v for _, a in parser.tags for k, v in a.items() if k.startswith("on")]
        assert not [v for v in handlers if "alert(" in (v or "")], page
        assert not [a for t, a in parser.tags if t == "img" and a.get("src") == "x"], page
        assert not [s for s in parser.scripts if "alert(" in s], page
        shown.append("".join(parser.text))
    assert any(PAYLOADS[0] in text for text in shown)  # shown to the reader, as text
