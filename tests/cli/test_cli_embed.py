"""`tsdividend embed`: every input format, both output formats, named errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from tsdividend.api import embed
from tsdividend.cli import app
from tsdividend.data.userfiles import read_collection
from tsdividend.estimators import EncoderTransformer

runner = CliRunner()
TS = """@problemName toy
@timeStamps false
@univariate true
@equalLength false
@classLabel true a b
@data
1.0,2.0,3.0,4.0,5.0,6.0,7.0,8.0,9.0,10.0,11.0,12.0:a
2.0,3.0,1.0,0.5,0.1,0.0,1.0,2.0,3.0,4.0:b
"""


def _inputs(tmp_path, X: np.ndarray) -> dict[str, object]:
    np.save(tmp_path / "x.npy", X)
    pd.DataFrame(X).to_csv(tmp_path / "wide.csv", index=False)
    pd.DataFrame(X).to_parquet(tmp_path / "wide.parquet")
    long = pd.DataFrame({"sid": np.repeat(np.arange(len(X)), X.shape[1]),
                         "t": np.tile(np.arange(X.shape[1]), len(X)), "v": X.ravel()})  # fmt: skip
    long.sample(frac=1, random_state=0).to_csv(tmp_path / "long.csv", index=False)
    rows = ["\t".join(["1", *map(str, x)]) for x in X]
    (tmp_path / "ucr.tsv").write_text("\n".join(rows) + "\n")
    (tmp_path / "toy.ts").write_text(TS)
    return {"x.npy": {}, "wide.csv": {}, "wide.parquet": {}, "ucr.tsv": {},
            "long.csv": {"id_col": "sid", "time_col": "t"}}  # fmt: skip


def test_every_input_format_gives_the_same_embeddings(tmp_path) -> None:
    X = np.random.default_rng(0).normal(size=(6, 40)).astype(np.float32)
    expected = EncoderTransformer(seed=1).fit(X).transform(X)
    for name, cols in _inputs(tmp_path, X).items():
        out = embed("random", tmp_path / name, tmp_path / f"{name}.npy", seed=1, device="cpu",
                    **cols)  # type: ignore[arg-type]  # fmt: skip
        Z = np.load(out.output)
        order = np.arange(6)
        if name == "long.csv":  # series come in the order their ids first appear
            order = pd.read_csv(tmp_path / name)["sid"].unique()
        assert Z.shape == (6, 128) and np.allclose(Z, expected[order], atol=1e-5), name
    ts = read_collection(tmp_path / "toy.ts")
    assert ts.X.shape[0] == 2 and ts.classes == ("a", "b") and ts.mask[1, 0, 10:].sum() == 0


def test_cli_writes_parquet_with_labels_and_reports_progress(tmp_path) -> None:
    _inputs(tmp_path, np.random.default_rng(1).normal(size=(5, 30)))
    res = runner.invoke(app, ["embed", "--encoder", "random", "--input", str(tmp_path / "ucr.tsv"),
                              "--output", str(tmp_path / "z.parquet"), "--device", "cpu",
                              "--json"])  # fmt: skip
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout.strip().splitlines()[-1])
    assert summary["n_series"] == 5 and summary["dim"] == 128
    frame = pd.read_parquet(tmp_path / "z.parquet")
    assert list(frame.columns[:2]) == ["e0", "e1"] and (frame["label"] == "1").all()
    assert "embedding: 5/5 series" in res.stderr


@pytest.mark.parametrize(
    ("name", "content", "match"),
    [
        ("x.txt", "1,2,3", "unknown format .txt"),
        ("obj.npy", None, "without unpickling"),
        ("bad.csv", "a,b\n1,x\n", "column 'b': non-numeric value 'x'"),
    ],
)
def test_bad_files_fail_in_one_line(tmp_path, name, content, match) -> None:
    path = tmp_path / name
    if content is None:
        np.save(path, np.array([{"a": 1}], dtype=object), allow_pickle=True)
    else:
        path.write_text(content)
    res = runner.invoke(app, ["embed", "--encoder", "random", "--input", str(path),
                              "--output", str(tmp_path / "z.npy")])  # fmt: skip
    assert res.exit_code == 2 and match in res.output, res.output
    assert len(res.output.strip().splitlines()) == 1 and not (tmp_path / "z.npy").exists()
