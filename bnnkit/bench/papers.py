"""Published numbers, each with its citation, to print beside ours.

These are the papers' own figures as stated in their results tables (ImageNet ILSVRC-2012
validation top-1/top-5 unless the row says otherwise). They are NOT comparable to our
MNIST/Fashion-MNIST LeNet numbers: different data, architecture and budget. They are listed
to show what each method is known to achieve, and which ranking to expect (float > BWN-family
> HORQ-2 > XNOR > plain BNN on hard data). Table numbers are given where we are sure of them;
"see paper" otherwise. Larq Zoo figures are from the Larq Zoo documentation page
(docs.larq.dev/zoo, "Available models": top-1, model size after weight quantization).
"""

from __future__ import annotations

from typing import Any

__all__ = [
    "BIREAL_PAPER",
    "BNN_PAPER",
    "BWNH_PAPER",
    "HORQ_PAPER",
    "LARQ_ZOO",
    "PUBLISHED",
    "PUBLISHED_SIZES",
    "PUBLISHED_SPEEDUPS",
    "SBD_PAPER",
    "XNOR_PAPER",
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
LARQ_ZOO = "Larq Zoo documentation, 'Available models' table (docs.larq.dev/zoo), 2020"

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
            "size_mb": 22.77,
            "source": LARQ_ZOO,
        },
    ],
    "horq": [
        {
            "model": "ResNet-18, order-2 inputs, binary weights",
            "dataset": "ImageNet",
            "top1": 55.9,
            "top5": 78.9,
            "source": HORQ_PAPER + " (ImageNet results table)",
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
            "size_mb": 4.00,
            "source": LARQ_ZOO,
        },
    ],
    "bwnh": [
        {
            "model": "AlexNet",
            "dataset": "ImageNet",
            "top1": 58.5,
            "top5": 80.9,
            "source": BWNH_PAPER + " (ImageNet results table)",
        },
        {
            "model": "ResNet-18",
            "dataset": "ImageNet",
            "top1": 64.3,
            "top5": 85.9,
            "source": BWNH_PAPER + " (ImageNet results table)",
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
        },
    ],
}

# Published sizes of comparable ImageNet models (ImageNet scale section).
PUBLISHED_SIZES = {
    "xnor-alexnet": {
        "model": "Larq Zoo XNORNet (AlexNet)",
        "parameters": 62_387_104,
        "size_mb": 22.77,
        "top1": 44.96,
        "source": LARQ_ZOO,
    },
    "binary-alexnet": {
        "model": "Larq Zoo BinaryAlexNet",
        "parameters": 61_848_720,
        "size_mb": 7.45,
        "top1": 36.30,
        "source": LARQ_ZOO,
    },
    "bireal18": {
        "model": "Larq Zoo BiRealNet (18)",
        "parameters": 10_985_472,
        "size_mb": 4.00,
        "top1": 57.47,
        "source": LARQ_ZOO,
    },
    "resnet18-binary": {
        "model": "Larq Zoo BinaryResNetE18",
        "parameters": 11_689_640,
        "size_mb": 4.00,
        "top1": 58.32,
        "source": LARQ_ZOO,
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
        "claim": "order k runs k binary convolutions and k scalings, so the "
        "bound is XNOR-Net's divided by k (our reading of the paper's complexity analysis)",
        "source": HORQ_PAPER,
    },
]
