import numpy as np
import pytest

from tsdividend.metrics import METRICS, accuracy, ari, balanced_accuracy, mae, mse, nmi


def test_hand_computed_values():
    y, p = np.array([0, 0, 0, 1]), np.array([0, 0, 1, 1])
    assert accuracy(y, p) == 0.75
    assert balanced_accuracy(y, p) == pytest.approx((2 / 3 + 1) / 2)
    assert mse([1.0, 2.0], [2.0, 4.0]) == 2.5 and mae([1.0, 2.0], [2.0, 4.0]) == 1.5
    assert nmi([0, 0, 1, 1], [1, 1, 0, 0]) == pytest.approx(1.0)
    assert ari([0, 0, 1, 1], [0, 1, 0, 1]) == pytest.approx(-0.5)


def test_directions_and_errors():
    assert METRICS.get("accuracy").higher_is_better and not METRICS.get("mse").higher_is_better
    with pytest.raises(ValueError, match="one shape"):
        accuracy(np.array([0, 1]), np.array([0]))
