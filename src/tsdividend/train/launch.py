"""Entry point for one data-parallel pretraining run started by the study runner.

``python -m torch.distributed.run --standalone --nproc-per-node K -m tsdividend.train.launch
CONFIG.json OUT`` trains the :class:`~tsdividend.train.trainer.TrainConfig` in ``CONFIG.json``
(written by ``tsdividend.study``) into ``OUT``, resuming a partial run; rank 0 writes the
:class:`~tsdividend.train.trainer.TrainResult` to ``OUT/train_result.json``.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from tsdividend.atomic import write_json
from tsdividend.config import from_dict
from tsdividend.train.distributed import shutdown
from tsdividend.train.trainer import TrainConfig, train

RESULT_FILE = "train_result.json"


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        raise SystemExit("usage: python -m tsdividend.train.launch CONFIG.json OUT")
    config_path, out = Path(args[0]), Path(args[1])
    cfg = from_dict(TrainConfig, json.loads(config_path.read_text()), where=str(config_path))
    result = train(cfg, out, resume=True, progress=False)
    shutdown()  # leave the process group together: exiting with it open can abort a rank
    if int(os.environ.get("RANK", "0")) == 0:
        write_json(out / RESULT_FILE, result.to_json())


if __name__ == "__main__":
    main()
