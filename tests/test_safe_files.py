"""Safe files: results never overwrite an input, refuse locked or unwritable targets
(exit 4 with a sentence), never leave partial or temporary files, and write any
text that looks like a formula as text.  Input workbooks are parsed with
defusedxml protection (openpyxl) or by calamine, which resolves no entities.
"""

from __future__ import annotations

import hashlib
import os
import stat
import subprocess
import sys
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from tinycase import ROOT, tiny_sheets, write_input

from optmodel.errors import OutputError
from optmodel.io.write import SheetSpec, check_writable, write_workbook
from optmodel.pipeline import solve_workbook

FORMULA_LIKE = ["=1+1", "+A1", "-A1*2", "@SUM(A1:A3)", '=HYPERLINK("http://x","y")',
                "=cmd|' /C calc'!A0"]


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cli(*args: str) -> subprocess.CompletedProcess:
    """The real command line (a new Python process)."""
    return subprocess.run([sys.executable, str(ROOT / "run.py"), *args], capture_output=True,
                          text=True, timeout=120)


def _app(*args: str):
    """The same command line in-process (typer's runner): exit code and stderr, fast."""
    from typer.testing import CliRunner

    from optmodel.cli.main import app

    r = CliRunner().invoke(app, list(args))
    r.stderr_text = " ".join(r.stderr.split())
    return r


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.startswith(".") and
                p.suffix == ".xlsx"]


@pytest.fixture
def tiny(tmp_path: Path) -> Path:
    return write_input(tmp_path / "tiny.xlsx", tiny_sheets())


# ------------------------------------------------------------------ refusing targets


@pytest.mark.parametrize("spelling", ["same", "dotted", "symlink"])
def test_results_never_overwrite_the_input(tiny: Path, tmp_path: Path, spelling: str) -> None:
    target = {"same": tiny, "dotted": tmp_path / "." / "sub" / ".." / tiny.name,
              "symlink": tmp_path / "link.xlsx"}[spelling]
    (tmp_path / "sub").mkdir(exist_ok=True)
    if spelling == "symlink":
        target.symlink_to(tiny)
    before = _sha(tiny)
    if spelling == "same":  # once through a real process: exit code and no traceback
        r = _cli("solve", str(tiny), "-o", str(target), "--no-report")
        assert r.returncode == 4, r.stderr
        assert "it is an input file" in r.stderr and "Traceback" not in r.stderr
    else:
        r = _app("solve", str(tiny), "-o", str(target), "--no-report")
        assert r.exit_code == 4 and "it is an input file" in r.stderr_text
    assert _sha(tiny) == before
    with pytest.raises(OutputError, match="input file"):
        solve_workbook(tiny, target)
    assert _sha(tiny) == before


def test_write_model_may_not_overwrite_the_input(tiny: Path, tmp_path: Path) -> None:
    before = _sha(tiny)
    r = _app("solve", str(tiny), "-o", str(tmp_path / "r.xlsx"), "--write-model", str(tiny),
             "--no-report")
    assert r.exit_code == 4 and "input file" in r.stderr_text
    assert _sha(tiny) == before


def test_missing_output_folder_is_exit_4(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "no" / "such" / "folder" / "r.xlsx"
    r = _app("solve", str(tiny), "-o", str(out), "--no-report")
    assert r.exit_code == 4
    assert "does not exist" in r.stderr_text
    assert not out.parent.exists()


def _unwritable_folder(tmp_path: Path) -> Path:
    """A folder this process may not write in: chmod 555, or /sys when running as root
    (root ignores permission bits; sysfs refuses new files even to root)."""
    if os.geteuid() != 0:
        d = tmp_path / "readonly"
        d.mkdir()
        d.chmod(stat.S_IRUSR | stat.S_IXUSR)
        return d
    if Path("/sys").is_dir():
        return Path("/sys")
    pytest.skip("running as root without /sys: no folder root cannot write")


def test_read_only_folder_is_exit_4(tiny: Path, tmp_path: Path) -> None:
    folder = _unwritable_folder(tmp_path)
    out = folder / "optmodel_results_test.xlsx"
    r = _app("solve", str(tiny), "-o", str(out), "--no-report")
    assert r.exit_code == 4, r.output
    assert "Cannot write" in r.stderr_text
    assert not out.exists()
    if folder != Path("/sys"):
        folder.chmod(stat.S_IRWXU)
        assert _no_temp_files(folder)


@pytest.mark.skipif(os.geteuid() == 0, reason="root ignores a read-only file's mode")
def test_read_only_output_file_is_exit_4(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "r.xlsx"
    out.write_bytes(b"old results")
    out.chmod(stat.S_IRUSR)
    r = _app("solve", str(tiny), "-o", str(out), "--no-report")
    assert r.exit_code == 4 and "read-only or locked" in r.stderr_text
    assert out.read_bytes() == b"old results"


def test_libreoffice_lock_file_is_exit_4(tiny: Path, tmp_path: Path) -> None:
    out = tmp_path / "results.xlsx"
    out.write_bytes(b"results open in LibreOffice")
    lock = tmp_path / ".~lock.results.xlsx#"
    lock.write_text("user,host,2025-01-01")
    r = _cli("solve", str(tiny), "-o", str(out), "--no-report")
    assert r.returncode == 4
    said = " ".join(r.stderr.split())
    assert "open in LibreOffice/Excel" in said and ".~lock.results.xlsx#" in said
    assert "Traceback" not in r.stderr
    assert out.read_bytes() == b"results open in LibreOffice"
    # refused before any solving: the check comes first
    with pytest.raises(OutputError, match="Close it and run again"):
        check_writable(out, [tiny])


def test_template_refuses_locked_target(tmp_path: Path) -> None:
    out = tmp_path / "template.xlsx"
    (tmp_path / ".~lock.template.xlsx#").write_text("x")
    r = _app("template", str(out))
    assert r.exit_code == 4 and not out.exists()


# ------------------------------------------------------------------ atomic writes


def test_failed_write_leaves_old_file_and_no_temp(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "r.xlsx"
    out.write_bytes(b"previous results")
    import xlsxwriter

    def boom(self):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(xlsxwriter.Workbook, "close", boom)
    with pytest.raises(OutputError, match="No space left"):
        write_workbook(out, [SheetSpec("S", pd.DataFrame({"a": [1]}))])
    assert out.read_bytes() == b"previous results"
    assert _no_temp_files(tmp_path)


def test_interrupted_write_leaves_nothing(tmp_path: Path, monkeypatch) -> None:
    out = tmp_path / "r.xlsx"
    import xlsxwriter

    def interrupted(self):
        raise KeyboardInterrupt

    monkeypatch.setattr(xlsxwriter.Workbook, "close", interrupted)
    with pytest.raises(KeyboardInterrupt):
        write_workbook(out, [SheetSpec("S", pd.DataFrame({"a": [1]}))])
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------------ formula-safe text


def test_formula_like_text_is_written_as_text(tmp_path: Path) -> None:
    out = tmp_path / "t.xlsx"
    write_workbook(out, [SheetSpec("S", pd.DataFrame({"note": FORMULA_LIKE,
                                                      "n": range(len(FORMULA_LIKE))}))])
    ws = openpyxl.load_workbook(out)["S"]
    for i, text in enumerate(FORMULA_LIKE, start=2):
        cell = ws.cell(i, 1)
        assert cell.data_type == "s" and cell.value == text


def test_results_workbook_has_no_formulas(tmp_path: Path) -> None:
    """User-controlled text reaches the results through the input file name, the command
    line and Warnings messages; none of it may become a formula."""
    sheets = tiny_sheets()
    sheets["Products"].append(dict(product="slag", stage=0, reo_content=0))  # a warning
    sheets["Recipes"].append(dict(process="flot", product="slag", direction="out",
                                  qty_per_activity=4))
    inp = write_input(tmp_path / "=1+2.xlsx", sheets)
    out = tmp_path / "res.xlsx"
    solve_workbook(inp, out, command_line='=HYPERLINK("http://evil","click") @x -1 +1')
    wb = openpyxl.load_workbook(out)
    seen = set()
    for ws in wb.worksheets:
        for row in ws.iter_rows():
            for cell in row:
                assert cell.data_type != "f", f"{ws.title}!{cell.coordinate}: {cell.value}"
                if isinstance(cell.value, str) and cell.value[:1] in "=+-@":
                    assert cell.data_type == "s"
                    seen.add(cell.value)
    assert "=1+2.xlsx" in seen
    assert '=HYPERLINK("http://evil","click") @x -1 +1' in seen
    assert any(ws.title == "Warnings" for ws in wb.worksheets)


def test_diagnosis_workbook_has_no_formulas(tmp_path: Path) -> None:
    from optmodel.errors import InfeasibleError

    sheets = tiny_sheets()
    sheets["Markets"][1].update(min_t=300, max_t=400)
    inp = write_input(tmp_path / "@infeasible.xlsx", sheets)
    out = tmp_path / "diag.xlsx"
    with pytest.raises(InfeasibleError):
        solve_workbook(inp, out, command_line="-oops")
    wb = openpyxl.load_workbook(out)
    cells = [c for ws in wb.worksheets for row in ws.iter_rows() for c in row]
    assert all(c.data_type != "f" for c in cells)
    assert any(c.value == "@infeasible.xlsx" and c.data_type == "s" for c in cells)


# ------------------------------------------------------------------ XML safety


def test_defusedxml_protects_openpyxl() -> None:
    import defusedxml  # noqa: F401  (installed as a dependency)
    import openpyxl.xml

    assert openpyxl.xml.DEFUSEDXML is True


def test_entity_expansion_bomb_is_refused_or_harmless(tmp_path: Path) -> None:
    """A 'billion laughs' DTD inside sheet XML must not blow up memory or time."""
    import zipfile

    src = write_input(tmp_path / "ok.xlsx", tiny_sheets())
    bomb = tmp_path / "laughs.xlsx"
    lol = ('<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
           + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">'
                     for i in range(1, 10))
           + ']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
           '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&lol9;</t></is></c></row>'
           "</sheetData></worksheet>")
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(bomb, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                data = lol.encode()
            zout.writestr(info, data)
    r = _app("validate", str(bomb))
    assert r.exit_code == 2, r.output
    assert "cannot be read" in r.stderr_text
