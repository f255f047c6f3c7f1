"""Self-distillation with centering and sharpening (DINO, Caron et al. 2021, arXiv 2104.14294).

The teacher's logits are centred (a running mean ``c`` is subtracted) and sharpened by a low
temperature; the student's by a higher one; the loss is the cross-entropy between the two
distributions over the prototypes, averaged over (teacher view, student view) pairs:

    P_t = softmax((t - c) / tau_t),  log P_s = log_softmax(s / tau_s),
    loss = mean over pairs (i, j) of mean_n [ - sum_k P_t[i, n, k] * log P_s[j, n, k] ].

Centering keeps one prototype from dominating, sharpening keeps the output from going uniform;
together they avoid collapse without negatives (DINO section 3.1). The centre is an EMA of the
teacher's batch mean: ``c <- m * c + (1 - m) * mean_n t_n`` (m = 0.9).
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor


def dino_loss(
    student_logits: Tensor,
    teacher_logits: Tensor,
    center: Tensor,
    student_temp: float = 0.1,
    teacher_temp: float = 0.04,
    skip_same_view: bool = False,
) -> Tensor:
    """DINO cross-entropy between centred, sharpened teacher and student distributions.

    Args:
        student_logits: (V_s, N, K) student prototype scores for V_s views of N samples.
        teacher_logits: (V_t, N, K) teacher scores (no gradient needed; detached here).
        center: (K,) running centre of the teacher scores.
        student_temp: tau_s (DINO: 0.1).
        teacher_temp: tau_t (DINO: 0.04).
        skip_same_view: when student view ``j`` is the same input as teacher view ``i = j``
            (standard DINO, where the student also sees the teacher's global crops), skip those
            pairs. False when every student view differs from every teacher view.

    Returns:
        Scalar float32 loss: mean over kept pairs of the per-sample mean cross-entropy.

    Raises:
        ValueError: on mismatched shapes or when no pair is left.
    """
    if student_logits.ndim != 3 or teacher_logits.ndim != 3:
        raise ValueError(
            f"logits must be (V, N, K); got student {tuple(student_logits.shape)}, "
            f"teacher {tuple(teacher_logits.shape)}"
        )
    if student_logits.shape[1:] != teacher_logits.shape[1:] or center.shape != (
        student_logits.shape[-1],
    ):
        raise ValueError(
            f"shapes disagree: student {tuple(student_logits.shape)}, teacher "
            f"{tuple(teacher_logits.shape)}, center {tuple(center.shape)}"
        )
    if not (student_temp > 0 and teacher_temp > 0):
        raise ValueError(f"temperatures must be > 0, got {student_temp}, {teacher_temp}")
    v_t, v_s = teacher_logits.shape[0], student_logits.shape[0]
    targets = F.softmax((teacher_logits.detach().float() - center.float()) / teacher_temp, dim=-1)
    log_probs = F.log_softmax(student_logits.float() / student_temp, dim=-1)
    # ce[i, j] = mean over samples of the cross-entropy of student view j against teacher view i;
    # elementwise products, not einsum/matmul, so autocast cannot drop it to bf16
    ce = -(targets[:, None] * log_probs[None]).sum(dim=-1).mean(dim=-1)
    total, n_pairs = ce.sum(), v_t * v_s
    if skip_same_view:
        total, n_pairs = total - ce.diagonal().sum(), n_pairs - min(v_t, v_s)
    if n_pairs == 0:
        raise ValueError(f"no (teacher, student) pair left with V_t={v_t}, V_s={v_s}")
    return total / n_pairs


def update_center(center: Tensor, batch_mean: Tensor, momentum: float = 0.9) -> Tensor:
    """DINO centre EMA: ``momentum * center + (1 - momentum) * batch_mean``.

    Args:
        center: (K,) current centre.
        batch_mean: (K,) mean teacher scores of the batch (over views, samples and ranks).
        momentum: m in [0, 1] (DINO: 0.9).

    Returns:
        (K,) new centre (a new tensor).
    """
    if not 0.0 <= momentum <= 1.0:
        raise ValueError(f"center momentum must be in [0, 1], got {momentum}")
    if center.shape != batch_mean.shape:
        raise ValueError(
            f"center {tuple(center.shape)} and batch mean {tuple(batch_mean.shape)} differ"
        )
    return center * momentum + batch_mean.to(center.dtype) * (1.0 - momentum)
