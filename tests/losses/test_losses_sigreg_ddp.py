"""SIGReg under data parallelism equals the single-process statistic (2 gloo processes on CPU)."""

from __future__ import annotations

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from tsdividend.losses import random_directions, sigreg

N, D, K = 64, 8, 16


def _data() -> tuple[torch.Tensor, torch.Tensor]:
    x = torch.randn(N, D, generator=torch.Generator().manual_seed(0)) * 1.7 + 0.3
    return x, random_directions(D, K, torch.Generator().manual_seed(1))


def _worker(rank: int, world: int, init: str, out: str) -> None:
    dist.init_process_group("gloo", init_method=init, rank=rank, world_size=world)
    x, dirs = _data()
    local = x.chunk(world)[rank].clone().requires_grad_(True)
    loss = sigreg(local, dirs)  # all-reduces the ECF means
    loss.backward()
    torch.save({"loss": loss.detach(), "grad": local.grad}, f"{out}.{rank}")
    dist.barrier()
    dist.destroy_process_group()


@pytest.mark.skipif(not dist.is_available(), reason="torch.distributed unavailable")
def test_two_ranks_equal_one_process(tmp_path):
    world = 2
    init = f"file://{tmp_path / 'store'}"
    out = str(tmp_path / "res")
    mp.spawn(_worker, args=(world, init, out), nprocs=world, join=True)
    x, dirs = _data()
    full = x.clone().requires_grad_(True)
    ref = sigreg(full, dirs, distributed=False)
    ref.backward()
    parts = [torch.load(f"{out}.{r}") for r in range(world)]
    for r, part in enumerate(parts):
        assert torch.allclose(part["loss"], ref.detach(), rtol=1e-5), (part["loss"], ref)
        # DDP averages parameter gradients over ranks, so each rank's gradient is world x its
        # share of the single-process gradient.
        expect = full.grad.chunk(world)[r] * world
        assert torch.allclose(part["grad"], expect, rtol=1e-4, atol=1e-6)
    local_only = sigreg(x.chunk(world)[0], dirs, distributed=False)
    assert not torch.allclose(local_only, ref.detach(), rtol=1e-3)  # the reduction matters
