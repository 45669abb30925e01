"""``bnnkit export-android BUNDLE``: put a model bundle into the Android app's assets.

    bnnkit export-android runs/mnist/bundle-litert            # both flavors (stock TFLite)
    bnnkit export-android runs/mnist/bundle-lce --flavor lce  # the lce flavor only
    bnnkit export-android BUNDLE --flavor litert --overwrite  # replace what is there

Where it goes (the app reads ``assets/bundle/`` and Gradle lets a flavor's assets win over
``main``'s):

| ``--flavor`` | destination | accepted bundles |
|---|---|---|
| (none) | ``app/src/main/assets/bundle/`` | ``runtime: tflite``, no custom ops (both flavors) |
| ``litert`` | ``app/src/litert/assets/bundle/`` | same |
| ``lce`` | ``app/src/lce/assets/bundle/`` | ``runtime: tflite`` or ``lce``; ``Lce*`` ops allowed |

Before copying, the same checks the app makes are made here, so a bundle the app would
refuse is refused now: the runtime and the model's custom op names (read from the
flatbuffer) must fit the flavor, the model's input must be ``[1, H, W, C]`` float32 as
``metadata.json`` says, and its output must have ``output.num_classes`` scores, one per line
of ``labels.txt``.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from bnnkit.errors import (
    InvalidInputError,
    InvalidModelFileError,
    OutputExistsError,
    UnsupportedModelError,
)
from converters.bundle import read_bundle
from converters.targets import TARGETS

#: The app's flavors: the ones the targets' models run on.
FLAVORS = tuple(sorted({target.android_flavor for target in TARGETS}))
LCE_PREFIX = "Lce"


def _read_bundle_files(folder: Path) -> tuple[dict, bytes, list[str]]:
    """metadata, model bytes and labels of a bundle folder (docs/bundle-format.md)."""
    if not folder.is_dir():
        raise InvalidInputError(
            f"{folder}: not a bundle folder (expected model.tflite, "
            "labels.txt and metadata.json in it)"
        )
    meta_path = folder / "metadata.json"
    try:
        metadata = json.loads(meta_path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InvalidModelFileError(
            f"{folder}: no metadata.json; is this a bundle from bnnkit convert?"
        ) from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise InvalidModelFileError(f"{meta_path}: not valid JSON ({error})") from None
    if not isinstance(metadata, dict) or metadata.get("format_version") != 1:
        raise InvalidModelFileError(f"{meta_path}: format_version 1 expected")
    model_path = folder / str(metadata.get("model_file", "model.tflite"))
    labels_path = folder / str(metadata.get("labels_file", "labels.txt"))
    for path in (model_path, labels_path):
        if not path.is_file():
            raise InvalidModelFileError(f"{folder}: {path.name} named in metadata.json is missing")
    labels = labels_path.read_text(encoding="utf-8").replace("\r", "").split("\n")
    while labels and labels[-1] == "":
        labels.pop()
    return metadata, model_path.read_bytes(), labels


def _model_info(data: bytes) -> dict:
    """Custom op names and the first input/output tensors, read with the ``tflite`` package."""
    import tflite

    if len(data) < 8 or data[4:8] != b"TFL3":
        raise InvalidModelFileError(
            "model.tflite is not a TFLite flatbuffer (no 'TFL3' identifier)"
        )
    try:
        model = tflite.Model.GetRootAsModel(data, 0)
        custom = []
        for i in range(model.OperatorCodesLength()):
            code = model.OperatorCodes(i)
            if (
                max(code.BuiltinCode(), code.DeprecatedBuiltinCode())
                == tflite.BuiltinOperator.CUSTOM
            ):
                custom.append((code.CustomCode() or b"").decode("utf-8", "replace"))
        graph = model.Subgraphs(0)
        inp, out = graph.Tensors(graph.Inputs(0)), graph.Tensors(graph.Outputs(0))
        return {
            "custom_ops": custom,
            "num_inputs": graph.InputsLength(),
            "num_outputs": graph.OutputsLength(),
            "input_shape": [int(d) for d in inp.ShapeAsNumpy()],
            "input_float": inp.Type() == tflite.TensorType.FLOAT32,
            "output_shape": [int(d) for d in out.ShapeAsNumpy()],
        }
    except Exception as error:  # a corrupt flatbuffer raises anything from struct/IndexError
        raise InvalidModelFileError(f"model.tflite is corrupt or truncated ({error})") from None


def check_bundle_for_flavor(
    metadata: dict, model: bytes, labels: list[str], flavor: str | None
) -> None:
    """Raise if the app's ``flavor`` (None: both) would refuse this bundle; same rules as the
    Java core's ``BundleCheck``."""
    from bnnkit.imaging import check_input_spec

    height, width, channels = check_input_spec(metadata.get("input"))
    runtime = metadata.get("runtime")
    if runtime not in ("tflite", "lce"):
        raise InvalidModelFileError(f"metadata runtime {runtime!r} is not one of ['lce', 'tflite']")
    info = _model_info(model)
    lce_ops = sorted({op for op in info["custom_ops"] if op.startswith(LCE_PREFIX)})
    unknown = sorted({op for op in info["custom_ops"] if not op.startswith(LCE_PREFIX)})
    if unknown:
        raise UnsupportedModelError(
            f"the model uses custom ops {unknown} that the app cannot "
            "run; convert it for the 'litert' or 'lce' target"
        )
    if flavor != "lce" and (lce_ops or runtime == "lce"):
        needs = f"ops {lce_ops}" if lce_ops else "metadata runtime 'lce'"
        where = (
            "the 'litert' flavor"
            if flavor == "litert"
            else "app/src/main/assets (used by both flavors)"
        )
        raise UnsupportedModelError(
            f"this bundle needs Larq Compute Engine ({needs}) and cannot go into {where}; "
            "use --flavor lce, or convert the model with target 'litert'"
        )
    if info["num_inputs"] != 1 or info["num_outputs"] != 1:
        raise UnsupportedModelError(
            f"the model has {info['num_inputs']} inputs and "
            f"{info['num_outputs']} outputs; the app runs image "
            "classifiers with one of each"
        )
    expected = [1, height, width, channels]
    if info["input_shape"] != expected or not info["input_float"]:
        raise InvalidModelFileError(
            f"the model does not match its metadata: its input is "
            f"{info['input_shape']} (float32: {info['input_float']}) but "
            f"metadata.json says float32 {expected}"
        )
    num_classes = (metadata.get("output") or {}).get("num_classes")
    size = 1
    for d in info["output_shape"]:
        size *= d
    if not info["output_shape"] or info["output_shape"][0] != 1 or size != num_classes:
        raise InvalidModelFileError(
            f"the model does not match its metadata: its output is "
            f"{info['output_shape']} but metadata.json says "
            f"{num_classes} classes"
        )
    if len(labels) != num_classes:
        raise InvalidModelFileError(
            f"labels.txt has {len(labels)} lines but metadata.json says {num_classes} classes"
        )


def export_android(
    bundle: str | os.PathLike,
    app: str | os.PathLike = "android_demo",
    *,
    flavor: str | None = None,
    overwrite: bool = False,
) -> Path:
    """Copy ``bundle`` into the app's assets for ``flavor`` and return the destination.

    # Arguments
    bundle: a bundle folder (model.tflite + labels.txt + metadata.json).
    app: the Android project folder (holds ``app/src/main/AndroidManifest.xml``).
    flavor: ``"litert"``, ``"lce"`` or None (``main`` assets, used by both flavors).
    overwrite: replace a bundle already at the destination.

    # Raises
    UnsupportedModelError: the bundle needs a runtime the flavor does not have.
    InvalidModelFileError: the bundle is malformed or its model does not match its metadata.
    OutputExistsError: a bundle is already there and ``overwrite`` is False.
    """
    if flavor is not None and flavor not in FLAVORS:
        raise InvalidInputError(f"--flavor {flavor!r} is not one of {list(FLAVORS)}")
    app = Path(app)
    if not (app / "app" / "src" / "main" / "AndroidManifest.xml").is_file():
        raise InvalidInputError(
            f"{app}: not the Android project (no app/src/main/"
            "AndroidManifest.xml); pass --app android_demo"
        )
    bundle = Path(bundle)
    read_bundle(bundle)  # the converters' own validation first
    metadata, model, labels = _read_bundle_files(bundle)
    check_bundle_for_flavor(metadata, model, labels, flavor)

    dest = app / "app" / "src" / (flavor or "main") / "assets" / "bundle"
    if dest.exists() and not overwrite:
        raise OutputExistsError(f"{dest} already holds a bundle; add --overwrite to replace it")
    dest.parent.mkdir(parents=True, exist_ok=True)
    metadata = dict(metadata, model_file="model.tflite", labels_file="labels.txt")
    staging = Path(tempfile.mkdtemp(prefix=".bundle-", dir=dest.parent))
    try:
        (staging / "model.tflite").write_bytes(model)
        (staging / "labels.txt").write_text(
            "".join(f"{name}\n" for name in labels), encoding="utf-8"
        )
        (staging / "metadata.json").write_text(
            json.dumps(metadata, indent=2) + "\n", encoding="utf-8"
        )
        if dest.exists():
            shutil.rmtree(dest)
        staging.rename(dest)
    finally:
        if staging.exists():
            shutil.rmtree(staging, ignore_errors=True)
    return dest


def register(subparsers) -> None:
    parser = subparsers.add_parser(
        "export-android",
        help="put a model bundle into the Android app's assets",
        description="Copy a bundle (model.tflite + labels.txt + metadata.json) into the "
        "Android app's assets, after checking that the chosen flavor can run it.",
    )
    parser.add_argument("bundle", metavar="BUNDLE", help="a bundle folder")
    parser.add_argument(
        "--app", default="android_demo", help="the Android project folder (default: android_demo)"
    )
    parser.add_argument(
        "--flavor",
        choices=FLAVORS,
        default=None,
        help="only this flavor's assets (default: main assets, both flavors; "
        "LCE bundles need --flavor lce)",
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace a bundle already in the assets"
    )
    parser.set_defaults(func=run)


def run(args) -> int:
    dest = export_android(args.bundle, args.app, flavor=args.flavor, overwrite=args.overwrite)
    variant = args.flavor or "litert or lce"
    print(f"exported {args.bundle} -> {dest}; build the {variant} variant of the app")
    return 0
