"""report.html as a browser shows it: headless Chromium renders the page, then a probe
script reads what Plotly drew (axis ticks and ranges, trace colours) and what the layout
gives (table headers, overflow at 1400 px, the decision box's colour).

The page is the one Vivek writes; the probe is appended to a copy of it.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pytest
from synthetic import synthetic_results

from tasks.report import render_html
from tasks.stats.summary import summarize

pytestmark = pytest.mark.slow

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
WIDTH = 1400

PROBE = """
<script>
window.addEventListener("load", () => setTimeout(() => {
  const plots = [...document.querySelectorAll(".js-plotly-plot")].map((gd) => ({
    title: gd._fullLayout.title.text,
    xrange: gd._fullLayout.xaxis.range,
    yrange: gd._fullLayout.yaxis.range,
    xticks: [...gd.querySelectorAll(".xtick text")].map((t) => t.textContent),
    yticks: [...gd.querySelectorAll(".ytick text")].map((t) => t.textContent),
    traces: gd._fullData.map((t) => ({
      name: t.name, type: t.type, color: t.marker && t.marker.color,
      x: t.x, y: t.y, drawn: t.visible === true,
    })),
  }));
  const tables = [...document.querySelectorAll("table")].map((table) => ({
    section: table.closest(".scroll").previousElementSibling.id,
    headers: [...table.querySelectorAll("th")].map((th) => th.textContent.trim()),
    overflows: table.closest(".scroll").scrollWidth > table.closest(".scroll").clientWidth,
  }));
  const box = document.querySelector(".decision");
  const probe = document.createElement("pre");
  probe.id = "vivek-probe";
  probe.textContent = JSON.stringify({
    plots, tables, decision: box.textContent,
    decisionColor: getComputedStyle(box).backgroundColor,
  });
  document.body.appendChild(probe);
}, 500));
</script>
"""


def render_in_chromium(page: str, tmp: Path) -> dict:
    assert CHROMIUM, "headless Chromium is needed (.ci/setup-system installs it)"
    path = tmp / "report.html"
    path.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         f"--window-size={WIDTH},1000", "--virtual-time-budget=20000", "--dump-dom",
         path.as_uri()],
        capture_output=True, text=True, timeout=180, check=True,
    ).stdout  # fmt: skip
    found = re.search(r'<pre id="vivek-probe">(.*?)</pre>', dom, re.S)
    assert found, f"the probe did not run; Chromium printed: {dom[-500:]}"
    import html

    return json.loads(html.unescape(found.group(1)))


def free_models(table: pa.Table) -> pa.Table:
    """Local models: every call costs exactly 0 (the case that drew a -1..1 cost axis)."""
    index = table.schema.get_field_index("cost_usd")
    zeros = pc.if_else(pc.is_null(table["cost_usd"]), None, 0.0)
    return table.set_column(index, "cost_usd", zeros)


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, dict]:
    """Two reports: a clear winner (free local models) and a tie."""
    out = {}
    cases = {
        "winner": free_models(synthetic_results(3, 30, 3, seed=1, shifts=[-0.6, 0.0, -0.45])),
        "tie": synthetic_results(2, 20, 3, seed=0, shifts=[0.0, 0.0]),
    }
    for name, table in cases.items():
        result = summarize(table, n_boot=300)
        page = render_html(table, result.summary, result.comparisons, {"run_id": name})
        probe = render_in_chromium(page, tmp_path_factory.mktemp(name))
        out[name] = {"probe": probe, "summary": result.summary, "result": result}
    return out


def plot(probe: dict, title_start: str) -> dict:
    [found] = [p for p in probe["plots"] if p["title"].startswith(title_start)]
    return found


def test_the_decision_box_is_green_for_a_winner_and_amber_for_a_tie(pages):
    winner, tie = pages["winner"], pages["tie"]
    assert winner["result"].winner and "Winner" in winner["probe"]["decision"]
    assert tie["result"].winner is None and "Tie" in tie["probe"]["decision"]
    green, amber = (pages[k]["probe"]["decisionColor"] for k in ("winner", "tie"))
    r, g, b = map(int, re.findall(r"\d+", green)[:3])
    assert g > r and g > b, green
    r, g, b = map(int, re.findall(r"\d+", amber)[:3])
    assert r > b and g > b, amber  # a yellow-orange, not the winner's green
    assert green != amber


def test_every_table_header_is_named_and_fits_at_1400_px(pages):
    for case in pages.values():
        for table in case["probe"]["tables"]:
            assert table["headers"] and all(table["headers"]), table
            if table["section"] in ("leaderboard", "quality"):
                assert not table["overflows"], table["section"]


def test_latency_boxes_are_labelled_with_the_models(pages):
    for case in pages.values():
        models = case["summary"]["model"].to_pylist()
        latency = plot(case["probe"], "Latency")
        assert sorted(latency["xticks"]) == sorted(models)
        assert all(t["drawn"] for t in latency["traces"])


def test_the_cost_axis_of_free_models_starts_at_zero_and_shows_the_front(pages):
    cost = plot(pages["winner"]["probe"], "Cost vs")
    assert cost["xrange"][0] == 0 and cost["xrange"][1] > 0
    assert all(not t.startswith(("\u2212", "-")) for t in cost["xticks"])
    [front] = [t for t in cost["traces"] if t["name"] == "Pareto front"]
    assert front["drawn"] and front["x"] and front["x"][0] == 0


def test_the_interval_plot_stays_inside_0_and_1(pages):
    for case in pages.values():
        ci = plot(case["probe"], "pass@1 with 95% CI")
        low, high = ci["yrange"]
        assert low >= 0 and high <= 1.05
        for row in case["summary"].to_pylist():
            assert 0 <= row["primary_ci_low"] <= row["primary_value"] <= row["primary_ci_high"] <= 1


def test_the_heatmap_lists_models_in_rank_order(pages):
    case = pages["winner"]
    ranked = [r["model"] for r in sorted(case["summary"].to_pylist(), key=lambda r: r["rank"])]
    heatmap = plot(case["probe"], "Pass rate per task")
    assert heatmap["xticks"] == ranked
    assert ranked != sorted(ranked)  # the case tells rank order from name order


def _rgb(color: str) -> tuple[int, int, int]:
    color = color.lstrip("#")
    return tuple(int(color[i : i + 2], 16) for i in (0, 2, 4))


def test_status_colours_are_told_apart(pages):
    bars = plot(pages["winner"]["probe"], "Status per sample")
    colors = {t["name"]: _rgb(t["color"]) for t in bars["traces"]}
    assert len(colors) == len(set(colors.values())) == 12
    # The pair the issue names: far apart in every sense, not two shades of orange-red.
    error, import_error = colors["error"], colors["import_error"]
    assert sum((a - b) ** 2 for a, b in zip(error, import_error, strict=True)) ** 0.5 > 150
