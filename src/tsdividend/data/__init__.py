"""Data layer: one in-memory ``Dataset`` form, readers per archive, names, and fetching.

Example::

    from tsdividend.data import load_dataset
    ds = load_dataset("ucr/GunPoint")    # data root, else aeon's bundled copy
    ds.X.shape                           # (200, 1, 150)
    ds.subset("train").X.shape           # (50, 1, 150)

See ``docs/data.md`` for names, layouts, split rules and bad-input handling.
"""

from tsdividend.data.catalog import (
    PATTERNS,
    dataset_info,
    list_datasets,
    load_dataset,
    resolve_data_dir,
)
from tsdividend.data.convert import from_numpy, from_pandas, to_collection
from tsdividend.data.dataset import TASKS, DataError, Dataset
from tsdividend.data.download import fetch
from tsdividend.data.sampler import WindowSampler

__all__ = [
    "PATTERNS",
    "TASKS",
    "WindowSampler",
    "DataError",
    "Dataset",
    "dataset_info",
    "fetch",
    "from_numpy",
    "from_pandas",
    "to_collection",
    "list_datasets",
    "load_dataset",
    "resolve_data_dir",
]
