"""The errors bnnkit raises on purpose.

Each carries a message a user can act on. The CLI prints it as one line and exits with
the class's ``exit_code``; Python callers can catch :class:`BnnkitError` or a subclass.
"""

from __future__ import annotations

__all__ = [
    "BnnkitError",
    "BuildRequirementMissingError",
    "DatasetNotFoundError",
    "EnvironmentMisconfiguredError",
    "InvalidDatasetError",
    "InvalidInputError",
    "InvalidModelFileError",
    "NativeBuildError",
    "OutputExistsError",
    "UnsupportedModelError",
]


class BnnkitError(Exception):
    """Base class of every error bnnkit raises on purpose."""

    exit_code = 1


class EnvironmentMisconfiguredError(BnnkitError, RuntimeError):
    """The Python environment cannot run Larq/LCE (e.g. TensorFlow imported with Keras 3)."""

    exit_code = 3


class DatasetNotFoundError(BnnkitError, FileNotFoundError):
    """A dataset is unknown, or its files were found in none of the places searched."""

    exit_code = 4


class InvalidDatasetError(BnnkitError, ValueError):
    """Dataset files exist but are malformed, empty or inconsistent."""

    exit_code = 4


class InvalidModelFileError(BnnkitError, ValueError):
    """A file given as a model is not one: corrupt, truncated, empty or another format."""

    exit_code = 5


class UnsupportedModelError(BnnkitError, ValueError):
    """A model (or one of its layers) is not supported by the requested operation/target."""

    exit_code = 6


class InvalidInputError(BnnkitError, ValueError):
    """Input data has the wrong shape, type or values (NaN/Inf) for the model."""

    exit_code = 7


class OutputExistsError(BnnkitError, FileExistsError):
    """Refusing to overwrite an existing output without ``--overwrite``."""

    exit_code = 8


class BuildRequirementMissingError(BnnkitError, FileNotFoundError):
    """A compiler, build tool or source folder needed to build native code is missing."""

    exit_code = 9


class NativeBuildError(BnnkitError, RuntimeError):
    """Building native code (the LCE-kernel delegate) failed."""

    exit_code = 10


class DisagreementError(BnnkitError):
    """A converted model does not compute what the original model computes (within bounds)."""

    exit_code = 11


class InvalidConfigError(BnnkitError, ValueError):
    """A run is configured wrongly: unknown method, architecture, strategy or option, or
    option values that contradict each other. Nothing was trained or written."""

    exit_code = 12
