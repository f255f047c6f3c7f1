"""A .ts file's body must agree with its header; errors name the file and the case's line."""

from __future__ import annotations

import pytest

from tsdividend.data import DataError, load_dataset
from tsdividend.data.classification import read_ts

HEADER = """@problemName toy
@timeStamps false
@univariate false
@dimensions 2
@equalLength true
@seriesLength 4
@classLabel true a b
@data
"""


@pytest.mark.parametrize(
    ("body", "match"),
    [
        (
            "1,2,3,4:a\n1,2,3,4:b\n",
            r"line 9: case has 1 dimension\(s\), the header says @dimensions 2",
        ),
        ("1,2,3,4:5,6,7,8:a\n1,2,3,4:5,6,7,8:c\n", r"line 10: class label 'c' is not among"),
        ("1,2,3,4:5,6,7,8:a\n1,2,3:5,6,7:b\n", r"toy.ts: cannot read \.ts file"),
    ],
)
def test_header_body_disagreements_are_named(tmp_path, body, match) -> None:
    path = tmp_path / "toy.ts"
    path.write_text(HEADER + body)
    with pytest.raises(DataError, match=match):
        read_ts(path)


def test_a_consistent_file_and_the_bundled_uea_set_read() -> None:
    ds = load_dataset("uea/BasicMotions")
    assert ds.X.shape[1] == 6
