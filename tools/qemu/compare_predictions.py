"""Compare two ``--json`` documents of ``bnnkit predict`` / ``pi/run_litert.py``.

    python tools/qemu/compare_predictions.py X86.json AARCH64.json [--atol 1e-5]

Same images in the same order; for every image the same ranked classes (order may differ only
between classes whose probabilities are within ``atol`` of each other) and every probability
within ``atol``. Prints one summary line; exit status 1 on any mismatch. Needs only the standard
library, so it runs anywhere.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path


def compare(reference: dict, other: dict, atol: float) -> dict:
    """``{"images", "max_abs_diff", "same_top1", "same_ranking", "problems": [...]}``."""
    problems = []
    a, b = reference["predictions"], other["predictions"]
    names_a = [Path(p["image"]).name for p in a]
    names_b = [Path(p["image"]).name for p in b]
    if names_a != names_b:
        return {"images": len(a), "max_abs_diff": None, "same_top1": 0, "same_ranking": 0,
                "problems": [f"different images: {names_a} vs {names_b}"]}
    max_diff, same_top1, same_ranking = 0.0, 0, 0
    for name, pa, pb in zip(names_a, a, b):
        probs_a = {c["index"]: c["probability"] for c in pa["top_k"]}
        probs_b = {c["index"]: c["probability"] for c in pb["top_k"]}
        rank_a = [c["index"] for c in pa["top_k"]]
        rank_b = [c["index"] for c in pb["top_k"]]
        same_top1 += rank_a[:1] == rank_b[:1]
        same_ranking += rank_a == rank_b
        for position, (i, j) in enumerate(zip(rank_a, rank_b)):
            if i != j and abs(probs_a[i] - probs_a.get(j, -1.0)) > atol:
                problems.append(f"{name}: rank {position + 1} is class {i} vs {j}")
                break
        for index in set(probs_a) & set(probs_b):
            diff = abs(probs_a[index] - probs_b[index])
            max_diff = max(max_diff, diff)
            if diff > atol:
                problems.append(f"{name}: class {index} probability {probs_a[index]:.8f} vs "
                                f"{probs_b[index]:.8f}")
    return {"images": len(a), "max_abs_diff": max_diff, "same_top1": same_top1,
            "same_ranking": same_ranking, "problems": problems}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("reference", type=Path)
    parser.add_argument("other", type=Path)
    parser.add_argument("--atol", type=float, default=1e-5)
    args = parser.parse_args(argv)
    result = compare(json.loads(args.reference.read_text()), json.loads(args.other.read_text()),
                     args.atol)
    for problem in result["problems"]:
        print(f"MISMATCH {problem}")
    print(f"{args.other.name}: {result['images']} images, top-1 equal "
          f"{result['same_top1']}/{result['images']}, ranking equal "
          f"{result['same_ranking']}/{result['images']}, max |p_x86 - p_arm| = "
          f"{result['max_abs_diff']:.3g} (atol {args.atol:g})")
    return 1 if result["problems"] else 0


if __name__ == "__main__":
    sys.exit(main())
