"""report.html as a browser shows it: headless Chromium renders the page, then a probe
script reads what Plotly drew (axis ticks and ranges, trace colours, label positions) and
what the layout gives (table headers, overflow at 1400 and 800 px, the decision box's
colour, elements that only hostile names could have made).

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
from tasks.report.inputs import ReportInputs
from tasks.stats.history import compare_runs
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
    // Point labels that the plot's own box does not hold are cut off on screen.
    labelsOutside: [...gd.querySelectorAll(".textpoint text")].filter((t) => {
      const box = t.getBoundingClientRect(), plot = gd.getBoundingClientRect();
      return box.left < plot.left || box.right > plot.right || box.top < plot.top;
    }).map((t) => t.textContent),
  }));
  const tables = [...document.querySelectorAll("table")].map((table) => ({
    section: table.closest(".scroll").previousElementSibling.id,
    headers: [...table.querySelectorAll("th")].map((th) => th.textContent.trim()),
    rows: table.querySelectorAll("tbody tr").length,
    overflows: table.closest(".scroll").scrollWidth > table.closest(".scroll").clientWidth,
    cutHeaders: [...table.querySelectorAll("th")]
      .filter((th) => th.scrollWidth > th.clientWidth).map((th) => th.textContent),
  }));
  const box = document.querySelector(".decision");
  const probe = document.createElement("pre");
  probe.id = "vivek-probe";
  probe.textContent = JSON.stringify({
    plots, tables, decision: box.textContent,
    decisionColor: getComputedStyle(box).backgroundColor,
    text: document.querySelector("main").innerText,
    // Elements only a name could have made: ids "pwn-*", links out, images.
    injected: [...document.querySelectorAll('[id^="pwn"], a[href], img, iframe, script[src]')]
      .map((e) => e.outerHTML.slice(0, 120)),
  });
  document.body.appendChild(probe);
}, 500));
</script>
"""


def render_in_chromium(page: str, tmp: Path, width: int = WIDTH) -> dict:
    assert CHROMIUM, "headless Chromium is needed (.ci/setup-system installs it)"
    path = tmp / "report.html"
    path.write_text(page.replace("</body>", PROBE + "</body>"), encoding="utf-8")
    dom = subprocess.run(
        [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp / 'chromium-profile'}",
         f"--window-size={width},1000", "--virtual-time-budget=20000", "--dump-dom",
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


def with_columns(table: pa.Table, **columns: list) -> pa.Table:
    for name, values in columns.items():
        index = table.schema.get_field_index(name)
        table = table.set_column(index, table.schema.field(index), pa.array(values))
    return table


def replayed(table: pa.Table) -> pa.Table:
    """Replayed answers: no call was timed, nothing was paid."""
    return with_columns(free_models(table), latency_s=[0.0] * table.num_rows)


def mixed_prices(table: pa.Table) -> pa.Table:
    """Model 0 free (local), models 1 and 2 paid a few millionths of a dollar per call."""
    price = {"0": 0.0, "1": 2e-6, "2": 5e-6}
    return with_columns(table, cost_usd=[price[m[-1]] for m in table["model"].to_pylist()])


HOSTILE_NAMES = {
    "fake:model-0": '<a href="http://evil.example/x" id="pwn-a">click</a>',
    "fake:model-1": "<img src=x id=pwn-img onerror=alert(1)>",
    "fake:model-2": "<b id=pwn-b>bold</b>\u202e",
}


def hostile(table: pa.Table) -> pa.Table:
    """Model names and task ids that are markup, in every label the page draws."""
    tasks = table["task_id"].to_pylist()
    return with_columns(
        table,
        model=[HOSTILE_NAMES[m] for m in table["model"].to_pylist()],
        task_id=[f'<a href="http://evil.example/{t}" id="pwn-{t}">{t}</a>' for t in tasks],
    )


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, dict]:
    """Reports as a browser draws them: a clear winner (free local models), a tie, replayed
    answers compared with a run of other models, mixed prices, hostile names, and the
    winner again in an 800 px window."""
    out = {}
    winner = free_models(synthetic_results(3, 30, 3, seed=1, shifts=[-0.6, 0.0, -0.45]))
    before = synthetic_results(2, 30, 3, seed=2, run_id="before")
    others = with_columns(before, model=["other:" + m for m in before["model"].to_pylist()])
    cases = {
        "winner": (winner, WIDTH, None),
        "tie": (synthetic_results(2, 20, 3, seed=0, shifts=[0.0, 0.0]), WIDTH, None),
        "replayed": (replayed(winner), WIDTH, others),
        "mixed": (mixed_prices(synthetic_results(3, 20, 2, seed=4)), WIDTH, None),
        "hostile": (hostile(synthetic_results(3, 12, 2, seed=5)), WIDTH, None),
        "narrow": (winner, 800, None),
    }
    for name, (table, width, previous) in cases.items():
        result = summarize(table, n_boot=300)
        history = compare_runs(previous, table, n_boot=100) if previous is not None else None
        page = render_html(
            table, ReportInputs(result.summary, result.comparisons, {"run_id": name}, history)
        )
        probe = render_in_chromium(page, tmp_path_factory.mktemp(name), width)
        out[name] = {"probe": probe, "summary": result.summary, "result": result}
    return out


def plot(probe: dict, title_start: str) -> dict:
    [found] = [p for p in probe["plots"] if p["title"].startswith(title_start)]
    return found


def titles(probe: dict) -> list[str]:
    return [p["title"] for p in probe["plots"]]


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


def test_every_table_has_named_headers_and_rows_and_fits_at_1400_px(pages):
    for case in pages.values():
        for table in case["probe"]["tables"]:
            assert table["headers"] and all(table["headers"]), table
            assert table["rows"] > 0, table  # no header without rows
            if table["section"] in ("leaderboard", "quality"):
                assert not table["overflows"], table["section"]


def test_at_800_px_no_table_scrolls_or_cuts_a_header(pages):
    for table in pages["narrow"]["probe"]["tables"]:
        assert not table["overflows"], table["section"]
        assert not table["cutHeaders"], table


def test_latency_boxes_are_labelled_with_the_models(pages):
    for name in ("winner", "tie", "mixed"):
        case = pages[name]
        models = case["summary"]["model"].to_pylist()
        latency = plot(case["probe"], "Latency")
        assert sorted(latency["xticks"]) == sorted(models)
        assert all(t["drawn"] for t in latency["traces"])


def test_without_any_latency_there_is_no_latency_plot(pages):
    probe = pages["replayed"]["probe"]
    assert not [t for t in titles(probe) if t.startswith("Latency")]
    assert "No latency measured for" in probe["text"]


def test_free_models_are_named_not_piled_on_a_cost_axis(pages):
    free = pages["winner"]["probe"]
    assert not [t for t in titles(free) if t.startswith("Cost vs")]
    assert "Every model here is free" in free["text"]
    mixed = pages["mixed"]["probe"]
    cost = plot(mixed, "Cost vs")
    assert cost["xrange"][0] == 0 and cost["xrange"][1] > 0
    ticks = [t for t in cost["xticks"] if t]
    assert ticks and all(t.startswith("$") for t in ticks), ticks  # dollars, not "2µ"
    assert not cost["labelsOutside"], cost["labelsOutside"]
    [front] = [t for t in cost["traces"] if t["name"] == "Pareto front"]
    assert front["drawn"] and front["x"] and front["x"][0] == 0  # the free model leads it
    assert "Free (cost 0, at the left edge of the cost plot): fake:model-0" in mixed["text"]


def test_a_comparison_without_shared_models_has_no_empty_table(pages):
    probe = pages["replayed"]["probe"]
    assert "history" not in [t["section"] for t in probe["tables"]]
    assert "No model is in both runs" in probe["text"]


def test_hostile_names_make_no_element_and_show_as_text(pages):
    probe = pages["hostile"]["probe"]
    assert probe["injected"] == []
    heatmap = plot(probe, "Pass rate per task")
    shown = {name.replace("\u202e", "[U+202E]") for name in HOSTILE_NAMES.values()}
    assert set(heatmap["xticks"]) == shown
    assert all(t.startswith('<a href="http://evil.example/') for t in heatmap["yticks"])
    assert HOSTILE_NAMES["fake:model-1"] in probe["text"]


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
