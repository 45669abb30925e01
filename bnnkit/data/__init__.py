"""Datasets as ``tf.data`` pipelines: MNIST, Fashion-MNIST and CIFAR-10 held in memory; image
folders, TFRecord shards and ImageNet streamed from files.

    from bnnkit.data import load_dataset
    mnist = load_dataset("mnist", data_dir="../shared/datasets")
    train = mnist.train_batches(128, seed=0, epochs=range(3), steps_per_epoch=100)
    photos = load_dataset("folder:~/photos")        # train/ + val/, or one folder per class
    x, y = photos.arrays("test", 100)               # evaluation transform, normalized
"""

from bnnkit.data.base import InputOptions, Shard, TrainingData
from bnnkit.data.dataset import Dataset
from bnnkit.data.loaders import DATASETS, load_arrays, load_bundled_mnist_subset, load_dataset

__all__ = [
    "DATASETS",
    "Dataset",
    "InputOptions",
    "Shard",
    "TrainingData",
    "load_arrays",
    "load_bundled_mnist_subset",
    "load_dataset",
]
