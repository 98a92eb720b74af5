"""Run to run: each model's change between two runs, and the one sentence that says it.

:func:`compare_runs` pairs each model's per-task values over the tasks both runs
scored, with the same statistics as the model pairs (exact sign-flip test, Holm over
the models compared, bootstrap and adjusted intervals, task-clustered SE, minimum
detectable difference). :func:`change_sentence` is the only place the outcome is put
into words: the terminal, the leaderboard artifact, the report and the webhook all
print it as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from tasks.metrics import Metric, check_metric
from tasks.record.upgrade import upgrade_results
from tasks.stats.bootstrap import bootstrap_means
from tasks.stats.compare import pair_family
from tasks.stats.counts import task_matrix
from tasks.stats.decision import detectable, fmt, holm_p, shown_interval
from tasks.stats.paired import ALPHA
from tasks.stats.schema import HISTORY_SCHEMA
from tasks.stats.settings import run_settings, settings_differences


def _run_ids(table: pa.Table) -> str:
    if "run_id" not in table.column_names:
        return ""
    return ",".join(sorted(str(x) for x in pc.unique(table["run_id"]).to_pylist() if x))


def compare_runs(
    prev_results: pa.Table,
    cur_results: pa.Table,
    *,
    primary: Metric = "pass@1",
    seed: int = 0,
    n_boot: int = 2000,
    alpha: float = ALPHA,
    prev_meta: Mapping[str, Any] | None = None,
    cur_meta: Mapping[str, Any] | None = None,
) -> pa.Table:
    """Change of ``primary`` per model present in both runs, paired over shared tasks.

    ``regression`` is set for a drop significant after Holm over the models compared.
    Models present in one run only get a row with ``present_in`` saying which and no
    values. ``settings_differ`` names every setting the two runs differ in (from the
    results and, when given, each run's meta.json): such runs do not compare like
    with like, and the first line of any report of this table says so.
    """
    check_metric(primary)
    rng = np.random.default_rng(seed)
    prev_results, cur_results = upgrade_results(prev_results), upgrade_results(cur_results)
    differ = "; ".join(
        settings_differences(
            run_settings(prev_results, prev_meta), run_settings(cur_results, cur_meta)
        )
    )
    prev, cur = task_matrix(prev_results), task_matrix(cur_results)
    models = sorted(set(prev.models) & set(cur.models))
    tasks = sorted(set(prev.tasks) & set(cur.tasks))
    pt = [prev.tasks.index(t) for t in tasks]
    ct = [cur.tasks.index(t) for t in tasks]
    pv, cv = prev.values(primary)[:, pt], cur.values(primary)[:, ct]
    pn, cn = prev.n[:, pt], cur.n[:, ct]
    cols, masks, diffs, samples, means = [], [], [], [], []
    for m in models:
        i, j = prev.model_index(m), cur.model_index(m)
        mask = ~np.isnan(pv[i]) & ~np.isnan(cv[j])
        cols.append(np.where(mask, cv[j] - pv[i], 0.0))
        masks.append(mask)
        diffs.append(cv[j][mask] - pv[i][mask])
        samples.append(int(max(pn[i][mask].max(), cn[j][mask].max())) if mask.any() else 1)
        means.append((pv[i][mask].mean(), cv[j][mask].mean()) if mask.any() else (None, None))
    if models and tasks:
        boot = bootstrap_means(np.stack(cols, axis=1), n_boot, rng, np.stack(masks, axis=1))
    else:
        boot = np.full((n_boot, len(models)), np.nan)
    family = pair_family(diffs, boot, samples, alpha)
    suite = ",".join(sorted({str(x) for x in pc.unique(cur_results["suite"]).to_pylist() if x}))
    base = {"metric": primary, "suite": suite, "prev_run_id": _run_ids(prev_results)}
    base |= {"cur_run_id": _run_ids(cur_results), "settings_differ": differ}
    rows = []
    for k, (m, mask, (pm, cm)) in enumerate(zip(models, masks, means, strict=True)):
        row: dict[str, Any] = {**base, "model": m, "present_in": "both"}
        row["n_tasks"] = int(mask.sum())
        row |= {"prev_value": None if pm is None else float(pm)}
        row |= {"cur_value": None if cm is None else float(cm)}
        row |= {name: values[k] for name, values in family.items()}
        row["delta"] = row.pop("diff")
        p, delta = row["p_holm"], row["delta"]
        row["regression"] = bool(p is not None and p < alpha and delta is not None and delta < 0)
        rows.append(row)
    for where, names in (
        ("previous only", set(prev.models) - set(cur.models)),
        ("current only", set(cur.models) - set(prev.models)),
    ):
        rows += [
            {**base, "model": m, "present_in": where, "n_tasks": 0, "regression": False}
            for m in sorted(names)
        ]
    return pa.Table.from_pylist(rows, schema=HISTORY_SCHEMA)


def change_sentence(row: Mapping[str, Any], alpha: float = ALPHA) -> str:
    """One model's change between two runs, as every output says it.

    ``row`` is a ``compare_runs`` row present in both runs. A significant drop
    "regressed", a significant rise "improved"; anything else is "no significant
    change", with the number of tasks and the smallest change they could show.
    """
    metric, model, suite = row["metric"], row["model"], row.get("suite") or "the suite"
    label, interval = shown_interval(row)
    change = (
        f"{metric} {fmt(row['prev_value'])} -> {fmt(row['cur_value'])} "
        f"(change {fmt(row['delta'], True)}, {label} {interval}, {holm_p(row['p_holm'])}"
    )
    runs = f"run {row['prev_run_id'] or 'previous'} -> {row['cur_run_id'] or 'current'}"
    p, delta = row["p_holm"], row["delta"]
    if p is not None and p < alpha and delta is not None and delta != 0:
        verb = "regressed" if delta < 0 else "improved"
        return f"{model} {verb} on {suite}: {change}, {row['n_tasks']} tasks; {runs})."
    return (
        f"{model}: no significant change on {suite}: {change}; "
        f"{detectable(row, 'change')}; {runs})."
    )
