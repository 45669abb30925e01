"""Benchmarks and the reproduction report (deployment side: may import bnnkit and converters).

    python -m bnnkit.cli.main bench   -> results/bench.json + bench.md
    python -m bnnkit.cli.main report  -> results/REPORT.md, results/*.png, results/report.json

Modules:

* :mod:`bnnkit.bench.machine`: the label every figure carries ("x86 host: <cpu>, N cores").
* :mod:`bnnkit.bench.layers`: per-layer MACs of a Keras model and the papers' speed-up
  predictions (XNOR-Net, HORQ order k, BWN, SBD) for each layer.
* :mod:`bnnkit.bench.latency`: interleaved, repeated latency measurement of ``.tflite`` files.
* :mod:`bnnkit.bench.bench`: ``bnnkit bench`` (latency, kernel options, threads, training
  throughput, conversion time, peak memory).
* :mod:`bnnkit.bench.report`: ``bnnkit report`` (train, convert, evaluate every method; resumes).
* :mod:`bnnkit.bench.imagenet`: ImageNet-scale build-and-convert figures (no training).
* :mod:`bnnkit.bench.kernels`: ``bnnkit bench --kernels``: the delegate's x86 binary kernels
  against this CPU's measured popcount roofline, per layer (Bi-Real-18) and whole models.
* :mod:`bnnkit.bench.papers`: published numbers with their citations.
"""

__all__: list[str] = []
