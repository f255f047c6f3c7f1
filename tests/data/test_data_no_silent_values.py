"""No silent wrong values: what would be converted into wrong numbers is refused, by name, or
handled by a documented rule (datetime columns are the time index)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from tsdividend.data import DataError, from_numpy, from_pandas, load_dataset, to_collection
from tsdividend.encoder import Encoder, EncoderConfig
from tsdividend.encoder.embedder import Embedder

TINY = EncoderConfig(depth=1, d_model=16, n_heads=2)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: from_numpy(np.full((2, 20), 1e39)), "beyond float32's range"),
        (lambda: to_collection(np.full((2, 20), -1e39)), "beyond float32's range"),
        (lambda: from_numpy(np.ones((2, 20), complex)), "Complex data not supported"),
        (lambda: from_numpy(np.array(["a"] * 20)[None]), "is not numeric"),
        (lambda: from_pandas(pd.DataFrame()), "the DataFrame is empty"),
        (lambda: from_numpy(np.ones((2, 0, 20))), "holds no value"),
    ],
)
def test_converters_refuse_by_name(make, match) -> None:
    with pytest.raises(DataError, match=match):
        make()


def test_embed_refuses_what_float32_would_turn_into_nan() -> None:
    emb = Embedder(Encoder(TINY), device="cpu")
    X = np.random.default_rng(0).normal(size=(2, 1, 20))
    X[1, 0, 3] = 1e39
    with pytest.raises(DataError, match=r"X\[1, 0, 3\] = 1e\+39 is beyond float32"):
        emb.embed(X)
    with pytest.raises(DataError, match="no channel"):
        emb.embed(np.zeros((2, 0, 64)))
    assert np.isfinite(emb.embed(X[:1])).all()


def test_datetime_columns_are_the_time_index_never_values() -> None:
    t = pd.date_range("2021-01-01", periods=24, freq="h")
    frame = pd.DataFrame({"when": t, "v": np.arange(24.0)}).sample(frac=1, random_state=0)
    ds = from_pandas(frame)
    assert ds.X.shape == (1, 1, 24) and np.array_equal(ds.X[0, 0], np.arange(24.0))
    with pytest.raises(DataError, match=r"datetime column\(s\) \['when', 'w2'\]"):
        from_pandas(frame.assign(w2=frame["when"]))
    with pytest.raises(DataError, match="datetimes"):
        to_collection(np.array(t, dtype="datetime64[ns]").reshape(1, -1))


def test_tsv_cell_beyond_float32_names_the_file_and_line(tmp_path) -> None:
    root = tmp_path / "ucr" / "Toy"
    root.mkdir(parents=True)
    rows = ["1\t" + "\t".join(["0.5"] * 20), "2\t" + "\t".join(["0.1"] * 19 + ["1e39"])]
    (root / "Toy_TRAIN.tsv").write_text("\n".join(rows) + "\n")
    (root / "Toy_TEST.tsv").write_text("\n".join(rows) + "\n")
    with pytest.raises(DataError, match=r"Toy_TRAIN.tsv: row 2: value 1e\+39"):
        load_dataset("ucr/Toy", tmp_path)
