"""Any embedding model seen through THE encoder's token interface (one token per window).

The token-level protocols (anomaly scorers and decoders, forecasting heads) read per-token outputs
and the normalised patch each token covers; THE encoder provides them natively. A model that only
embeds (``embed(x (B, C, T), mask) -> (B, D)``: a user's conv net, a wrapped Hugging Face model,
a feature extractor) is adapted by :class:`WindowTokens`: each channel of each input window is
embedded on its own, as a univariate series, and that embedding is the window's single token; the
patch it covers is the whole instance-normalised window. So a forecasting head reads the
look-back's per-channel embedding, an anomaly decoder reconstructs the window from it and the kNN
scorer compares window embeddings (docs/protocols.md, "External encoders").
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch
from torch import Tensor, nn

from tsdividend.encoder.transformer import Encoder
from tsdividend.tokenizer.patch import Patches, patchify

__all__ = ["TOKEN_METHODS", "TokenEncoder", "WindowTokens", "module_device"]

# What the token-level protocols call on a built encoder; a module with all of them is used as is.
TOKEN_METHODS = ("tokens", "patchify", "num_tokens", "token_dim", "token_stride", "max_length",
                 "embed", "embedding_dim")  # fmt: skip
_DRY_LENGTH = 64  # length of the zero series that measures an unknown embedding width


def module_device(module: nn.Module) -> torch.device:
    """Device of a module's first parameter (else buffer); CPU for a module holding neither."""
    for tensor in (*module.parameters(), *module.buffers()):
        return tensor.device
    return torch.device("cpu")


class WindowTokens(nn.Module):
    """An embedding model as a one-token-per-window encoder.

    Args:
        model: an ``nn.Module`` whose ``embed(x, mask=None)`` maps a float32 (B, C, T) tensor
            (+ optional bool mask, True = observed) to (B, D) (trainable: fine-tunes update it),
            or any object whose ``embed(X, mask=None)`` maps NumPy (N, C, T) to (N, D) (frozen:
            probes only). An optional ``max_length`` attribute caps the steps of one call.
    """

    def __init__(self, model: Any) -> None:
        super().__init__()
        if not callable(getattr(model, "embed", None)):
            raise TypeError(f"{type(model).__name__} has no embed(X, mask) method; an external "
                            "encoder must provide one")  # fmt: skip
        self.model: Any = model if isinstance(model, nn.Module) else None
        self._frozen: Any = None if isinstance(model, nn.Module) else model
        self._widths: dict[int, int] = {}

    @property
    def trainable(self) -> bool:
        """True when the wrapped model is a module with parameters that take gradients."""
        return self.model is not None and any(p.requires_grad for p in self.model.parameters())

    @property
    def max_length(self) -> int | None:
        """The wrapped model's ``max_length`` (None: any length)."""
        return getattr(self.model if self.model is not None else self._frozen, "max_length", None)

    @property
    def token_stride(self) -> int:
        """One token per window: tokens never follow each other, so the stride is 1 (unused)."""
        return 1

    @property
    def token_dim(self) -> int:
        """Width of one channel's embedding (the token)."""
        return self.embedding_dim(1)

    def num_tokens(self, length: int) -> int:
        """One token per channel window, whatever its length."""
        return 1

    def embedding_dim(self, n_channels: int = 1) -> int:
        """Width of :meth:`embed` for ``n_channels`` channels, measured once by embedding a zero
        series (``max_length`` steps, or 64) in eval mode without gradient."""
        if n_channels not in self._widths:
            length = min(self.max_length or _DRY_LENGTH, _DRY_LENGTH)
            x = torch.zeros(1, n_channels, length, device=module_device(self))
            was_training = self.training
            self.eval()
            with torch.no_grad():
                z = self.embed(x)
            self.train(was_training)
            if z.ndim != 2 or z.shape[0] != 1:
                raise ValueError(f"embed of a (1, {n_channels}, {length}) input must return "
                                 f"(1, D), got {tuple(z.shape)}")  # fmt: skip
            self._widths[n_channels] = int(z.shape[1])
        return self._widths[n_channels]

    def embed(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """(B, C, T) series (+ bool mask) -> (B, D) embeddings of the wrapped model."""
        if self.model is not None:
            z = self.model.embed(x, mask)
        else:
            m = None if mask is None else mask.cpu().numpy()
            z = torch.as_tensor(np.asarray(self._frozen.embed(x.cpu().numpy(), m), np.float32))
            z = z.to(x.device)
        if z.ndim != 2 or z.shape[0] != x.shape[0]:
            raise ValueError(f"embed of a {tuple(x.shape)} input must return ({x.shape[0]}, D), "
                             f"got {tuple(z.shape)}")  # fmt: skip
        return z

    def tokens(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """(B, C, T) -> (B*C, 1, D): each channel window embedded as a univariate series."""
        b, c, t = x.shape
        m = None if mask is None else mask.reshape(b * c, 1, t)
        return self.embed(x.reshape(b * c, 1, t), m)[:, None, :]

    def patchify(self, x: Tensor, mask: Tensor | None = None) -> Patches:
        """The instance-normalised window of each channel as its token's one patch."""
        return patchify(x, mask, x.shape[-1], x.shape[-1])

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Same as :meth:`tokens`."""
        return self.tokens(x, mask)


# What a protocol's ``build(seed)`` returns: THE encoder, or an external model through the adapter.
TokenEncoder = Encoder | WindowTokens
