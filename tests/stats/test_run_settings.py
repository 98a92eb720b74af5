"""Like with like: a row where nothing was sent records no setting."""

from __future__ import annotations

import pyarrow as pa
from synthetic import synthetic_results

from tasks.stats.settings import run_settings, settings_differences


def with_temperature_sent(table: pa.Table, values: list) -> pa.Table:
    index = table.schema.get_field_index("temperature_sent")
    return table.set_column(index, table.schema.field(index), pa.array(values, pa.float64()))


def test_a_failed_call_does_not_make_two_runs_differ():
    table = synthetic_results(1, 4, 1, seed=0)
    before = with_temperature_sent(table, [0.2] * 4)
    now = with_temperature_sent(table, [0.2, 0.2, None, 0.2])  # one call never went out
    assert run_settings(now)["temperature sent"] == "0.2"
    assert settings_differences(run_settings(before), run_settings(now)) == []
    changed = with_temperature_sent(table, [0.8, 0.8, None, 0.8])
    assert settings_differences(run_settings(before), run_settings(changed)) == [
        "temperature sent: 0.2 -> 0.8"
    ]
