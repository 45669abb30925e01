"""REPORT.md from the report data (:func:`bnnkit.bench.report.run_report`)."""

from __future__ import annotations

from bnnkit.bench.latency import format_spread
from bnnkit.bench.papers import PUBLISHED, PUBLISHED_SIZES, PUBLISHED_SPEEDUPS

__all__ = ["layer_rows", "limit_flags", "machine_line", "report_command", "report_markdown"]


def _pct(value):
    return "-" if value is None else f"{100 * value:.2f}"


def _ms(stat, scale=100.0, digits=2):
    """``mean ± std`` of a :func:`~bnnkit.bench.report_stats.mean_std` (in %, by default)."""
    if not stat:
        return "-"
    if stat["n"] < 2:
        return f"{scale * stat['mean']:.{digits}f}"
    return f"{scale * stat['mean']:.{digits}f} ± {scale * stat['std']:.{digits}f}"


def _count(value):
    return "-" if value is None else f"{value:,}"


def machine_line(machine: dict) -> str:
    simd = ", ".join(machine.get("simd") or []) or "none reported"
    return (
        f"- Machine: **{machine['label']}** (SIMD features read from the CPU: {simd}). "
        "Every latency and timing below is an x86 host figure; no ARM latency is "
        "reported here (ARM is measured only on a Pi, see docs/raspberry-pi.md)."
    )


def limit_flags(budget: dict) -> list[str]:
    """``--train-limit N --test-limit M`` of a run's budget (only the limits it had)."""
    flags = []
    for flag, key in (("--train-limit", "train_limit"), ("--test-limit", "test_limit")):
        if budget.get(key):
            flags += [flag, str(budget[key])]
    return flags


def report_command(budget: dict) -> str:
    """The ``bnnkit report`` command line that produces a report of ``budget``."""
    parts = ["bnnkit report", "--datasets", *budget["datasets"]]
    if budget["epochs"] != "recipe":
        parts += ["--epochs", str(budget["epochs"])]
    if budget.get("recipe", "budget") != "budget":
        parts += ["--recipe", budget["recipe"]]
    parts += limit_flags(budget)
    seeds = budget.get("seeds") or [0]
    if seeds[0]:
        parts += ["--seed", str(seeds[0])]
    if len(seeds) > 1:
        parts += ["--seeds", str(len(seeds))]
    return " ".join(parts)


def report_markdown(data: dict) -> str:
    b = data["budget"]
    seeds = b.get("seeds", [b.get("seed", 0)])
    lines = [
        "# bnnkit reproduction report",
        "",
        machine_line(data["machine"]),
        f"- Budget: architecture `{b['arch']}` (LeNet-5-style, the same for every "
        f"method), **{b['epochs']} epochs in total per method, the epochs of every "
        "stage counted** (Bi-Real's real-valued initialization network and BWNH/SBD's "
        f"float network included; each row shows its split), recipe `{b.get('recipe', 'budget')}` "
        f"(bnnkit/recipes.py), training images: **{b['train_limit'] or 'all'}**, test "
        f"images: **{b['test_limit'] or 'all'}**, seeds {', '.join(map(str, seeds))}.",
        "- Each accuracy cell is the mean ± the sample standard deviation over the "
        f"{len(seeds)} seed(s); sizes and latencies are of the first seed's model.",
        f"- Reproduce: `{report_command(b)}`. This invocation took {data['seconds']} s "
        "(reruns skip finished runs, conversions and evaluations; each row's own training "
        "seconds are in its table).",
        "",
    ]
    lines += _variants_section(data)
    lines += _missing_section(data)
    for dataset in dict.fromkeys(r["dataset"] for r in data["summary"]):
        lines += _dataset_section(data, dataset)
    lines += _orderings_section(data)
    lines += [
        "The measured effect of each option that restores or departs from a paper "
        "(`--recipe paper` against `budget`, BWN's exact gradient, BWNH's trainable scale, "
        "SBD's latent magnitude, fitting the float network's layer outputs): "
        "[ABLATIONS.md](ABLATIONS.md), `python -m bnnkit.bench.ablations`.",
        "",
    ]
    lines += _layer_section(data)
    lines += _published_section()
    lines += _gaps_section(data)
    lines += _imagenet_section(data)
    for plot in data.get("plots", []):
        lines += [f"![{plot}]({plot})", ""]
    return "\n".join(lines)


def _variants_section(data):
    """What each row that is not a method's default changes, from the report's own rows."""
    notes = {r["label"]: (r.get("role"), r.get("note")) for r in data["summary"] if r.get("note")}
    if not notes:
        return []
    lines = ["Rows that are not a method's default configuration:", ""]
    lines += [f"- `{label}` ({role}): {note}." for label, (role, note) in notes.items()]
    return lines + [""]


def _missing_section(data):
    b = data["budget"]
    seeds = b.get("seeds", [])
    done = {(r["dataset"], r["label"], r["seed"]) for r in data["results"]}
    missing = [
        f"{d}/{v}/seed {s}"
        for d in b["datasets"]
        for v in b.get("variants", [])
        for s in seeds
        if (d, v, s) not in done
    ]
    lines = []
    if data.get("failures"):
        lines += ["**Failed cells** (the rest of the report is unaffected):", ""]
        lines += [
            f"- {f['dataset']}/{f.get('label', f.get('method'))}/seed {f.get('seed')}: {f['error']}"
            for f in data["failures"]
        ]
        lines.append("")
    if missing:
        lines += [
            f"**Missing cells** ({len(missing)} of "
            f"{len(b['datasets']) * len(b.get('variants', [])) * len(seeds)}): "
            + ", ".join(missing),
            "",
        ]
    return lines


def _lce_runtime_words(rows: list[dict]) -> str:
    """How the `lce` and `int8` rows were timed, from what each row recorded."""
    used = {
        "the LCE-kernel delegate on ai-edge-litert (bnnkit's x86 binary kernels)"
        if (r.get("latency_runtime") or {}).get("options", {}).get("delegate")
        else "LCE's interpreter with its indirect BGEMM kernels"
        for r in rows
        if r.get("latency_runtime") and r["latency_runtime"].get("runtime") != "tflite"
    }
    return "`lce`/`int8` models on " + (" or ".join(sorted(used)) or "no runtime (not timed)")


def _prediction(r):
    pred = r["predicted_speedup"]
    if r["target"] == "lce":
        formula = "horq" if r["method"] == "horq" else "xnor"
        return f"{pred[formula]}x ({'HORQ' if formula == 'horq' else 'XNOR S'})"
    if r["target"] == "litert":
        formula = "sbd" if r["method"] == "sbd" else "bwn"
        return f"{pred[formula]}x ({formula.upper()})"
    return "1x (baseline)"


def _dataset_section(data, dataset):
    rows = [r for r in data["summary"] if r["dataset"] == dataset]
    label = data["machine"]["label"]
    lines = [
        f"## {dataset}: accuracy, budget, size, speed",
        "",
        "| row | variant | target | TFLite acc % | Keras acc % | agreement % | epochs "
        "(stages) | images seen | train s | .tflite KB | vs float | binary MAC % | "
        "ms/image (1 thread) | speed-up vs float | paper prediction (whole model) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        size = r["tflite_bytes"]["mean"]
        ratio = (
            f"{r['float_tflite_bytes'] / size:.1f}x smaller" if r.get("float_tflite_bytes") else "-"
        )
        stages = "+".join(str(e) for e in (r.get("stage_epochs") or {}).values())
        lines.append(
            f"| {r['label']} | {r['role']} | {r['target']} | {_ms(r['tflite_accuracy'])} | "
            f"{_ms(r['keras_accuracy'])} | {_ms(r['agreement'])} | {r['epochs']} ({stages}) | "
            f"{_count(r['images_seen'])} | {_ms(r['train_seconds'], 1.0, 0)} | "
            f"{size / 1024:.1f} | {ratio} | {100 * r['binary_fraction']:.1f} | "
            f"{format_spread(r.get('latency_ms'), 3)} | "
            f"{format_spread(r.get('speedup_vs_float'), 2)} | "
            f"{_prediction(r)} |"
        )
    lines += [
        "",
        "Variant: `paper` follows its paper, `trade-off` departs from it on purpose to be "
        "cheaper to deploy, `correction` departs from the printed paper to fix an error in "
        "it, `baseline` is not a paper's method (see the README methods table). Latency: "
        f"median [min-max] over interleaved rounds, batch 1, 1 thread, {label}; "
        f"{_lce_runtime_words(rows)}, float/litert with the stock "
        "interpreter (XNNPACK). Prediction: Amdahl's law over our layers, each binary "
        "layer at the paper's formula, real layers at 1x.",
        "",
    ]
    data_driven = [r for r in rows if r.get("binarized_accuracy")]
    if data_driven:
        lines += [
            f"Data-driven methods on {dataset}: test accuracy of the float network they "
            "start from, right after binarizing it (before fine-tuning), BWN's sign/mean "
            "binarization of "
            "the same float network, and the bits that flipped during fine-tuning.",
            "",
            "| row | float start % | right after binarization % | BWN of the same float "
            "net % | after fine-tuning % | bits flipped (of binary weights) |",
            "|---|---|---|---|---|---|",
        ]
        for r in data_driven:
            flips = r.get("flipped_bits")
            flipped = (
                f"{flips['mean']:,.0f} ± {flips['std']:,.0f} of {r.get('binary_weights') or 0:,}"
                if flips
                else "-"
            )
            lines.append(
                f"| {r['label']} | {_ms(r.get('float_accuracy'))} | "
                f"{_ms(r['binarized_accuracy'])} | "
                f"{_ms(r.get('bwn_binarized_accuracy'))} | "
                f"{_ms(r['tflite_accuracy'])} | {flipped} |"
            )
        lines.append("")
    return lines


def _ablation_side(ablations, comparison_id, dataset, side) -> dict | None:
    """``{"stat", "epochs"}`` of one side's accuracy in ``ablations.json``, if measured."""
    wanted = (comparison_id, dataset, "tflite_accuracy")
    for c in (ablations or {}).get("comparisons", []):
        if (c["id"], c["dataset"], c["field"]) == wanted and c.get(side) and c[side]["n"] > 1:
            return {"stat": c[side], "epochs": ablations.get("recipe_epochs")}
    return None


def _float_start(row, rows, ablations) -> str:
    r = rows[row["id"].split(">")[0]]
    start, stages = r.get("float_accuracy"), r.get("stage_epochs") or {}
    if not start or start["mean"] >= row["b"]:
        return ""
    return (
        f"{r['label'].upper()} starts from a float network trained for "
        f"{stages.get('float', 0)} of the {r['epochs']} epochs, at {100 * start['mean']:.2f}% "
        f"itself, below BWN's {100 * row['b']:.2f}% after {r['epochs']} epochs from scratch; "
        f"{stages.get('binarize', 0)} fine-tuning epoch(s) do not close that gap."
    )


def _layer_errors(row, rows, ablations) -> str:
    sbd = rows["sbd"].get("layer_relative_error") or {}
    bwnh = (rows.get("bwnh") or {}).get("layer_relative_error") or {}
    worse = [
        f"{layer} {100 * sbd[layer]['mean']:.1f}% against {100 * bwnh[layer]['mean']:.1f}%"
        for layer in sbd
        if sbd[layer] and bwnh.get(layer) and bwnh[layer]["mean"] < sbd[layer]["mean"]
    ]
    if not worse:
        return ""
    return (
        "With as many binary weights, SBD's decomposition leaves a larger relative squared "
        "error of the layer outputs on the calibration images than BWNH's hashing: "
        f"{'; '.join(worse)}."
    )


def _binary_epochs(row, rows, ablations) -> str:
    r = rows["bireal"]
    stages = r.get("stage_epochs") or {}
    if "binary" not in stages:
        return ""
    return (
        f"Bi-Real's binary network trains for {stages['binary']} of its {r['epochs']} epochs "
        "(the rest trains the real-valued network that initializes it), XNOR-Net's for all "
        f"{r['epochs']}."
    )


def _still_converging(row, rows, ablations) -> str:
    longer = _ablation_side(ablations, "recipe-bwn", row["dataset"], "b")
    if not longer or longer["stat"]["mean"] <= rows["float"]["tflite_accuracy"]["mean"]:
        return ""
    return (
        f"BWN is still converging at this budget: trained for {longer['epochs']} epochs it "
        f"reaches {_ms(longer['stat'])}%, above this float row (ABLATIONS.md, recipe-bwn)."
    )


#: Ordering id -> (rows it reads, the function that explains a failure from them).
_EXPLAINERS = {
    "bwnh>bwn@finetuned": (("bwnh",), _float_start),
    "sbd>bwn@finetuned": (("sbd",), _float_start),
    "sbd>bwnh@binarized": (("sbd",), _layer_errors),
    "bireal>xnor": (("bireal",), _binary_epochs),
    "bwn~float": (("float",), _still_converging),
}


def _budget_why(row, summary, ablations=None) -> str:
    """Why an ordering fails, when the report's rows (or the ablations' longer runs) show
    it: a data-driven method's float start below BWN, SBD's larger layer errors, Bi-Real's
    binary epochs, BWN still converging (empty otherwise). "A > B" orderings are explained
    only when A is behind."""
    needed, explain = _EXPLAINERS.get(row["id"], ((), None))
    rows = {r["label"]: r for r in summary if r["dataset"] == row["dataset"]}
    if explain is None or any(label not in rows for label in needed):
        return ""
    if row["kind"] == "greater" and row["margin"] >= 0:
        return ""
    return explain(row, rows, ablations)


def _why(row, summary=(), ablations=None):
    if row["verdict"] in ("holds", "not tested (one seed)"):
        return ""
    text = _budget_why(row, summary, ablations)
    if text:
        return text
    if row["verdict"] == "does not hold (reversed)":
        return "The second is ahead by more than the seed-to-seed spread on this data."
    if row["kind"] == "close":
        return "The gap is larger than the seed-to-seed spread."
    return "The gap is within the seed-to-seed spread: at this budget the two do not differ."


def _orderings_section(data):
    rows = data.get("orderings") or []
    if not rows:
        return []
    n = min(r["n"] for r in rows)
    lines = [
        "## The papers' orderings, tested",
        "",
        f"Margin = first minus second, in accuracy points (mean over {n}+ seeds); 1 std = "
        "the standard deviation of that difference, sqrt(s1^2 + s2^2). An ordering "
        "**holds** when the margin is larger than 1 std ('close' orderings: when the "
        "gap is at most 1 std).",
        "",
        "| dataset | claim (source) | first % | second % | margin | 1 std | verdict | why |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        lines.append(
            f"| {r['dataset']} | {r['claim']} ({r['source']}) | {100 * r['a']:.2f} | "
            f"{100 * r['b']:.2f} | {100 * r['margin']:+.2f} | {100 * r['noise']:.2f} | "
            f"**{r['verdict']}** | {_why(r, data.get('summary', []), data.get('ablations'))} |"
        )
    return lines + [""]


def layer_rows(results: list[dict]) -> list[dict]:
    """The layer table the per-layer section shows: a HORQ run's, else an LCE run's, else
    any run's (``report.json`` keeps it as ``layers``)."""
    candidates = [r.get("layers") for r in results if r["method"] == "horq"]
    candidates += [r.get("layers") for r in results if r["target"] == "lce"]
    candidates += [r.get("layers") for r in results]
    return next((layers for layers in candidates if layers), [])


def _layer_section(data):
    rows = data.get("layers") or []  # write_report keeps them
    lines = [
        "## The papers' per-layer predictions for our LeNet",
        "",
        "c = input channels, N_W = kernel taps (w x h), positions = output positions "
        "(N_I). XNOR-Net S = 64 c N_W / (c N_W + 64). HORQ order K (our reading of the "
        "paper's cost: K binary convs and K + 1 non-binary operations per position): "
        "64 c N_W / (K c N_W + 64 (K + 1)). BWN: c N_W (T_m + T_a) / (c N_W T_a + T_m). "
        "SBD (its cost model): S N (T_m + T_a) / (K (S + N) T_a + K T_m) with S = c N_W, "
        "N = filters and K at the default bit budget. T_m, T_a = cost of a multiply and "
        "an add, both 1 here (not measured). See bnnkit/bench/layers.py.",
        "",
        "| layer | real in our model as | c | N_W | positions | filters | MACs | XNOR S | "
        "HORQ-2 | BWN | SBD (K) | measured, layer alone (LCE indirect vs float) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    from bnnkit.bench.layers import horq_speedup

    bench = data.get("bench") or {}
    latency = bench.get("latency", {})
    for r in rows:
        measured = latency.get(f"layer:{r['layer']}/binary-lce/indirect_bgemm/t1", {})
        p = r["prediction"]
        horq2 = round(horq_speedup(r["c"], r["n_w"], 2), 2)
        lines.append(
            f"| {r['layer']} | {r['kind']} | {r['c']} | {r['n_w']} | {r['positions']} | "
            f"{r['filters']} | {r['macs']:,} | {p['xnor']} | {horq2} | {p['bwn']} | "
            f"{p['sbd']} ({p['sbd_k']}) | {format_spread(measured.get('speedup'), 2)} |"
        )
    if bench:
        lines += [
            "",
            f"Measured column: `bnnkit bench` ({bench['machine']['label']}), each "
            "layer alone as a float conv (XNNPACK) and as an LCE binary conv "
            "(LceQuantize + LceBconv2d); see results/bench.md.",
            "",
        ]
    else:
        lines += ["", "Measured per-layer column: run `bnnkit bench` first.", ""]
    return lines


def _published_section():
    lines = [
        "## Published numbers (not comparable with our MNIST/Fashion-MNIST LeNet)",
        "",
        "| method | model | dataset | top-1 % | top-5 % | checked | source |",
        "|---|---|---|---|---|---|---|",
    ]
    for method, entries in PUBLISHED.items():
        for e in entries:
            top1 = "-" if e.get("top1") is None else e["top1"]
            top5 = "-" if e.get("top5") is None else e["top5"]
            lines.append(
                f"| {method} | {e['model']} | {e['dataset']} | {top1} | {top5} | "
                f"{e.get('status', '-')} | {e['source']} |"
            )
    lines += ["", "The papers' speed-up claims:", ""]
    lines += [f"- {s['method']}: {s['claim']} ({s['source']})" for s in PUBLISHED_SPEEDUPS]
    lines += [
        "",
        "ImageNet is 1000 classes of 224x224 photos; MNIST/Fashion-MNIST are 10 classes "
        "of 28x28 grey images. "
        "The ImageNet figures show each method's known ranking there; our numbers can "
        "only test the orderings on small data, with a short budget (see above).",
        "",
    ]
    return lines


def _gaps_section(data):
    bench = data.get("bench") or {}
    lat = bench.get("latency", {})
    default = lat.get("bnn/lce/default/t1", {}).get("ms")
    indirect = lat.get("bnn/lce/indirect_bgemm/t1", {}).get("ms")
    float_ms = lat.get("float/tflite-xnnpack/t1", {}).get("ms")
    simd = set(data["machine"].get("simd") or [])
    wide = [f for f in ("avx2", "avx512f", "fma") if f in simd]
    reported = (
        f"this host's CPU reports {', '.join(wide)}"
        if wide
        else "this host's CPU reports none of AVX2, AVX-512F, FMA"
    )
    measured = ""
    if default and indirect and float_ms:
        measured = (
            f" Measured here (`bnnkit bench`, whole BNN LeNet, 1 thread): float XNNPACK "
            f"{float_ms['median']:.3f} ms, LCE default kernels {default['median']:.3f} "
            f"ms, LCE indirect BGEMM {indirect['median']:.3f} ms per image."
        )
    return [
        "## Why the measured speed-ups are far below the papers' predictions",
        "",
        "1. **The 64x assumes one float MAC per cycle against 64 binary MACs per 64-bit "
        "XNOR+popcount.** A modern x86 core does 16-32 float MACs per cycle with AVX2/AVX-512 "
        f"FMA ({reported}; XNNPACK uses what it finds), while a binary MAC needs XNOR, "
        "popcount and accumulation; the realistic ceiling is a few x per layer, not 58-64x."
        + measured,
        "2. **LCE's x86 kernels are not its target.** LCE is optimized for 64-bit ARM "
        "(NEON); on x86 the default bconv kernel is markedly slower than the indirect BGEMM "
        "one, and the reference kernel is slower still (see the kernel-option rows of "
        "results/bench.md). The ARM ratio is expected to be higher but is not "
        "claimed here: it was not measured on ARM.",
        "3. **Our layers are small.** XNOR-Net's S depends only on c N_W, but the fixed "
        "costs the formula leaves out do not shrink with the layer: LceQuantize (sign + "
        "bit-packing of the input), the per-output-channel multiply/add that applies alpha, "
        "beta and batch norm, and im2col/padding. For the 7x7 'fc' conv with one output "
        "position, and for 28x28 inputs generally, those overheads and the interpreter's "
        "per-op dispatch (microseconds) are a large share of the time.",
        "4. **Amdahl's law.** The first and last layers stay real-valued by design (every "
        "paper does so); pooling, batch norm, softmax are float. The whole-model prediction "
        "already accounts for the MACs, not for these non-MAC ops, which are a larger share "
        "of a small net's time.",
        "5. **HORQ order K** runs K binary convolutions plus the float residual "
        "R_i = R_{i-1} - A_i H_i, the channel means A_i and, with `beta=map`, K box "
        "filters A_i * k (one float 1-channel conv each), which the formula leaves out; "
        "its measured ratio falls below XNOR/BNN's by more than K.",
        "6. **BWN, BWNH, SBD** have real-valued inputs, so LCE cannot use binary kernels: "
        "they deploy as stock int8-weight convs (`litert`). The predicted ~2x counts "
        "additions instead of multiplications, which no stock kernel exploits; the measured "
        "ratio instead reflects int8 weight storage (smaller, cache-friendlier) and the "
        "dynamic-range int8 kernels. SBD's three layers (conv_v, scale, conv_u) at the "
        "default budget cost about what the original layer costs, so its prediction is ~2x "
        "too, and its measured latency can be higher than BWN's.",
        "7. **Accuracy gaps against the papers**: different datasets (ImageNet vs MNIST), a "
        "budget of a few epochs instead of ~20-55, no augmentation, and a LeNet with one "
        "binary conv and one binary 'fc' layer. On MNIST the ranking compresses: the "
        "methods' accuracies lie close together, so several orderings are inside the "
        "seed-to-seed spread (see the orderings table).",
        "",
    ]


def _imagenet_section(data):
    imagenet = data.get("imagenet")
    lines = ["## ImageNet scale: build and convert, no training (224x224x3, 1000 classes)", ""]
    if not imagenet:
        return lines + [
            "Not run yet: `python -m bnnkit.bench.imagenet` (nice'd, minutes, several "
            "GB of memory), then `bnnkit report` again.",
            "",
        ]
    lines += [
        f"Measured on {imagenet['machine']['label']}, each conversion in its own process.",
        "",
        "| model | method | target | parameters | MACs (G) | binary MAC % | .tflite MB | "
        "float .tflite MB | conversion s | peak RSS MB | published comparable |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for m in imagenet["models"]:
        if "error" in m:
            lines.append(
                f"| {m['arch']} | {m['method']} | {m.get('target', '-')} | failed: "
                f"{m['error'][:150]} | | | | | | | |"
            )
            continue
        pub = PUBLISHED_SIZES.get(m.get("published_key") or "", None)
        pub_text = (
            f"{pub['model']}: {pub['size_mb']} MB, {pub['parameters']:,} params, "
            f"top-1 {pub['top1']}%"
            if pub
            else "-"
        )
        size = m.get("size") or {}
        float_mb = (
            f"{size['float_tflite_bytes'] / 1e6:.2f}" if size.get("float_tflite_bytes") else "-"
        )
        macs = m["keras_macs"]
        lines.append(
            f"| {m['arch']} | {m['method']} | {m['target']} | {m['parameters']:,} | "
            f"{macs['macs'] / 1e9:.2f} | {100 * macs['binary_fraction']:.1f} | "
            f"{m['tflite_bytes'] / 1e6:.2f} | {float_mb} | {m['seconds']} | "
            f"{m['peak_rss_mb']} | {pub_text} |"
        )
    sources = sorted({str(p["source"]) for p in PUBLISHED_SIZES.values()})
    lines += [
        "",
        "Published sizes: 'Memory' of each model's ImageNet Metrics table (weights "
        "after quantization), from " + "; ".join(sources) + ".",
        "",
    ]
    return lines
