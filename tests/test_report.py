"""The HTML report: figures from result tables, self-contained offline pages, real rendering."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
import zlib
from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
import pytest
from plotly.offline import get_plotlyjs
from results_fixtures import results_tables, write_results_workbook

from optmodel.compare import compare_results
from optmodel.errors import InputError, OutputError
from optmodel.model.objective import PV_TERM_LINES
from optmodel.report import colour_for, report_figures, write_report
from optmodel.report.batch_page import write_batch_page
from optmodel.report.figures import depth_by_year, npv_terms

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def paths(tmp_path_factory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("report")
    a = write_results_workbook(d / "base_results.xlsx")
    b = write_results_workbook(d / "no_sep_results.xlsx", results_tables(False))
    write_report(a, d / "base_report.html")
    compare_results([a, b], None, d / "compare.html")
    write_batch_page(d / "batch.html", _sweep_runs(), [PRICE], {"input_file": "in.xlsx",
                                                                "solved": 4, "failed": 1})
    return {
        "a": a,
        "b": b,
        "report": d / "base_report.html",
        "compare": d / "compare.html",
        "batch": d / "batch.html",
        "dir": d,
    }


PRICE = "Markets|*|oxide|sell|export|*:price_usd_per_t"


def _sweep_runs() -> pd.DataFrame:
    """A Runs table of five sweep runs, the last one infeasible."""
    return pd.DataFrame({
        "scenario": [f"sweep_{i:03d}" for i in range(1, 6)],
        PRICE: [10000.0, 20000.0, 30000.0, 40000.0, 50000.0],
        "status": ["optimal"] * 4 + ["infeasible"], "exit_code": [0, 0, 0, 0, 1],
        "message": [""] * 4 + ["The model is infeasible: <no plan>"],
        "npv_musd": [-5.0, 12.5, 30.0, 47.5, None],
        "processing_depth_index": [1.0, 2.0, 3.0, 3.0, None],
        "raw_export_share": [1.0, 0.5, 0.0, 0.0, None],
        "domestic_value_added_musd": [0.0, 20.0, 40.0, 60.0, None],
        "builds": ["none", "Sep ×1 (2026)", "Sep ×1 (2026)", "Sep ×2 (2026)", ""],
        "time_s": [0.3] * 5})


def _titles(fig: go.Figure) -> str:
    return fig.layout.title.text or ""


# --------------------------------------------------------------------------- figures


def test_report_figures_all_present_and_labelled():
    figs = report_figures(results_tables())
    titles = [t for t, _ in figs]
    assert titles == [
        "Value chain (Sankey)",
        "Network map",
        "NPV waterfall",
        "Export mix by destination and stage",
        "Capacity build timeline",
        "Processing-depth index over time",
    ]
    units = ["t REO", "tonnes", "MUSD", "t REO", "MUSD", "stage"]
    for (title, fig), unit in zip(figs, units, strict=True):
        assert unit in _titles(fig) + str(fig.layout.annotations), title
        for axis in (fig.layout.xaxis, fig.layout.yaxis):
            shown = axis.visible is not False and axis.showticklabels is not False
            if shown and fig.data and fig.data[0].type != "sankey":
                assert axis.title.text, f"{title}: unlabelled axis"
        # no chart may need a remote base layer (geo topojson, map tiles)
        assert not {tr.type for tr in fig.data} & {
            "scattergeo",
            "choropleth",
            "scattermap",
            "scattermapbox",
            "choroplethmap",
            "densitymap",
            "densitymapbox",
        }


def test_colours_are_deterministic_and_shared():
    assert colour_for("Novosibirsk") == colour_for("Novosibirsk")
    assert colour_for("Novosibirsk") != colour_for("Tomtor")
    assert re.fullmatch(r"#[0-9a-f]{6}", colour_for("Лоозеро"))
    figs = dict(report_figures(results_tables()))
    sankey = figs["Value chain (Sankey)"].data[0]
    labels = list(sankey.node.label)
    i = next(k for k, lb in enumerate(labels) if lb.startswith("Novosibirsk · "))
    assert sankey.node.color[i] == colour_for("Novosibirsk")
    build = figs["Capacity build timeline"]
    bar = next(tr for tr in build.data if tr.name == "Novosibirsk")
    assert colour_for("Novosibirsk") in str(bar.marker.line.color)
    mix = figs["Export mix by destination and stage"]
    china = next(tr for tr in mix.data if tr.name == "China")
    assert china.marker.color == colour_for("China")
    map_fig = figs["Network map"]
    marks = [tr for tr in map_fig.data if tr.name and tr.name.endswith("(node)")]
    tech = next(tr for tr in marks if tr.name == "technopark (node)")
    assert list(tech.marker.color) == [colour_for("Novosibirsk")]


def test_sankey_conserves_reo_through_solikamsk():
    fig = dict(report_figures(results_tables()))["Value chain (Sankey)"]
    s = fig.data[0]
    labels = list(s.node.label)
    sol = labels.index("Solikamsk · stage 1")
    inflow = sum(v for t, v in zip(s.link.target, s.link.value, strict=True) if t == sol)
    # 3 years × 10,000 t loparite concentrate × 0.30 t REO/t
    assert inflow == pytest.approx(9000.0)
    # Solikamsk cracks it all: stage 1 → stage 2 inside the plant carries the same REO
    out2 = labels.index("Solikamsk · stage 2")
    inside = [
        v
        for a, b, v in zip(s.link.source, s.link.target, s.link.value, strict=True)
        if (a, b) == (sol, out2)
    ]
    assert inside == [pytest.approx(9000.0)]
    # no cycles: a market is never a source of a link into a node it sells from
    assert "Lovozero · stage 1" in labels and "China (export) market" in labels


def test_npv_terms_add_up_and_accept_positive_costs():
    tables = results_tables()
    terms, npv, note = npv_terms(tables)
    assert note == "" and sum(v for _, v in terms) == pytest.approx(npv)
    assert terms[0][0] == "revenue"
    s = tables["Summary"]
    costs = s["metric"].isin(PV_TERM_LINES) & ~s["metric"].isin(
        ["pv_revenue_musd", "pv_subsidies_musd", "pv_support_musd", "pv_salvage_musd"]
    )
    s.loc[costs, "value"] = s.loc[costs, "value"].astype(float).abs()
    terms2, _, note2 = npv_terms(tables)
    assert note2 == "" and sum(v for _, v in terms2) == pytest.approx(npv)
    s.loc[s["metric"] == "npv_musd", "value"] = npv + 5
    _, _, note3 = npv_terms(tables)
    assert "miss npv_musd" in note3


def test_depth_index_by_year():
    depth = pd.DataFrame(
        [(2030, 1, 0.0, 100.0), (2030, 3, 50.0, 50.0), (2031, 5, 10.0, 0.0), (2032, 2, 0.0, 0.0)],
        columns=["year", "stage", "reo_t_sold_domestic", "reo_t_exported"],
    )
    got = depth_by_year({"Depth": depth}).set_index("year")
    assert got.loc[2030, "all_sales"] == pytest.approx((100 * 1 + 100 * 3) / 200)
    assert got.loc[2030, "domestic"] == pytest.approx(3.0)
    assert got.loc[2030, "exported"] == pytest.approx((100 + 150) / 150)
    assert got.loc[2031, "all_sales"] == pytest.approx(5.0)
    assert pd.isna(got.loc[2032, "all_sales"])


def test_empty_results_give_note_figures(tmp_path):
    tables = results_tables()
    for sheet in ("Builds", "Activity", "Flows", "Trade", "Extraction", "Depth", "Prices"):
        tables[sheet] = tables[sheet].iloc[0:0]
    tables["Summary"] = tables["Summary"][~tables["Summary"]["metric"].str.startswith("pv_")]
    p = write_results_workbook(tmp_path / "empty.xlsx", tables)
    out = tmp_path / "empty.html"
    write_report(p, out)
    text = out.read_text(encoding="utf-8")
    assert "No new capacity is built" in text and "No flows or sales" in text


# --------------------------------------------------------------------------- HTML


def _strip_plotlyjs(text: str) -> str:
    js = get_plotlyjs()
    assert text.count(js) == 1, "plotly.js must be embedded exactly once"
    return text.replace(js, "")


@pytest.mark.parametrize("which", ["report", "compare", "batch"])
def test_html_is_self_contained(paths, which):
    text = paths[which].read_text(encoding="utf-8")
    rest = _strip_plotlyjs(text)
    assert not re.search(r"<script[^>]*\bsrc\s*=", rest, re.I)
    assert not re.search(r"<link\b", rest, re.I)
    assert not re.search(r"<(img|iframe)\b", rest, re.I)
    assert "http://" not in rest and "https://" not in rest
    assert "Content-Security-Policy" in rest and "default-src 'none'" in rest


def test_compare_html_shows_both_runs_side_by_side(paths):
    text = paths["compare"].read_text(encoding="utf-8")
    assert text.count('class="row"') == 6
    assert 'id="chart-0-0"' in text and 'id="chart-0-1"' in text
    assert "NPV change by term" in text
    assert "Novosibirsk separation no longer built" in text


def test_names_are_escaped(tmp_path):
    tables = results_tables(scenario="<script>alert(1)</script>")
    tables["Nodes"].loc[0, "node"] = "</script><b>x"
    p = write_results_workbook(tmp_path / "evil.xlsx", tables)
    out = tmp_path / "evil.html"
    write_report(p, out)
    rest = _strip_plotlyjs(out.read_text(encoding="utf-8"))
    assert "<script>alert(1)" not in rest and "</script><b>x" not in rest


def test_write_report_errors(paths, tmp_path):
    with pytest.raises(OutputError):
        write_report(paths["a"], paths["a"])
    with pytest.raises(OutputError):
        write_report(paths["a"], tmp_path / "missing" / "r.html")
    with pytest.raises(InputError):
        write_report(tmp_path / "nothing.xlsx", tmp_path / "r.html")
    v2 = write_results_workbook(tmp_path / "v2.xlsx", results_tables(version="2.0"))
    with pytest.raises(InputError, match="output schema version 2.0"):
        write_report(v2, tmp_path / "r.html")


# --------------------------------------------------------------------------- rendering


def png_pixels(data: bytes, max_rows: int | None = None) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA PNG (no interlace) with zlib: width, height, RGB rows.

    Only the first ``max_rows`` rows are unfiltered (each row depends on the one
    above, so rows cannot be skipped, only the tail). None/Sub/Up rows are
    vectorised with numpy; Average/Paeth rows run byte by byte.
    """
    import numpy as np

    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat = 8, b""
    width = height = colour_type = 0
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind = data[pos + 4 : pos + 8]
        body = data[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour_type, _, _, interlace = struct.unpack(">IIBBBBB", body)
            assert depth == 8 and colour_type in (2, 6) and interlace == 0
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    bpp = 4 if colour_type == 6 else 3
    raw = zlib.decompress(idat)
    stride = width * bpp
    rows: list[bytes] = []
    prev = np.zeros(stride, dtype=np.uint8)
    for y in range(min(height, max_rows or height)):
        f = raw[y * (stride + 1)]
        cur = np.frombuffer(raw, np.uint8, stride, y * (stride + 1) + 1).copy()
        if f == 1:
            cur = (cur.reshape(-1, bpp).astype(np.int64).cumsum(axis=0) % 256).astype(np.uint8)
            cur = cur.reshape(-1)
        elif f == 2:
            cur = cur + prev  # uint8 wraps modulo 256
        elif f in (3, 4):
            line, up = bytearray(cur.tobytes()), prev.tobytes()
            for i in range(stride):
                a = line[i - bpp] if i >= bpp else 0
                b = up[i]
                if f == 3:
                    line[i] = (line[i] + (a + b) // 2) & 255
                    continue
                c = up[i - bpp] if i >= bpp else 0
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                pred = a if pa <= pb and pa <= pc else (b if pb <= pc else c)
                line[i] = (line[i] + pred) & 255
            cur = np.frombuffer(bytes(line), np.uint8).copy()
        rows.append(cur.reshape(-1, bpp)[:, :3].tobytes())
        prev = cur
    return width, height, rows


def _render(html: Path, png: Path, profile: Path, size: str = "1400,2000") -> str:
    """Screenshot ``html`` with headless chromium; returns its stderr (console log)."""
    cmd = [
        CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
        "--no-first-run", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--disable-extensions", "--hide-scrollbars",
        f"--user-data-dir={profile}", f"--screenshot={png}", f"--window-size={size}",
        "--virtual-time-budget=8000", "--enable-logging=stderr", "--v=0",
        html.resolve().as_uri(),
    ]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert png.exists(), f"chromium wrote no screenshot: {proc.stderr[-2000:]}"
    return proc.stderr


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("which", ["report", "compare", "batch"])
def test_chromium_renders_report(paths, which, tmp_path):
    png = tmp_path / f"{which}.png"
    log = _render(paths[which], png, tmp_path / "profile")
    width, height, rows = png_pixels(png.read_bytes(), max_rows=1300)
    assert (width, height) == (1400, 2000)
    colours: set[bytes] = set()
    for row in rows[::7]:
        colours.update(row[i : i + 3] for i in range(0, len(row), 21))
    assert len(colours) > 50, f"screenshot looks blank ({len(colours)} colours)"
    # the styled table header (#1F4E78) is on screen: the page's CSS applied and decoding is exact
    assert any(b"\x1f\x4e\x78" in row for row in rows)
    # the charts area (below the header) must not be blank either
    lower = {r[i : i + 3] for r in rows[900::9] for i in range(0, len(r), 15)}
    assert len(lower) > 20
    # plotly logs nothing on a clean page; any console line (error, CSP refusal of a
    # network request, failed chart) fails the test
    console = [ln for ln in log.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]
    assert not console, "\n".join(console)


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_chromium_console_capture_works(tmp_path):
    """The console check above is only meaningful if errors and refused requests show up."""
    page = tmp_path / "bad.html"
    page.write_text(
        '<html><head><meta http-equiv="Content-Security-Policy" content="default-src '
        "'none'; script-src 'unsafe-inline'\"></head><body><script>console.error('boom');"
        "fetch('https://example.invalid/x').catch(function(){});</script></body></html>",
        encoding="utf-8",
    )
    log = _render(page, tmp_path / "bad.png", tmp_path / "profile", size="300,200")
    console = "\n".join(ln for ln in log.splitlines() if ":CONSOLE" in ln)
    assert "boom" in console and "Content Security Policy" in console
