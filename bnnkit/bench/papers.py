"""Published numbers, each with its citation, to print beside ours.

These are the papers' own figures as stated in their results tables (ImageNet ILSVRC-2012
validation top-1/top-5 unless the row says otherwise). They are NOT comparable to our
MNIST/Fashion-MNIST LeNet numbers: different data, architecture and budget. They are listed
to show what each method is known to achieve on ImageNet (float ~ BWN > Bi-Real > XNOR >
plain BNN). HORQ is not in that ranking: its paper reports MNIST and CIFAR-10 only.

Each entry says how sure we are: ``verified`` when checked against the paper or the
official release, ``unverified`` when carried over without a copy of the paper at hand
(to be checked before it is relied on). Larq Zoo figures are pinned to one revision of the
Larq Zoo sources, whose model docstrings are what the documentation site renders.
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BIREAL_PAPER",
    "BNN_PAPER",
    "BWNH_PAPER",
    "HORQ_PAPER",
    "LARQ_ZOO_REVISION",
    "PUBLISHED",
    "PUBLISHED_SIZES",
    "PUBLISHED_SPEEDUPS",
    "SBD_PAPER",
    "XNOR_PAPER",
    "larq_zoo",
]


XNOR_PAPER = (
    "Rastegari, Ordonez, Redmon, Farhadi. XNOR-Net: ImageNet Classification Using "
    "Binary Convolutional Neural Networks. ECCV 2016, arXiv:1603.05279"
)
BNN_PAPER = (
    "Courbariaux, Hubara, Soudry, El-Yaniv, Bengio. Binarized Neural Networks. "
    "arXiv:1602.02830, 2016 (NeurIPS 2016)"
)
HORQ_PAPER = (
    "Li, Ni, Zhang, Yang, Gao. Performance Guaranteed Network Acceleration via "
    "High-Order Residual Quantization. ICCV 2017, arXiv:1708.08687"
)
BIREAL_PAPER = (
    "Liu, Wu, Luo, Yang, Liu, Cheng. Bi-Real Net: Enhancing the Performance of "
    "1-bit CNNs. ECCV 2018, arXiv:1808.00278"
)
BWNH_PAPER = (
    "Hu, Wang, Cheng. From Hashing to CNNs: Training Binary Weight Networks via "
    "Hashing. AAAI 2018, arXiv:1802.02733"
)
SBD_PAPER = (
    "Hu, Li, Wang, Cheng. Training Binary Weight Networks via Semi-Binary Decomposition. ECCV 2018"
)
#: The Larq Zoo revision every zoo figure is read from (git describe: v2.3.3-15-g77c5853).
LARQ_ZOO_REVISION = "77c5853f095d0df4ec338e1e419125b561d1c1af"


def larq_zoo(path: str) -> str:
    """The citation of a Larq Zoo model's "ImageNet Metrics" table at the pinned revision."""
    return (
        f"Larq Zoo, github.com/larq/zoo @ {LARQ_ZOO_REVISION[:7]} ({path}, "
        "'ImageNet Metrics'; rendered on docs.larq.dev/zoo)"
    )


# method -> list of published results
PUBLISHED: dict[str, list[dict[str, Any]]] = {
    "float": [
        {
            "model": "AlexNet (full precision)",
            "dataset": "ImageNet",
            "top1": 56.6,
            "top5": 80.2,
            "source": XNOR_PAPER + ", Table 1",
        },
        {
            "model": "ResNet-18 (full precision)",
            "dataset": "ImageNet",
            "top1": 69.3,
            "top5": 89.2,
            "source": XNOR_PAPER + ", Table 2",
        },
    ],
    "bnn": [
        {
            "model": "MLP/ConvNet",
            "dataset": "MNIST",
            "top1": 99.04,
            "top5": None,
            "source": BNN_PAPER + ", Table 1 (0.96% test error, Theano)",
        },
        {
            "model": "ConvNet",
            "dataset": "CIFAR-10",
            "top1": 88.6,
            "top5": None,
            "source": BNN_PAPER + ", Table 1 (11.40% test error, Theano)",
        },
        {
            "model": "AlexNet (BinaryNet)",
            "dataset": "ImageNet",
            "top1": 27.9,
            "top5": 50.42,
            "source": XNOR_PAPER + ", Table 1 (their BNN baseline)",
        },
    ],
    "bwn": [
        {
            "model": "AlexNet",
            "dataset": "ImageNet",
            "top1": 56.8,
            "top5": 79.4,
            "source": XNOR_PAPER + ", Table 1",
        },
        {
            "model": "ResNet-18",
            "dataset": "ImageNet",
            "top1": 60.8,
            "top5": 83.0,
            "source": XNOR_PAPER + ", Table 2",
        },
    ],
    "xnor": [
        {
            "model": "AlexNet",
            "dataset": "ImageNet",
            "top1": 44.2,
            "top5": 69.2,
            "source": XNOR_PAPER + ", Table 1",
        },
        {
            "model": "ResNet-18",
            "dataset": "ImageNet",
            "top1": 51.2,
            "top5": 73.2,
            "source": XNOR_PAPER + ", Table 2",
        },
        {
            "model": "XNOR-Net AlexNet (Larq Zoo replication)",
            "dataset": "ImageNet",
            "top1": 44.96,
            "top5": 69.18,
            "size_mb": 22.81,
            "source": larq_zoo("larq_zoo/literature/xnornet.py"),
            "status": "verified",
        },
    ],
    "horq": [
        {
            "model": "MNIST and CIFAR-10 networks",
            "dataset": "MNIST, CIFAR-10",
            "top1": None,
            "top5": None,
            "source": HORQ_PAPER + ": the paper reports MNIST and CIFAR-10 only "
            "(no ImageNet); see its tables",
            "status": "verified",
        },
    ],
    "bireal": [
        {
            "model": "Bi-Real-18",
            "dataset": "ImageNet",
            "top1": 56.4,
            "top5": 79.5,
            "source": BIREAL_PAPER + " (comparison with the state of the art)",
        },
        {
            "model": "Bi-Real-34",
            "dataset": "ImageNet",
            "top1": 62.2,
            "top5": 83.9,
            "source": BIREAL_PAPER + " (comparison with the state of the art)",
        },
        {
            "model": "Bi-Real Net 18 (Larq Zoo replication)",
            "dataset": "ImageNet",
            "top1": 57.47,
            "top5": 79.84,
            "size_mb": 4.03,
            "source": larq_zoo("larq_zoo/literature/birealnet.py"),
            "status": "verified",
        },
    ],
    "bwnh": [
        {
            "model": "AlexNet",
            "dataset": "ImageNet",
            "top1": 58.5,
            "top5": 80.9,
            "source": BWNH_PAPER + " (ImageNet results table)",
            "status": "unverified",
        },
        {
            "model": "ResNet-18",
            "dataset": "ImageNet",
            "top1": 64.3,
            "top5": 85.9,
            "source": BWNH_PAPER + " (ImageNet results table)",
            "status": "unverified",
        },
    ],
    "sbd": [
        {
            "model": "AlexNet / ResNet-18",
            "dataset": "ImageNet",
            "top1": None,
            "top5": None,
            "source": SBD_PAPER + ": reports ImageNet AlexNet/ResNet-18 above BWNH at equal bit "
            "budgets; see the paper's tables for the exact figures (not "
            "reproduced here from memory)",
            "status": "unverified",
        },
    ],
}

# Published sizes of comparable ImageNet models (ImageNet scale section).
PUBLISHED_SIZES = {
    "xnor-alexnet": {
        "model": "Larq Zoo XNORNet (AlexNet)",
        "parameters": 62_396_768,
        "size_mb": 22.81,
        "top1": 44.96,
        "source": larq_zoo("larq_zoo/literature/xnornet.py"),
    },
    "binary-alexnet": {
        "model": "Larq Zoo BinaryAlexNet",
        "parameters": 61_859_192,
        "size_mb": 7.49,
        "top1": 36.30,
        "source": larq_zoo("larq_zoo/literature/binary_alex_net.py"),
    },
    "bireal18": {
        "model": "Larq Zoo BiRealNet (18)",
        "parameters": 11_699_112,
        "size_mb": 4.03,
        "top1": 57.47,
        "source": larq_zoo("larq_zoo/literature/birealnet.py"),
    },
    "resnet18-binary": {
        "model": "Larq Zoo BinaryResNetE18",
        "parameters": 11_699_368,
        "size_mb": 4.03,
        "top1": 58.32,
        "source": larq_zoo("larq_zoo/literature/resnet_e.py"),
    },
}

# The papers' own speed-up claims.
PUBLISHED_SPEEDUPS = [
    {
        "method": "xnor",
        "claim": "62.27x theoretical for c=256, N_W=3x3; 58x measured on CPU for convolutions",
        "source": XNOR_PAPER + ", Sec. 4.2 / Fig. 4",
    },
    {
        "method": "bwn",
        "claim": "~2x (multiplications replaced by additions/subtractions)",
        "source": XNOR_PAPER + ", Sec. 3.1",
    },
    {
        "method": "horq",
        "claim": "order K runs K binary convolutions; with K + 1 non-binary "
        "operations per output position the bound is 64 c N_W / (K c N_W + 64 (K + 1)), a bit "
        "below XNOR-Net's divided by K (our reading of the paper's complexity analysis)",
        "source": HORQ_PAPER,
    },
]
