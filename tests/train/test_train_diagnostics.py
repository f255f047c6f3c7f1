import math

import torch

from tsdividend.train.diagnostics import embedding_std, rankme


def test_rankme_full_rank_vs_collapsed():
    g = torch.Generator().manual_seed(0)
    iso = torch.randn(4096, 16, generator=g)
    assert rankme(iso) > 15.0  # close to D for isotropic samples
    line = torch.randn(4096, 1, generator=g) * torch.ones(1, 16)
    assert rankme(line) < 1.01
    two = torch.cat([torch.randn(4096, 2, generator=g), torch.zeros(4096, 14)], dim=1)
    assert 1.9 < rankme(two) < 2.01


def test_embedding_std():
    g = torch.Generator().manual_seed(0)
    assert abs(embedding_std(torch.randn(8192, 64, generator=g)) - 1 / math.sqrt(64)) < 0.01
    assert embedding_std(torch.ones(100, 8)) < 1e-6
