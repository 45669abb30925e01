"""Put a bundle into the Android app's assets, after the checks the app itself makes.

    from converters.android import export_android
    export_android("runs/mnist/bundle-litert", "android_demo")              # both flavors
    export_android("runs/mnist/bundle-lce", "android_demo", flavor="lce")   # the lce flavor

Where it goes (the app reads ``assets/bundle/`` and Gradle lets a flavor's assets win over
``main``'s):

| ``flavor`` | destination | accepted bundles |
|---|---|---|
| None | ``app/src/main/assets/bundle/`` | ``runtime: tflite``, no custom ops (both flavors) |
| ``litert`` | ``app/src/litert/assets/bundle/`` | same |
| ``lce`` | ``app/src/lce/assets/bundle/`` | ``runtime: tflite`` or ``lce``; ``Lce*`` ops allowed |

The flavors are those of the targets (:data:`converters.targets.TARGETS`). Before copying,
the bundle is read by :func:`converters.bundle.read_bundle`, then checked as the Java core's
``BundleCheck`` does, so a bundle the app would refuse is refused now: the runtime and the
model's custom op names (read from the flatbuffer) must fit the flavor, the model's input
must be ``[1, H, W, C]`` float32 as ``metadata.json`` says, and its output must have
``output.num_classes`` scores, one per line of ``labels.txt``.
"""

from __future__ import annotations

import os
from pathlib import Path

from bnnkit.errors import InvalidInputError, InvalidModelFileError, UnsupportedModelError
from bnnkit.imaging import check_input_spec
from converters.bundle import RUNTIMES, copy_bundle, read_bundle
from converters.flatbuffer import FlatbufferInfo
from converters.guard import check_structure
from converters.targets import TARGETS

__all__ = ["FLAVORS", "check_bundle_for_flavor", "export_android"]

#: The app's flavors: the ones the targets' models run on.
FLAVORS = tuple(sorted({target.android_flavor for target in TARGETS}))
#: The Java core recognizes Larq Compute Engine ops by this prefix.
LCE_PREFIX = "Lce"


def _model_info(model: bytes) -> FlatbufferInfo:
    try:
        return check_structure(model, "model.tflite")
    except InvalidModelFileError as error:
        raise InvalidModelFileError(f"model.tflite is corrupt or truncated ({error})") from None


def _check_ops_fit_flavor(info: FlatbufferInfo, runtime: str, flavor: str | None) -> None:
    lce_ops = sorted(op for op in info.custom_ops if op.startswith(LCE_PREFIX))
    unknown = sorted(op for op in info.custom_ops if not op.startswith(LCE_PREFIX))
    if unknown:
        raise UnsupportedModelError(
            f"the model uses custom ops {unknown} that the app cannot run; convert it for the "
            "'litert' or 'lce' target"
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


def _check_model_matches(info: FlatbufferInfo, metadata: dict, labels: list[str]) -> None:
    height, width, channels = check_input_spec(metadata.get("input"))
    if len(info.inputs) != 1 or len(info.outputs) != 1:
        raise UnsupportedModelError(
            f"the model has {len(info.inputs)} inputs and {len(info.outputs)} outputs; the app "
            "runs image classifiers with one of each"
        )
    expected = [1, height, width, channels]
    model_input, model_output = info.input_tensors[0], info.output_tensors[0]
    is_float = model_input.type == "FLOAT32"
    if list(model_input.shape) != expected or not is_float:
        raise InvalidModelFileError(
            f"the model does not match its metadata: its input is {list(model_input.shape)} "
            f"(float32: {is_float}) but metadata.json says float32 {expected}"
        )
    num_classes = (metadata.get("output") or {}).get("num_classes")
    shape = list(model_output.shape)
    size = 1
    for d in shape:
        size *= d
    if not shape or shape[0] != 1 or size != num_classes:
        raise InvalidModelFileError(
            f"the model does not match its metadata: its output is {shape} but metadata.json "
            f"says {num_classes} classes"
        )
    if len(labels) != num_classes:
        raise InvalidModelFileError(
            f"labels.txt has {len(labels)} lines but metadata.json says {num_classes} classes"
        )


def check_bundle_for_flavor(
    metadata: dict, model: bytes, labels: list[str], flavor: str | None
) -> None:
    """Raise if the app's ``flavor`` (None: both) would refuse this bundle; same rules as the
    Java core's ``BundleCheck``."""
    check_input_spec(metadata.get("input"))
    runtime = metadata.get("runtime")
    if runtime not in RUNTIMES:
        raise InvalidModelFileError(
            f"metadata runtime {runtime!r} is not one of {sorted(RUNTIMES)}"
        )
    info = _model_info(model)
    _check_ops_fit_flavor(info, str(runtime), flavor)
    _check_model_matches(info, metadata, labels)


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
        flavor: one of :data:`FLAVORS`, or None (``main`` assets, used by both flavors).
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
            f"{app}: not the Android project (no app/src/main/AndroidManifest.xml); pass "
            "--app android_demo"
        )
    checked = read_bundle(bundle)
    check_bundle_for_flavor(
        checked.metadata, checked.model_path.read_bytes(), checked.classes, flavor
    )
    dest = app / "app" / "src" / (flavor or "main") / "assets" / "bundle"
    return copy_bundle(checked, dest, overwrite=overwrite)
