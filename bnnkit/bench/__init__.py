"""Benchmarks and the reproduction report (deployment side: may import bnnkit and converters).

    python -m bnnkit.cli.main bench   -> benchmarks/results/bench.json + bench.md
    python -m bnnkit.cli.main report  -> results/REPORT.md, results/*.png, results/report.json

Modules:

* :mod:`benchmarks.machine`: the label every figure carries ("x86 host: <cpu>, N cores").
* :mod:`benchmarks.layers`: per-layer MACs of a Keras model and the papers' speed-up
  predictions (XNOR-Net, HORQ order k, BWN, SBD) for each layer.
* :mod:`benchmarks.latency`: interleaved, repeated latency measurement of ``.tflite`` files.
* :mod:`benchmarks.bench`: ``bnnkit bench`` (latency, kernel options, threads, training
  throughput, conversion time, peak memory).
* :mod:`benchmarks.report`: ``bnnkit report`` (train, convert, evaluate every method; resumes).
* :mod:`benchmarks.imagenet`: ImageNet-scale build-and-convert figures (no training).
* :mod:`benchmarks.papers`: published numbers with their citations.
"""
