"""SynthStream: on-the-fly series, identical per index whatever the worker / rank layout."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from tsdividend.synth import SynthStream, generate, generate_sample


def collect(stream: SynthStream, workers: int) -> list[tuple[int, object]]:
    return list(DataLoader(stream, batch_size=None, num_workers=workers))


@pytest.mark.parametrize("workers", [0, 2])
def test_same_indices_same_series_for_any_worker_count(workers: int) -> None:
    stream = SynthStream("kernelsynth", 64, seed=3, start=5, stop=17, with_index=True)
    items = collect(stream, workers)
    assert [i for i, _ in items] == list(range(5, 17))  # every index once, in order
    for i, x in items:
        assert isinstance(x, torch.Tensor) and x.dtype == torch.float32 and x.shape == (1, 64)
        np.testing.assert_array_equal(x.numpy(), generate("kernelsynth", i, 3, 64))


def test_ranks_and_workers_partition_the_indices() -> None:
    seen = []
    for rank in range(3):
        stream = SynthStream("lmc", 32, seed=1, stop=20, rank=rank, world_size=3, n_channels=4)
        for worker in range(2):
            seen.extend(stream.indices(worker, 2))
    assert sorted(seen) == list(range(20))
    stream = SynthStream(
        "lmc", 32, seed=1, stop=20, rank=2, world_size=3, with_index=True, n_channels=4
    )
    for i, x in collect(stream, 2):
        assert i % 6 in (4, 5) and x.shape == (4, 32)  # global shards 2 * 2 + {0, 1} of 6
        np.testing.assert_array_equal(x.numpy(), generate("lmc", i, 1, 32, n_channels=4))


def test_anomaly_stream_yields_labels() -> None:
    items = list(SynthStream("anomaly", 128, seed=0, stop=3))
    for i, (x, labels) in enumerate(items):
        ref = generate_sample("anomaly", i, 0, 128)
        np.testing.assert_array_equal(x.numpy(), ref.values)
        np.testing.assert_array_equal(labels.numpy(), ref.labels)


def test_endless_stream_and_bad_arguments() -> None:
    it = iter(SynthStream("kernelsynth", 16, seed=0))
    items = [next(it).numpy() for _ in range(40)]  # past any finite default: no StopIteration
    for i in (0, 1, 4, 39):  # item i is series i, whatever came before it
        np.testing.assert_array_equal(items[i], generate("kernelsynth", i, 0, 16))
    assert len({x.tobytes() for x in items}) == 40  # a fresh series each time, no repeats
    with pytest.raises(ValueError, match="rank"):
        SynthStream("kernelsynth", 16, rank=2, world_size=2)
    with pytest.raises(ValueError, match="valid"):
        SynthStream("nope", 16)
