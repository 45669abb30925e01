"""``bnnkit demo`` end to end on a small budget, including the offline no-data fallback."""

import json

from test_cli_train import bnnkit_cli


def test_demo_without_any_data_uses_the_bundled_subset_and_verifies(tmp_path):
    env = {"HOME": str(tmp_path), "BNNKIT_OFFLINE": "1", "BNNKIT_DATA": ""}
    result = bnnkit_cli("demo", "--epochs", 1, "--train-limit", 1500, "--test-limit", 400,
                        "--runs-dir", tmp_path / "runs", "--json", cwd=tmp_path, env=env)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "using the bundled real subset" in result.stdout
    summary = json.loads(result.stdout[result.stdout.index("{"):])
    assert "bundled" in summary["dataset"] and summary["test_images"] == 400
    # Both binary conv layers of the LeNet BNN run as LCE binary kernels.
    assert summary["op_histogram"]["LceBconv2d"] == 2
    assert summary["keras_tflite_top1_agreement"] >= 0.995
    assert summary["size_ratio_vs_float"] >= 10
    assert abs(summary["tflite_test_accuracy"] - summary["keras_test_accuracy"]) <= 0.005
    run_dir = tmp_path / "runs" / "demo"
    for name in ("model.keras", "lce/model.tflite", "lce/conversion.json", "demo_summary.json"):
        assert (run_dir / name).is_file(), name
