import json

import pytest

from tsdividend.atomic import atomic_target, write_json


def test_success_replaces_and_failure_leaves_old_file(tmp_path):
    dest = tmp_path / "sub" / "a.json"
    write_json(dest, {"x": 1})
    assert json.loads(dest.read_text()) == {"x": 1}
    with pytest.raises(RuntimeError), atomic_target(dest) as tmp:
        tmp.write_text("partial")
        raise RuntimeError("killed")
    assert json.loads(dest.read_text()) == {"x": 1}
    assert [p.name for p in dest.parent.iterdir()] == ["a.json"]  # no temp file left
