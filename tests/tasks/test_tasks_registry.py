"""The task registry: built-in records, a toy task registered from this module, import hygiene."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

import tsdividend.tasks
from tsdividend.config import ConfigError
from tsdividend.data import Dataset
from tsdividend.results.row import BASELINE_OF, ResultRow
from tsdividend.tasks.registry import TASKS, TaskSpec, register_task

TASKS_DIR = Path(tsdividend.tasks.__file__).parent


@dataclass(frozen=True)
class ToyConfig:
    regime: str = "probe"
    scale: float = 1.0


def toy_evaluate(encoder, dataset: Dataset, cfg: ToyConfig, seed: int, *,
                 device: str = "auto") -> list[ResultRow]:  # fmt: skip
    return [ResultRow(**encoder.row_fields(), task="toy", dataset=dataset.name, regime=cfg.regime,
                      seed=seed, metric="accuracy", value=cfg.scale,
                      higher_is_better=True)]  # fmt: skip


# registered at import, from this test module alone
TOY = register_task(TaskSpec("toy", ToyConfig, toy_evaluate, data_task="classification",
                             headline=("accuracy",), regimes=("probe",)))  # fmt: skip


def test_builtin_records_in_order_with_their_data_task_and_headline() -> None:
    assert TASKS.names()[:4] == ["classification", "anomaly", "forecasting", "clustering"]
    assert TASKS.get("clustering").data_task == "classification"
    assert TASKS.get("anomaly").headline == ("recon/vus_pr", "knn/vus_pr")
    for name in ("classification", "anomaly", "forecasting", "clustering"):
        spec = TASKS.get(name)
        assert spec.regimes == ("probe", "finetune")
        assert [spec.baseline(r) for r in spec.regimes] == ["random", "scratch"]
        assert spec.make_config("finetune").regime == "finetune"


def test_string_evaluators_resolve_to_the_protocol_functions() -> None:
    from tsdividend.tasks.anomaly import evaluate_anomaly
    from tsdividend.tasks.classification import evaluate_classification
    from tsdividend.tasks.clustering import evaluate_clustering
    from tsdividend.tasks.forecasting import evaluate_forecasting

    got = {n: TASKS.get(n).evaluator() for n in ("classification", "anomaly", "forecasting",
                                                 "clustering")}  # fmt: skip
    assert got == {
        "classification": evaluate_classification,
        "anomaly": evaluate_anomaly,
        "forecasting": evaluate_forecasting,
        "clustering": evaluate_clustering,
    }


def test_headline_candidates_then_the_smallest_numbered_fallback() -> None:
    fc, an = TASKS.get("forecasting"), TASKS.get("anomaly")
    assert fc.headline_metric({"mse@96", "mse@24", "mae@96"}) == "mse@96"
    assert fc.headline_metric({"mse@336", "mse@192", "mae@24", "mse@192x"}) == "mse@192"
    assert fc.headline_metric({"mae@96"}) is None
    assert an.headline_metric({"knn/vus_pr", "recon/auc_pr"}) == "knn/vus_pr"
    assert TASKS.get("clustering").headline_metric({"ari"}) is None


def test_toy_task_record_works_like_a_builtin() -> None:
    from tsdividend.encoder import EncoderConfig
    from tsdividend.tasks.base import EncoderUnderTest

    spec = TASKS.get("toy")
    assert spec is TOY and spec.evaluator() is toy_evaluate
    cfg = spec.make_config("probe", {"scale": 0.5})
    ds = Dataset("toy/one", "classification", *_tiny_arrays())
    rows = spec.evaluator()(
        EncoderUnderTest("random", EncoderConfig(d_model=8, depth=1, n_heads=2)), ds, cfg, 3
    )
    assert [(r.task, r.regime, r.seed, r.value, r.init) for r in rows] == [
        ("toy", "probe", 3, 0.5, "random")
    ]
    assert spec.baseline("probe") == BASELINE_OF["probe"] == "random"
    with pytest.raises(ValueError, match="no regime 'finetune'"):
        spec.baseline("finetune")
    with pytest.raises(ConfigError, match="no regime 'finetune'"):
        spec.make_config("finetune")
    with pytest.raises(ConfigError, match="regime is set by the regime argument"):
        spec.make_config("probe", {"regime": "probe"})
    with pytest.raises(ValueError, match="already registered"):
        register_task(TaskSpec("toy", ToyConfig, toy_evaluate, data_task="classification"))


def _tiny_arrays() -> tuple:
    import numpy as np

    X = np.zeros((2, 1, 8), np.float32)
    return X, np.ones_like(X, bool), np.array([0, 1]), ("a", "b")


def test_bad_records_are_refused_naming_the_problem() -> None:
    @dataclass(frozen=True)
    class NoRegime:
        k: int = 1

    with pytest.raises(TypeError, match="'regime' field"):
        TaskSpec("bad", NoRegime, toy_evaluate, data_task="classification")
    with pytest.raises(ValueError, match="regime 'zero-shot' has no baseline"):
        TaskSpec("bad", ToyConfig, toy_evaluate, data_task="classification",
                 regimes=("zero-shot",))  # fmt: skip
    with pytest.raises(ValueError, match="exactly one"):
        TaskSpec("bad", ToyConfig, toy_evaluate, data_task="x", headline_pattern=r"mse@\d+")
    with pytest.raises(ValueError, match="package.module:function"):
        TaskSpec("bad", ToyConfig, "tsdividend.tasks.classification", data_task="x")
    with pytest.raises(ImportError, match="not a function"):
        TaskSpec("bad", ToyConfig, "tsdividend.tasks.registry:TASKS", data_task="x").evaluator()


def test_registry_and_configs_import_no_torch() -> None:
    code = (
        "import sys\n"
        "from tsdividend.tasks.registry import TASKS\n"
        "from tsdividend.tasks.anomaly import AnomalyConfig, SCORERS\n"
        "from tsdividend.tasks.forecasting import ForecastingConfig, STANDARD\n"
        "from tsdividend.tasks.classification_config import ClassificationConfig\n"
        "from tsdividend.tasks.clustering_config import ClusteringConfig\n"
        "assert TASKS.names() == ['classification', 'anomaly', 'forecasting', 'clustering']\n"
        "assert 'torch' not in sys.modules, 'torch imported'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_packages_re_export_lazily() -> None:
    import tsdividend.tasks.anomaly as anomaly
    import tsdividend.tasks.forecasting as forecasting
    from tsdividend.tasks.anomaly.protocol import evaluate_anomaly
    from tsdividend.tasks.forecasting.windows import gather

    assert anomaly.evaluate_anomaly is evaluate_anomaly and forecasting.gather is gather
    for pkg in (anomaly, forecasting):
        assert all(hasattr(pkg, name) for name in pkg.__all__)
        with pytest.raises(AttributeError, match="no attribute 'nope'"):
            pkg.nope  # noqa: B018


def test_no_module_imports_another_modules_private_names() -> None:
    offenders = []
    for path in sorted(TASKS_DIR.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("tsdividend"):
                offenders += [f"{path.name}: {a.name}" for a in node.names
                              if a.name.startswith("_") and not a.name.endswith("__")]  # fmt: skip
    assert offenders == []
