"""``conversion.json`` and the short table ``bnnkit convert`` prints.

The report is a plain dict (JSON-serializable); :func:`format_table` renders it.
"""

from __future__ import annotations

__all__ = ["REPORT_FORMAT_VERSION", "format_table"]

#: 3: ``agreement`` compares the ``.tflite`` with the original model (before rewrites; the
#: model the target converted is under ``agreement.converted_model``), and ``verification``
#: holds the judgement (measured values, bounds, ``passed``, ``allowed_disagreement``).
#: 2: sizes only under ``size`` (``tflite_bytes``, ``float_tflite_bytes``, ``ratio_vs_float``);
#: format 1 also repeated them as ``size_bytes``, ``float_size_bytes``, ``float_size_ratio``.
REPORT_FORMAT_VERSION = 3


def _mb(size) -> str:
    if size is None:
        return "-"
    return f"{size / 1e6:.2f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"


def format_table(report: dict) -> str:
    """A short human-readable summary of a conversion report."""
    agreement = report.get("agreement") or {}
    size = report["size"]
    lines = [
        f"target            {report['target']}  (runtime: {report['runtime']}, "
        f"kernel options: {_options(report.get('kernel_options', {}))})",
        f"model file        {report.get('model_path', report.get('model_file'))}  "
        f"sha256 {report['sha256'][:12]}...",
        f"size              {_mb(size['tflite_bytes'])}  vs float "
        f"{_mb(size.get('float_tflite_bytes'))}"
        + (f"  ({size['ratio_vs_float']:.1f}x smaller)" if size.get("ratio_vs_float") else ""),
        f"binary MACs       {report['macs']['binary_fraction']:.1%} run on binary kernels "
        f"({report['macs']['binary_macs']:,} binary / {report['macs']['float_macs']:,} float "
        "per image)",
        "ops               "
        + ", ".join(f"{name} x{count}" for name, count in report["op_histogram"].items()),
    ]
    if agreement:
        lines.append(
            f"vs original Keras top-1 agreement {agreement['top1_agreement']:.2%}, max abs "
            f"diff {agreement['max_abs_diff']:.2e} on {agreement['n']} "
            f"{agreement.get('data', 'images')}"
        )
    checks = report.get("verification")
    if checks:
        lines.append("verification      " + _verdict(checks))
    accuracy = report.get("accuracy")
    if accuracy:
        lines.append(
            f"accuracy          Keras {accuracy['keras']:.2%}, TFLite "
            f"{accuracy['tflite']:.2%} on {accuracy['n']} images"
        )
    int8 = report.get("int8")
    if int8 and int8.get("qat_epochs"):
        lines.append(
            f"QAT fine-tuning   {int8['qat_epochs']} epoch(s) on {int8['qat_images']} images"
        )
    for layer in report.get("float_layers", []):
        lines.append(f"stays float       {layer['layer']}: {layer['reason']}")
    for warning in report.get("warnings", []):
        lines.append(f"warning           {warning}")
    return "\n".join(lines)


def _verdict(checks: dict) -> str:
    bounds = checks["bounds"]
    if checks["criterion"] == "top1_and_max_diff":
        rule = (
            f"top-1 >= {bounds['min_agreement']:.0%}, max diff <= "
            f"{bounds['max_relative_diff']:g}x output scale"
        )
    else:
        rule = (
            f"<= {bounds['max_fraction']:.2%} of outputs beyond {bounds['tolerance']:g}x "
            "output scale"
        )
    tie = checks.get("tie_check")
    if checks["passed"]:
        text = f"passed ({rule})"
        if tie and tie["passed"]:
            ties = tie["sign_ties"]
            text += (
                f"; output differences explained by sign ties: {ties['tie_flips']} tie "
                f"flips, every one of {tie['layers_compared']} layers agrees on its own "
                "inputs"
            )
        return text
    prefix = (
        "FAILED, written anyway (--allow-disagreement)"
        if checks.get("allowed_disagreement")
        else "FAILED"
    )
    return f"{prefix}: {checks['failure']}"


def _options(options: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items()) or "-"
