"""Benchmarks: the papers' speed-up formulas and the per-layer MAC table (no timing)."""

from __future__ import annotations

import pytest

import bnnkit  # noqa: F401
from bnnkit.bench.layers import (bwn_speedup, horq_speedup, layer_table, mac_summary,
                               sbd_default_components, sbd_speedup, whole_model_prediction,
                               xnor_speedup)


def test_xnor_speedup_matches_the_papers_resnet_example():
    # XNOR-Net Sec. 4.2: c = 256, N_W = 3x3 gives 62.27x.
    assert xnor_speedup(256, 9) == pytest.approx(62.27, abs=0.01)


def test_xnor_speedup_grows_with_channels_towards_64():
    values = [xnor_speedup(c, 9) for c in (1, 8, 64, 512, 4096)]
    assert values == sorted(values) and values[-1] < 64


def test_horq_order_k_counts_k_binary_convs_and_k_plus_one_real_operations():
    c, n_w = 64, 25
    for k in (1, 2, 3):
        expected = c * n_w / (k * c * n_w / 64 + (k + 1))
        assert horq_speedup(c, n_w, k) == pytest.approx(expected)
        # with only k scalings it is XNOR-Net's S divided by k
        assert horq_speedup(c, n_w, k, non_binary=k) == pytest.approx(xnor_speedup(c, n_w) / k)
        assert horq_speedup(c, n_w, k) < xnor_speedup(c, n_w) / k
    with pytest.raises(ValueError):
        horq_speedup(64, 25, 0)


def test_cost_models_take_the_multiply_and_add_costs():
    # SBD: S N (T_m + T_a) / (K (S + N) T_a + K T_m); BWN: c N_W (T_m + T_a) / (c N_W T_a + T_m)
    s, n, k = 800, 64, 10
    assert sbd_speedup(s, n, k, t_m=3.0, t_a=1.0) == pytest.approx(
        s * n * 4.0 / (k * (s + n) + 3.0 * k))
    assert sbd_speedup(s, n, k, t_m=3.0) > sbd_speedup(s, n, k)
    assert bwn_speedup(32, 25, t_m=3.0) == pytest.approx(800 * 4.0 / (800 + 3.0))


def test_binary_weight_predictions_are_about_two():
    assert bwn_speedup(32, 25) == pytest.approx(2, abs=0.01)
    k = sbd_default_components(800, 64)
    assert k * (800 + 64) <= 800 * 64 < (k + 1) * (800 + 64)
    assert 1.9 < sbd_speedup(800, 64) < 2.1
    assert sbd_speedup(800, 64, components=1) > sbd_speedup(800, 64, components=8)


@pytest.mark.parametrize("method,kind", [("float", "float"), ("bnn", "binary"),
                                         ("horq", "binary"), ("bwn", "binary-weight")])
def test_layer_table_counts_macs_and_precision_of_lenet(method, kind):
    from bnnkit.models import build_model

    rows = layer_table(build_model("lenet", method, (28, 28, 1), 10))
    by_name = {r["layer"]: r for r in rows}
    block = by_name["block1_conv"]
    # 14x14 output positions (same padding), 32 -> 64 channels, 5x5 taps.
    assert block["macs"] == 14 * 14 * 32 * 25 * 64
    assert block["kind"] == kind
    assert by_name["stem_conv"]["kind"] == "float"
    assert by_name["classifier"]["kind"] == "float"
    summary = mac_summary(rows)
    assert summary["macs"] == sum(r["macs"] for r in rows)
    if kind == "binary":
        assert 0.9 < summary["binary_fraction"] < 1
        assert 1 < whole_model_prediction(rows, "xnor") < 64
        if method == "horq":
            assert block["order"] == 2 and block["binary_macs"] == 2 * block["macs"]
    else:
        assert summary["binary_fraction"] == 0
