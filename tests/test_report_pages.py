"""Light pages: a batch's pages share one plotly.js beside them, a single run's report is one
offline file; the map shows every node; the pages render in headless Chromium."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from test_report import CHROMIUM, _render, png_pixels
from tinycase import tiny_sheets, write_input

from optmodel.batch.engine import solve_all_scenarios
from optmodel.report import write_report
from optmodel.report.figures import label_positions, map_figure
from optmodel.report.html import PLOTLY_JS

PAGE_LIMIT = 300_000  # bytes: a batch page without plotly.js is tens of kB


@pytest.fixture(scope="module")
def batch(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("batch")
    src = write_input(d / "tiny.xlsx", tiny_sheets())
    out = d / "runs"
    out.mkdir()
    code = solve_all_scenarios(src, out / "t.xlsx", report=True)
    assert code == 0
    return out


def test_batch_pages_share_one_plotly_js(batch):
    pages = sorted(batch.glob("*.html"))
    # base and duty50 run reports and the batch page
    assert [p.name for p in pages] == ["t_base.html", "t_batch.html", "t_duty50.html"]
    assert [p.name for p in batch.glob("*.js")] == [PLOTLY_JS]
    assert (batch / PLOTLY_JS).stat().st_size > 1_000_000
    for p in pages:
        text = p.read_text(encoding="utf-8")
        assert p.stat().st_size < PAGE_LIMIT, p.name
        assert f'src="{PLOTLY_JS}"' in text, p.name
        assert text.count("<script") == text.count("</script>")
        assert "http://" not in text.split("<body>")[0] and "https://" not in text.split(
            "<body>")[0]  # nothing in the head is fetched from the network
    total = sum(p.stat().st_size for p in pages) + (batch / PLOTLY_JS).stat().st_size
    assert total < 4 * (batch / PLOTLY_JS).stat().st_size / 3


def test_single_report_is_one_offline_file(batch, tmp_path):
    out = tmp_path / "one.html"
    write_report(batch / "t_base.xlsx", out)
    text = out.read_text(encoding="utf-8")
    assert "<script" in text and f'src="{PLOTLY_JS}"' not in text
    assert out.stat().st_size > 1_000_000  # plotly.js inside
    assert not list(tmp_path.glob("*.js"))


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
@pytest.mark.parametrize("page", ["t_base.html", "t_batch.html"])
def test_chromium_renders_batch_pages_with_shared_js(batch, page, tmp_path):
    png = tmp_path / "shot.png"
    log = _render(batch / page, png, tmp_path / "profile")
    width, height, rows = png_pixels(png.read_bytes(), max_rows=1300)
    colours = {r[i:i + 3] for r in rows[::7] for i in range(0, len(r), 21)}
    assert len(colours) > 50, "screenshot looks blank"
    # charts drawn: plotly loaded from the shared file (a missing file shows a red-free
    # page with the "needs the file" sentence and no chart colours below the header)
    lower = {r[i:i + 3] for r in rows[700::9] for i in range(0, len(r), 15)}
    assert len(lower) > 20
    console = [ln for ln in log.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]
    assert not console, "\n".join(console)


def test_map_shows_every_node_including_unused():
    nodes = pd.DataFrame({
        "node": ["A", "B", "Far", "Unused"], "kind": ["mine", "plant", "market", "plant"],
        "region": None, "country": None, "lat": [60.0, 55.0, 35.0, 71.0],
        "lon": [40.0, 60.0, 140.0, 115.0]})
    flows = pd.DataFrame({"origin": ["A"], "destination": ["B"], "mode": ["rail"],
                          "product": ["p"], "year": [2030], "tonnes": [10.0],
                          "cost_musd": [0.1]})
    fig = map_figure({"Nodes": nodes, "Flows": flows,
                      "Products": pd.DataFrame({"product": ["p"], "stage": [1],
                                                "reo_content": [0.5]})})
    xr, yr = fig.layout.xaxis.range, fig.layout.yaxis.range
    for lon, lat in zip(nodes["lon"], nodes["lat"], strict=True):
        assert xr[0] < lon < xr[1] and yr[0] < lat < yr[1]


def test_labels_point_away_from_the_nearest_neighbour():
    nodes = pd.DataFrame({"lon": [30.0, 30.3, 60.0, 60.0], "lat": [60.0, 59.9, 55.0, 57.0]})
    # 0 and 1 side by side (1 slightly east): 0's label left, 1's right; 2 below 3
    assert label_positions(nodes) == ["middle left", "middle right", "bottom center",
                                      "top center"]


@pytest.mark.slow
@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (apt-get install chromium)")
def test_frontier_page_explains_itself_and_renders(tmp_path):
    from optmodel.strategy.frontier import frontier_workbook

    src = write_input(tmp_path / "tiny.xlsx", tiny_sheets())
    _, _, page = frontier_workbook(src, tmp_path / "front.xlsx", "processing_depth_index",
                                   points=3)
    text = page.read_text(encoding="utf-8")
    for heading in ("What this page shows", "How to read it", "Points and plans", "Method"):
        assert f"<h2>{heading}</h2>" in text
    assert "NPV cost" in text and "Average stage of what is sold" in text  # the definition
    log = _render(page, tmp_path / "front.png", tmp_path / "profile")
    width, height, rows = png_pixels((tmp_path / "front.png").read_bytes(), max_rows=1300)
    lower = {r[i:i + 3] for r in rows[500::9] for i in range(0, len(r), 15)}
    assert len(lower) > 20  # the chart is drawn
    console = [ln for ln in log.splitlines() if ":CONSOLE" in ln or "Uncaught" in ln]
    assert not console, "\n".join(console)
