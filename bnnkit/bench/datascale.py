"""Data-scale benchmarks: memory, input throughput, workers, kill-and-resume, the 224 path.

Each subcommand runs real ``bnnkit`` commands on folders written by
:mod:`bnnkit.bench.photos` and writes one JSON file under ``results/``:

    python -m bnnkit.bench.datascale memory --gen 2000=/tmp/gen2k --gen 20000=/tmp/gen20k
    python -m bnnkit.bench.datascale throughput --gen /tmp/gen2k
    python -m bnnkit.bench.datascale workers --gen /tmp/gen2k
    python -m bnnkit.bench.datascale resume --gen /tmp/gen2k
    python -m bnnkit.bench.datascale path224 --gen /tmp/gen20k --samples ../shared/datasets/samples

``memory`` measures the peak resident set size of a whole ``bnnkit train`` process with
``os.wait4`` (the kernel's ``ru_maxrss`` of that child). ``--code before --repo DIR`` runs
the same measurement with an older checkout (whose ``folder:`` loader wanted ``train/`` and
``test/`` and had no ``--steps-per-epoch``: 20 steps are then ``--train-limit 640``); results
of each ``--code`` label are merged into one file. Timings are taken on a shared machine:
only ratios measured side by side in one run are claims (``throughput`` interleaves its
rounds).
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from bnnkit.bench.machine import machine_info

__all__ = [
    "MEASURED_BEGIN",
    "MEASURED_END",
    "checkpoint_epoch",
    "disjoint_shards",
    "free_ports",
    "measured_markdown",
    "memory",
    "path224",
    "resume",
    "run_measured",
    "run_workers",
    "throughput",
    "workers",
    "write_measured",
]

REPO = Path(__file__).resolve().parents[2]
RESULTS = REPO / "results"
MEASURED_BEGIN, MEASURED_END = "<!-- measured:begin -->", "<!-- measured:end -->"
BATCH = 32
MEMORY_ARGS = [
    "--arch",
    "resnet18",
    "--steps-per-epoch",
    "20",
    "--epochs",
    "1",
    "--batch-size",
    str(BATCH),
    "--test-limit",
    "200",
]
#: A training process is stopped at this resident size (the machine is shared).
MEMORY_CAP_MB = 12_000
#: The same 20 steps for a checkout without --steps-per-epoch.
MEMORY_ARGS_BEFORE = [
    "--arch",
    "resnet18",
    "--epochs",
    "1",
    "--train-limit",
    str(20 * BATCH),
    "--batch-size",
    str(BATCH),
    "--test-limit",
    "200",
]


def _env(repo: Path = REPO, **extra) -> dict:
    env = dict(os.environ, PYTHONPATH=str(repo), BNNKIT_OFFLINE="1", TF_CPP_MIN_LOG_LEVEL="3")
    env.pop("TF_CONFIG", None)
    env.pop("BNNKIT_DEBUG", None)
    return {**env, **extra}


def bnnkit_command(*args: str | Path) -> list[str]:
    return [sys.executable, "-m", "bnnkit.cli.main", *map(str, args)]


def run_measured(command: list[str], env: dict, log: Path, *, cap_mb: float | None = None) -> dict:
    """Run ``command`` in the checkout ``env["PYTHONPATH"]`` (``python -m`` puts the working
    folder first on the path); its exit code, wall time and peak RSS (``ru_maxrss``).

    With ``cap_mb`` the child is killed once its resident set passes that many MB (polled
    every 0.2 s), so that a process that would fill a shared machine stops first; the result
    then says ``"killed_at_cap": true`` and its peak is a lower bound. Linux counts the
    caller's resident size at the fork in the child's ``ru_maxrss``: call it from a small
    process (``python -m bnnkit.bench.datascale`` is one, under 100 MB).
    """
    import psutil

    started = time.perf_counter()
    capped = False
    with open(log, "w") as out:
        process = subprocess.Popen(
            command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=env["PYTHONPATH"]
        )
        # wait4 (not Popen.poll, which would reap the child and lose its rusage)
        pid, status, usage = os.wait4(process.pid, 0 if cap_mb is None else os.WNOHANG)
        while not pid:
            try:
                rss = psutil.Process(process.pid).memory_info().rss
            except psutil.NoSuchProcess:
                rss = 0
            if cap_mb is not None and not capped and rss > cap_mb * 2**20:
                process.kill()
                capped = True
            time.sleep(0.2)
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
    process.returncode = os.waitstatus_to_exitcode(status)
    result = {
        "returncode": process.returncode,
        "seconds": round(time.perf_counter() - started, 1),
        "peak_rss_mb": round(usage.ru_maxrss / 1024, 1),
    }
    return {**result, "killed_at_cap": True, "cap_mb": cap_mb} if capped else result


def _git_commit(repo: Path) -> str:
    result = subprocess.run(
        ["git", "rev-parse", "--short", "HEAD"], cwd=repo, capture_output=True, text=True
    )
    return result.stdout.strip() or "unknown"


def _merge_write(path: Path, key: str, value: dict) -> dict:
    data = json.loads(path.read_text()) if path.is_file() else {}
    data[key] = {"commit": os.environ.get("BNNKIT_COMMIT") or _git_commit(REPO), **value}
    data["machine"] = machine_info()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n")
    return data


def _test_layout(gen: Path, work: Path) -> Path:
    """A view of ``gen`` with ``test/`` for ``val/`` (what older folder loaders wanted)."""
    view = work / f"view-{gen.name}"
    view.mkdir(parents=True, exist_ok=True)
    for link, target in (("train", gen / "train"), ("test", gen / "val")):
        if not (view / link).exists():
            (view / link).symlink_to(target)
    return view


def memory(
    gens: dict[int, Path],
    code: str,
    repo: Path,
    out: Path,
    commit: str = "",
    cap_mb: float = MEMORY_CAP_MB,
    side_by_side: bool = False,
) -> dict:
    """Peak RSS of ``bnnkit train --dataset folder:GEN --arch resnet18`` for 20 steps of 32,
    for each generated folder, with the checkout ``repo``; ``side_by_side`` runs the folders
    at the same time (each peak is its own process's). A run that passes ``cap_mb`` is
    stopped there (see :func:`run_measured`): its growth is then a lower bound
    (``"growth_is_lower_bound": true``)."""
    from concurrent.futures import ThreadPoolExecutor

    work = Path(tempfile.mkdtemp(prefix="bnnkit-memory-"))
    commands = {}
    for images, gen in sorted(gens.items()):
        folder = gen if code != "before" else _test_layout(gen, work)
        args = MEMORY_ARGS if code != "before" else MEMORY_ARGS_BEFORE
        commands[images] = bnnkit_command(
            "train", "--dataset", f"folder:{folder}", *args, "--runs-dir", work, "--name",
            f"m{images}",
        )  # fmt: skip

    def measure(images: int) -> dict:
        log = work / f"m{images}.log"
        result = run_measured(commands[images], _env(repo), log, cap_mb=cap_mb)
        if result["returncode"] != 0 and not result.get("killed_at_cap"):
            raise RuntimeError(f"{commands[images]} failed: see {log}")
        return {"command": " ".join(map(str, commands[images][1:])), **result}

    with ThreadPoolExecutor(len(commands) if side_by_side else 1) as pool:
        runs = dict(zip(map(str, commands), pool.map(measure, commands), strict=True))
    small, large = (runs[str(n)]["peak_rss_mb"] for n in (min(gens), max(gens)))
    return _merge_write(
        out,
        code,
        {
            "commit": commit or _git_commit(repo),
            "runs": runs,
            "growth": round(large / small - 1, 4),
            "growth_is_lower_bound": any(run.get("killed_at_cap") for run in runs.values()),
            "images": [min(gens), max(gens)],
        },
    )


def throughput(
    gen: Path, out: Path, *, rounds: int = 3, batches: int = 20, steps: int = 10
) -> dict:
    """Training pipeline alone (decode + augment at 224, batch 32) vs Bi-Real-18 training
    steps at batch 32, interleaved in one process."""
    import tensorflow as tf

    import bnnkit  # noqa: F401
    from bnnkit.data import load_dataset
    from bnnkit.models import build_model

    dataset = load_dataset(f"folder:{gen}")
    epoch = dataset.steps_per_epoch(BATCH)

    def pipeline_rate(round_index: int) -> float:
        batches_iter = iter(
            dataset.train_batches(BATCH, seed=round_index, epochs=range(1), steps_per_epoch=epoch)
        )
        for _ in range(2):  # start-up: threads, first files
            next(batches_iter)
        started = time.perf_counter()
        for _ in range(batches):
            next(batches_iter)
        return BATCH * batches / (time.perf_counter() - started)

    model = build_model("bireal18", "bireal", dataset.input_shape, dataset.num_classes)
    model.compile(tf.keras.optimizers.Adam(1e-3), "sparse_categorical_crossentropy")
    x, y = next(iter(dataset.train_batches(BATCH, seed=0, epochs=range(1), steps_per_epoch=1)))
    in_memory = tf.data.Dataset.from_tensors((x, y)).repeat()
    model.fit(in_memory, steps_per_epoch=2, epochs=1, verbose=0)

    def step_rate(data) -> float:
        started = time.perf_counter()
        model.fit(data, steps_per_epoch=steps, epochs=1, verbose=0)
        return BATCH * steps / (time.perf_counter() - started)

    measured: dict[str, list[float]] = {
        "pipeline_images_per_s": [],
        "train_images_per_s": [],
        "train_from_pipeline_images_per_s": [],
    }
    for index in range(rounds):
        measured["pipeline_images_per_s"].append(pipeline_rate(index))
        measured["train_images_per_s"].append(step_rate(in_memory))
        streaming = dataset.train_batches(BATCH, seed=index, epochs=range(1), steps_per_epoch=steps)
        measured["train_from_pipeline_images_per_s"].append(step_rate(streaming))
    medians = {key: round(float(np.median(values)), 2) for key, values in measured.items()}
    result = {
        "dataset": str(gen),
        "train_images": dataset.train_size,
        "batch": BATCH,
        "input_shape": list(dataset.input_shape),
        "augmentation": dataset.augmentation.name,
        "model": "bireal18 (method bireal)",
        "rounds": rounds,
        "pipeline_batches": batches,
        "train_steps": steps,
        "runs": {k: [round(v, 2) for v in vs] for k, vs in measured.items()},
        "median": medians,
        "pipeline_over_training": round(
            medians["pipeline_images_per_s"] / medians["train_images_per_s"], 2
        ),
        "streaming_over_in_memory_training": round(
            medians["train_from_pipeline_images_per_s"] / medians["train_images_per_s"], 3
        ),
    }
    return _merge_write(out, "throughput", result)


def free_ports(count: int) -> list[int]:
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("localhost", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def run_workers(train_args: list[str], runs: Path, name: str, count: int = 2) -> list[dict]:
    """Start ``count`` workers of ``bnnkit train --strategy multiworker`` on localhost
    (TF_CONFIG) and return each one's ``--json`` metrics (or its error)."""
    ports = free_ports(count)
    cluster = {"worker": [f"localhost:{p}" for p in ports]}
    processes = []
    for index in range(count):
        config = json.dumps({"cluster": cluster, "task": {"type": "worker", "index": index}})
        command = bnnkit_command(
            "train",
            *train_args,
            "--strategy",
            "multiworker",
            "--runs-dir",
            runs,
            "--name",
            name,
            "--json",
        )
        processes.append(
            subprocess.Popen(
                command,
                env=_env(TF_CONFIG=config),
                cwd=REPO,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
        )
    results = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=7200)
            results.append(
                {
                    "returncode": process.returncode,
                    "metrics": json.loads(out[out.index("{") :]) if "{" in out else None,
                    "stderr": err[-2000:],
                }
            )
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
    return results


def disjoint_shards(results: list[dict], all_files: list[str]) -> dict:
    """Whether the workers' file sets are disjoint and together are every file."""
    sets = [set(r["metrics"]["input_shard"]["files"]) for r in results]
    union = set().union(*sets)
    overlap = sum(len(a & b) for i, a in enumerate(sets) for b in sets[i + 1 :])
    return {
        "files_per_worker": [len(s) for s in sets],
        "overlap": overlap,
        "union_is_all": union == set(all_files),
        "disjoint": overlap == 0,
    }


def workers(gen: Path, out: Path, steps: int = 20) -> dict:
    """2 localhost workers train Bi-Real-18 for ``steps`` steps on the generated TFRecords."""
    import glob

    shards = sorted(glob.glob(str(gen / "tfrecords" / "train-*")))
    args = [
        "--dataset",
        f"tfrecord:{gen / 'tfrecords'}",
        "--arch",
        "bireal18",
        "--method",
        "bireal",
        "--steps-per-epoch",
        str(steps),
        "--epochs",
        "1",
        "--batch-size",
        str(BATCH),
        "--test-limit",
        "64",
    ]
    runs = Path(tempfile.mkdtemp(prefix="bnnkit-workers-"))
    started = time.perf_counter()
    results = run_workers(args, runs, "two")
    seconds = round(time.perf_counter() - started, 1)
    failed = [r["stderr"] for r in results if r["returncode"] != 0]
    if failed:
        raise RuntimeError(f"a worker failed:\n{failed[0]}")
    metrics = [r["metrics"] for r in results]
    return _merge_write(
        out,
        "workers",
        {
            "command": "bnnkit train " + " ".join(args) + " --strategy multiworker",
            "workers": len(results),
            "seconds": seconds,
            "test_accuracy": [m["test_accuracy"] for m in metrics],
            "shards": [m["input_shard"] for m in metrics],
            **disjoint_shards(results, shards),
        },
    )


def checkpoint_epoch(run_dir: Path) -> int:
    """The epoch of the newest checkpoint of stage 0 (0 when none), from its state file."""
    try:
        text = (run_dir / "checkpoint" / "stage0" / "checkpoint").read_text()
    except FileNotFoundError:
        return 0
    for line in text.splitlines():
        if line.startswith("model_checkpoint_path:"):
            return int(line.split('"')[1].rsplit("-", 1)[1])
    return 0


def resume(gen: Path, out: Path) -> dict:
    """SIGKILL a streaming run after its first checkpoint, ``--resume`` it, and compare its
    final weights with an uninterrupted run of the same command."""
    from bnnkit.serialization import load_model

    args = [
        "--dataset",
        f"folder:{gen}",
        "--arch",
        "resnet18",
        "--method",
        "xnor",
        "--image-size",
        "64",
        "--steps-per-epoch",
        "10",
        "--epochs",
        "3",
        "--batch-size",
        "16",
        "--test-limit",
        "64",
        "--seed",
        "4",
    ]
    runs = Path(tempfile.mkdtemp(prefix="bnnkit-resume-"))
    reference = run_measured(
        bnnkit_command("train", *args, "--runs-dir", runs, "--name", "ref"),
        _env(),
        runs / "ref.log",
    )
    process = subprocess.Popen(
        bnnkit_command("train", *args, "--runs-dir", runs, "--name", "cut"),
        env=_env(),
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    while checkpoint_epoch(runs / "cut") < 1 and process.poll() is None:
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait()
    killed_at = checkpoint_epoch(runs / "cut")
    resumed = run_measured(
        bnnkit_command("train", *args, "--runs-dir", runs, "--name", "cut", "--resume"),
        _env(),
        runs / "cut.log",
    )
    if reference["returncode"] or resumed["returncode"]:
        raise RuntimeError(f"a run failed: see {runs}")
    ours = load_model(runs / "cut" / "model.keras").get_weights()
    theirs = load_model(runs / "ref" / "model.keras").get_weights()
    history = [json.loads((runs / n / "history.json").read_text()) for n in ("cut", "ref")]
    return _merge_write(
        out,
        "resume",
        {
            "command": "bnnkit train " + " ".join(args),
            "killed_after_epoch": killed_at,
            "epochs": 3,
            "weights_identical": all(
                np.array_equal(a, b) for a, b in zip(ours, theirs, strict=True)
            ),
            "max_abs_weight_difference": float(
                max(np.abs(a - b).max() for a, b in zip(ours, theirs, strict=True))
            ),
            "history_identical": history[0] == history[1],
            "reference_seconds": reference["seconds"],
            "resume_seconds": resumed["seconds"],
        },
    )


def _train_or_reuse(args: list[str], runs: Path, name: str) -> dict:
    """Train ``runs/name`` with ``bnnkit train ARGS``, or reuse it when a previous call of
    this benchmark finished it (its training time then comes from its metrics.json)."""
    from bnnkit.training import run_is_complete

    if run_is_complete(runs / name):
        stages = json.loads((runs / name / "metrics.json").read_text())["stages"]
        return {
            "returncode": 0,
            "reused": True,
            "seconds": round(sum(s["seconds"] for s in stages), 1),
        }
    command = bnnkit_command("train", *args, "--runs-dir", runs, "--name", name)
    return run_measured(command, _env(), runs / "train.log")


def _agreement(gen: Path, run_dir: Path) -> dict:
    """Top-1 agreement of the LCE model with the Keras model on the folder's val images."""
    import converters
    from bnnkit.data import load_dataset
    from bnnkit.serialization import load_model

    dataset = load_dataset(f"folder:{gen}")
    x, y = dataset.arrays("test")
    model = load_model(run_dir / "model.keras")
    agreement = converters.compare_keras_tflite(model, run_dir / "lce" / "model.tflite", x)
    return {
        "agreement_images": int(agreement["n"]),
        "top1_agreement": agreement["top1_agreement"],
        "max_abs_diff": agreement["max_abs_diff"],
        "keras_accuracy_on_those_images": float(
            np.mean(model.predict(x, verbose=0).argmax(1) == y)
        ),
    }


def path224(
    gen: Path,
    samples: Path,
    out: Path,
    *,
    runs: Path | None = None,
    steps: int = 50,
    epochs: int = 2,
) -> dict:
    """Train Bi-Real-18 at 224 on a generated folder, convert it with LCE into a bundle,
    predict the sample JPEGs with ``bnnkit predict``, and measure the converted model's top-1
    agreement with the Keras model on the folder's validation images. ``runs`` keeps the
    run (a finished one there is reused)."""
    args = [
        "--dataset",
        f"folder:{gen}",
        "--arch",
        "bireal18",
        "--method",
        "bireal",
        "--steps-per-epoch",
        str(steps),
        "--epochs",
        str(epochs),
        "--batch-size",
        str(BATCH),
    ]
    runs = runs or Path(tempfile.mkdtemp(prefix="bnnkit-path224-"))
    runs.mkdir(parents=True, exist_ok=True)
    run_dir, bundle = runs / "bireal18", runs / "bundle"
    steps_run = {"train": _train_or_reuse(args, runs, run_dir.name)}
    steps_run["convert"] = run_measured(
        bnnkit_command("convert", run_dir, "--bundle", bundle, "--overwrite"),
        _env(),
        runs / "convert.log",
    )
    predicted = subprocess.run(
        bnnkit_command("predict", bundle, *sorted(samples.glob("imagenet_*.jpg")), "--json"),
        env=_env(),
        cwd=REPO,
        capture_output=True,
        text=True,
    )
    failed = [name for name, r in steps_run.items() if r["returncode"]]
    if failed or predicted.returncode:
        raise RuntimeError(f"{failed or 'predict'} failed: see {runs}")
    report = json.loads((run_dir / "lce" / "conversion.json").read_text())
    metrics = json.loads((run_dir / "metrics.json").read_text())
    return _merge_write(
        out,
        "path224",
        {
            "train_command": "bnnkit train " + " ".join(args),
            "convert_command": "bnnkit convert RUN --bundle BUNDLE",
            "predict_command": f"bnnkit predict BUNDLE {samples}/imagenet_*.jpg --json",
            "steps": steps_run,
            "train_images": metrics["train_images"],
            "keras_test_accuracy": metrics["test_accuracy"],
            "bundle_input": metrics["input"],
            "conversion": {
                k: report.get(k) for k in ("target", "verification", "size") if k in report
            },
            "predicted": [
                {"image": Path(p["image"]).name, "top1": p["top_k"][0]["label"]}
                for p in json.loads(predicted.stdout)["predictions"]
            ],
            **_agreement(gen, run_dir),
        },
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="benchmark", required=True)
    mem = sub.add_parser("memory", help="peak RSS of bnnkit train at two folder sizes")
    mem.add_argument("--gen", action="append", required=True, metavar="IMAGES=FOLDER")
    mem.add_argument("--code", default="after", help="label of the measured checkout")
    mem.add_argument("--repo", default=str(REPO), help="the checkout to run")
    mem.add_argument("--commit", default="", help="the checkout's commit (default: git)")
    mem.add_argument("--side-by-side", action="store_true", help="run the folders at the same time")
    mem.add_argument(
        "--cap-mb",
        type=float,
        default=MEMORY_CAP_MB,
        help=f"stop a training process at this resident size (default {MEMORY_CAP_MB:,} MB)",
    )
    doc = sub.add_parser("doc", help="rewrite the measured section of docs/training.md")
    doc.add_argument("--doc", default=str(REPO / "docs" / "training.md"))
    for name in ("throughput", "workers", "resume", "path224"):
        one = sub.add_parser(name)
        one.add_argument("--gen", required=True, help="a folder from bnnkit.bench.photos")
        if name == "path224":
            one.add_argument("--samples", required=True, help="folder of imagenet_*.jpg")
            one.add_argument("--runs", help="keep the run here (a finished one is reused)")
    parser.add_argument("--out", help="JSON file (default: results/data_<benchmark>.json)")
    args = parser.parse_args(argv)
    out = Path(args.out or RESULTS / f"data_{args.benchmark}.json")
    if args.benchmark == "doc":
        write_measured(Path(args.doc))
        return 0
    if args.benchmark == "memory":
        gens = {int(k): Path(v) for k, v in (item.split("=", 1) for item in args.gen)}
        result = memory(
            gens, args.code, Path(args.repo), out, args.commit, args.cap_mb, args.side_by_side
        )
    elif args.benchmark == "path224":
        result = path224(
            Path(args.gen), Path(args.samples), out, runs=Path(args.runs) if args.runs else None
        )
    else:
        result = globals()[args.benchmark](Path(args.gen), out)
    print(json.dumps(result, indent=2))
    return 0


def _read(results: Path, name: str) -> dict:
    path = results / f"data_{name}.json"
    return json.loads(path.read_text()) if path.is_file() else {}


def _peak(run: dict) -> str:
    if run.get("killed_at_cap"):
        return f"over {run['cap_mb']:,.0f} MB (stopped at that cap after {run['seconds']:.0f} s)"
    return f"{run['peak_rss_mb']:,.0f} MB"


def _memory_lines(memory: dict) -> list[str]:
    lines = ["| code | images | peak RSS | command |", "|---|---|---|---|"]
    for code in ("before", "after"):
        for images, run in sorted(
            memory.get(code, {}).get("runs", {}).items(), key=lambda item: int(item[0])
        ):
            command = run["command"].replace("-m bnnkit.cli.main", "bnnkit", 1)
            command = command.split(" --runs-dir ", 1)[0]  # the scratch folder is no example
            lines.append(
                f"| {code} ({memory[code]['commit']}) | {int(images):,} | {_peak(run)} | "
                f"`{command}` |"
            )
    lines.append("")
    for code in ("before", "after"):
        if code in memory:
            at_least = "at least " if memory[code].get("growth_is_lower_bound") else ""
            lines.append(
                f"- {code}: peak RSS grows {at_least}{memory[code]['growth']:+.1%} from "
                f"{memory[code]['images'][0]:,} to {memory[code]['images'][1]:,} images."
            )
    return lines


def measured_markdown(results: Path = RESULTS) -> str:
    """The measured section of docs/training.md, written from ``results/data_*.json``."""
    lines = [MEASURED_BEGIN, ""]
    machines = sorted(
        {
            data["machine"]["label"]
            for name in ("memory", "throughput", "workers", "resume", "path224")
            for data in [_read(results, name)]
            if data
        }
    )
    if machines:
        lines += [
            f"Measured on: {'; '.join(machines)} (shared with other jobs; only ratios "
            "taken in one run are compared).",
            "",
        ]
    memory = _read(results, "memory")
    if memory:
        lines += [
            "**Memory** (`python -m bnnkit.bench.datascale memory`, "
            "`results/data_memory.json`; peak RSS of the whole process):",
            "",
        ]
        lines += _memory_lines(memory) + [""]
    speed = _read(results, "throughput").get("throughput")
    if speed:
        median = speed["median"]
        lines += [
            f"**Input throughput** (`... throughput`, `results/data_throughput.json`, "
            f"{speed['rounds']} interleaved rounds, medians): the training pipeline alone "
            f"(decode + {speed['augmentation']} augmentation at "
            f"{speed['input_shape'][0]}x{speed['input_shape'][1]}, batch {speed['batch']}) "
            f"gives {median['pipeline_images_per_s']:.0f} images/s; Bi-Real-18 training "
            f"steps consume {median['train_images_per_s']:.1f} images/s from memory and "
            f"{median['train_from_pipeline_images_per_s']:.1f} images/s from the pipeline: "
            f"the pipeline delivers {speed['pipeline_over_training']:.1f}x what training "
            f"consumes.",
            "",
        ]
    workers = _read(results, "workers").get("workers")
    if workers:
        lines += [
            f"**Workers** (`... workers`, `results/data_workers.json`): {workers['workers']} "
            f"localhost workers (`TF_CONFIG`) trained Bi-Real-18 for 20 steps on the generated "
            f"TFRecords in {workers['seconds']:.0f} s; they read "
            f"{' and '.join(str(n) for n in workers['files_per_worker'])} shard files, "
            f"{'disjoint' if workers['disjoint'] else 'OVERLAPPING'}, together "
            f"{'all' if workers['union_is_all'] else 'NOT all'} of them, and ended with test "
            f"accuracies {workers['test_accuracy']}.",
            "",
        ]
    resumed = _read(results, "resume").get("resume")
    if resumed:
        lines += [
            f"**Kill and resume** (`... resume`, `results/data_resume.json`): a streaming run "
            f"killed with SIGKILL after epoch {resumed['killed_after_epoch']} of "
            f"{resumed['epochs']} and resumed ends with weights "
            f"{'identical to' if resumed['weights_identical'] else 'DIFFERENT from'} an "
            f"uninterrupted run (largest difference {resumed['max_abs_weight_difference']}) "
            f"and {'the same' if resumed['history_identical'] else 'a DIFFERENT'} per-epoch "
            f"history; the command: `{resumed['command']}`.",
            "",
        ]
    path = _read(results, "path224").get("path224")
    if path:
        lines += [
            f"**The 224 path** (`... path224`, `results/data_path224.json`): "
            f"`{path['train_command']}` ({path['steps']['train']['seconds']:.0f} s), then "
            f"`bnnkit convert` and `bnnkit predict` on the 20 shared ImageNet JPEGs. The LCE "
            f"model agrees with the Keras model on {path['top1_agreement']:.2%} of "
            f"{path['agreement_images']:,} generated validation images (top-1; largest output "
            f"difference {path['max_abs_diff']:.2g}).",
            "",
        ]
    return "\n".join(lines + [MEASURED_END])


def write_measured(doc: Path) -> None:
    """Replace the measured section of ``doc`` with :func:`measured_markdown`."""
    text = doc.read_text()
    start, end = text.index(MEASURED_BEGIN), text.index(MEASURED_END) + len(MEASURED_END)
    doc.write_text(text[:start] + measured_markdown() + text[end:])


if __name__ == "__main__":
    raise SystemExit(main())
