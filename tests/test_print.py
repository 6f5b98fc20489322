"""Results and difference workbooks print sensibly: checked through LibreOffice's PDF export.

Every sheet prints A4 landscape, fitted to the page width, with its header row repeated;
the Summary (with its `meaning` column) fits on one page.  Skipped with the reason when
LibreOffice is not installed.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from tinycase import tiny_sheets, write_input

from optmodel.compare import compare_results
from optmodel.io.write import write_workbook
from optmodel.pipeline import solve_workbook
from optmodel.results.tables import summary_spec

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(SOFFICE is None, reason="LibreOffice (soffice) is not installed: the "
                       "PDF export check needs it"),
]


def _pdf_pages(pdf: Path) -> int:
    """Pages of a PDF (LibreOffice writes its page tree uncompressed)."""
    data = pdf.read_bytes()
    return len(re.findall(rb"/Type\s*/Page\b(?!s)", data))


def _to_pdf(files: list[Path], outdir: Path) -> dict[str, int]:
    profile = outdir / "lo_profile"
    subprocess.run([SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless",
                    "--convert-to", "pdf", "--outdir", str(outdir), *map(str, files)],
                   check=True, capture_output=True, timeout=300)
    return {f.stem: _pdf_pages(outdir / f"{f.stem}.pdf") for f in files}


@pytest.fixture(scope="module")
def printed(tmp_path_factory) -> dict:
    d = tmp_path_factory.mktemp("print")
    src = write_input(d / "tiny.xlsx", tiny_sheets())
    base, duty = d / "tiny_base.xlsx", d / "tiny_duty.xlsx"
    res = solve_workbook(src, base, report=False)
    solve_workbook(src, duty, scenario="duty50", report=False)
    diff = d / "tiny_diff.xlsx"
    compare_results([base, duty], diff)
    summary_only = d / "summary_only.xlsx"
    write_workbook(summary_only, [summary_spec(res.tables["Summary"])])
    pages = _to_pdf([base, diff, summary_only], d)
    return {"pages": pages, "base": base, "diff": diff, "summary": res.tables["Summary"]}


def test_summary_prints_on_one_page(printed):
    # the Summary has every §4 line (about 35) and a sentence for each: still one page
    assert len(printed["summary"]) >= 30
    assert printed["pages"]["summary_only"] == 1


def test_results_and_diff_workbooks_page_totals(printed):
    sheets = pd.ExcelFile(printed["base"], engine="calamine").sheet_names
    diff_sheets = pd.ExcelFile(printed["diff"], engine="calamine").sheet_names
    # the tiny case's sheets are short: fitted to the width, each prints on one page (an
    # empty sheet has a header only and still prints one), the Inputs sheet (≈55 lines) on
    # at most two
    assert len(sheets) <= printed["pages"]["tiny_base"] <= len(sheets) + 1
    assert len(diff_sheets) <= printed["pages"]["tiny_diff"] <= len(diff_sheets) + 1


def test_print_setup_in_the_file(printed):
    with zipfile.ZipFile(printed["base"]) as z:
        names = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        sheet_xml = {n: z.read(n).decode() for n in names}
        book = z.read("xl/workbook.xml").decode()
    for xml in sheet_xml.values():
        assert 'orientation="landscape"' in xml
        assert 'fitToWidth="1"' in xml or "fitToPage" in xml
    # the Summary (sheet1) fits height too: fitToHeight 1, the others are unbounded (0)
    assert 'fitToHeight="0"' not in sheet_xml["xl/worksheets/sheet1.xml"]
    assert 'fitToHeight="0"' in sheet_xml["xl/worksheets/sheet2.xml"]
    # header row repeated on every page: a print-titles name for every sheet
    assert book.count("_xlnm.Print_Titles") == len(sheet_xml)
