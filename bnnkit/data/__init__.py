"""Datasets as ``tf.data`` pipelines: MNIST, Fashion-MNIST, CIFAR-10 and image folders.

    from bnnkit.data import load_dataset
    mnist = load_dataset("mnist", data_dir="data/")
    train = mnist.pipeline("train", batch_size=128, shuffle_seed=0)

See :func:`load_dataset` for where the files are searched.
"""

from bnnkit.data.dataset import Dataset
from bnnkit.data.loaders import DATASETS, load_bundled_mnist_subset, load_dataset

__all__ = ["DATASETS", "Dataset", "load_bundled_mnist_subset", "load_dataset"]
