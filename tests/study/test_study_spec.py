"""Study spec: validation errors, presets, and the grid's cells."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tsdividend.config import ConfigError, from_dict
from tsdividend.study import StudySpec, available_presets, expand_grid, load_spec
from tsdividend.study.spec import resolve_datasets, unavailable_datasets

BASE = {
    "name": "t",
    "objectives": ["mae", "ntp"],
    "tasks": ["classification", "anomaly"],
    "datasets": {"classification": ["ucr/GunPoint"], "anomaly": ["anomaly/ucr/135"]},
}


def make(**changes) -> StudySpec:
    return from_dict(StudySpec, {**BASE, **changes})


def test_presets_load_and_name_themselves() -> None:
    names = available_presets()
    assert {"quick", "paper", "depth", "origin", "scale", "gpu"} <= set(names)
    for name in names:
        spec = load_spec(name)
        assert spec.name == name
    quick = load_spec("quick")
    assert len(quick.objectives) == 8 and set(quick.tasks) == {
        "classification", "anomaly", "forecasting", "clustering"}  # fmt: skip
    assert load_spec("depth").depths == (2, 4, 8, 12, 24)


def test_origin_preset_matches_pretraining_tokens() -> None:
    spec = load_spec("origin")
    assert set(spec.pretrain_sources) == {"synthetic", "real", "mix"}
    pre, _ = expand_grid(spec, Path("/nonexistent"), data_dir="/data")
    seen = {(j.config.steps * j.config.batch_size * j.config.data.context) for j in pre}
    assert len(seen) == 1  # every source sees the same number of time steps


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"objectives": ["mae", "simclr"]}, ["simclr", "ntp", "hybrid"]),
        ({"tasks": ["regression"]}, ["regression", "clustering"]),
        ({"regimes": ["zero"]}, ["zero", "finetune"]),
        ({"pretrain_sources": ["web"]}, ["web", "synthetic"]),
        ({"baselines": ["rocket"]}, ["rocket", "minirocket"]),
        ({"colour": 1}, ["colour", "objectives"]),
        ({"depths": [0]}, ["depths"]),
        ({"datasets": {"classification": ["ucr/GunPoint"]}}, ["anomaly"]),
        ({"eval": {"classification": {"c_grd": [1.0]}}}, ["c_grd", "c_grid"]),
        ({"eval": {"anomaly": {"regime": "probe"}}}, ["regime"]),
        ({"train": {"steps": 10, "batchsize": 3}}, ["batchsize", "batch_size"]),
        ({"train": {"encoder": {"depht": 3}}}, ["depht", "depth"]),
        ({"train": {"encoder": {"depth": 3}}}, ["train.encoder.depth", "depths"]),
        ({"train": {"seed": 3}}, ["train.seed", "seeds"]),
        ({"train": {"steps": 0}}, ["steps", "0"]),
        ({"nproc_per_node": 0}, ["nproc_per_node"]),
        ({"corpus_sizes": [0]}, ["corpus_sizes", "0"]),
        ({"corpus_sizes": [64], "pretrain_sources": ["real"]}, ["corpus_sizes", "real"]),
        ({"objective_options": {"dino": {}}}, ["dino"]),
    ],
)
def test_validation_names_the_bad_value(changes: dict, words: list[str]) -> None:
    with pytest.raises(ConfigError) as info:
        make(**changes)
    for word in words:
        assert word in str(info.value)


def test_unknown_preset_lists_valid_ones() -> None:
    with pytest.raises(ConfigError, match="quick"):
        load_spec("nonexistent-preset")


def test_overrides_apply_and_validate() -> None:
    spec = load_spec("quick", {"train.steps": 7, "eval.anomaly.k": 3})
    assert spec.train_config("mae", "patch", 2, "synthetic", 0, 0).steps == 7
    assert spec.eval_config("anomaly", "probe").k == 3
    with pytest.raises(ConfigError, match="stepz"):
        load_spec("quick", {"train.stepz": 7})


def test_train_table_sets_any_train_config_field() -> None:
    """Fields the old schedule table could not reach (issue 10) are plain overrides now."""
    spec = make(train={"encoder": {"mlp_ratio": 2.0, "pos_encoding": "learned"},
                       "precision": "fp32", "data.workers": 2, "steps": 9},
                objective_optim={"mae": {"lr": 5e-4}},
                objective_options={"ntp": {"horizon": 2}})  # fmt: skip
    mae = spec.train_config("mae", "patch", 4, "synthetic", 0, 1)
    ntp = spec.train_config("ntp", "patch", 4, "synthetic", 0, 1)
    assert mae.encoder.mlp_ratio == 2.0 and mae.encoder.pos_encoding == "learned"
    assert mae.precision == "fp32" and mae.data.workers == 2
    assert (mae.steps, mae.seed, mae.encoder.depth) == (9, 1, 4)
    assert mae.optim.lr == 5e-4 and ntp.optim.lr == 1e-3
    assert ntp.objective_options == {"horizon": 2} and mae.objective_options == {}
    assert mae.checkpoint_every == 9 and mae.log_every == 9  # clamped to the steps
    assert spec.encoder_config("patch", 4) == mae.encoder
    # dotted --set overrides reach nested train fields too
    spec2 = load_spec("quick", {"train.encoder.mlp_ratio": 2.0})
    assert spec2.train_config("mae", "patch", 2, "synthetic", 0, 0).encoder.mlp_ratio == 2.0


def test_grid_expands_to_expected_cells(tmp_path: Path) -> None:
    spec = make(depths=[1, 2], seeds=[0, 1], regimes=["probe", "finetune"],
                task_regimes={"anomaly": ["probe"]}, corpus_sizes=[64, 128],
                baselines=["minirocket", "raw_kmeans", "matrix_profile"],
                train={"batch_size": 32, "steps": 200})  # fmt: skip
    pre, evals = expand_grid(spec, tmp_path)
    # 2 objectives x 2 depths x 1 source x 2 sizes x 2 seeds
    assert len(pre) == 16 and len({j.key for j in pre}) == 16
    assert {j.config.data.synth_corpus_size for j in pre} == {64, 128}
    assert {j.config.steps for j in pre} == {200}  # sizes share the step budget
    kinds = Counter((e.init, e.cell["task"], e.cell["regime"]) for e in evals)
    assert kinds[("pretrained", "classification", "probe")] == 16
    assert kinds[("pretrained", "classification", "finetune")] == 16
    assert kinds[("pretrained", "anomaly", "probe")] == 16
    assert ("pretrained", "anomaly", "finetune") not in kinds
    # baselines per architecture (2 depths) and seed
    assert kinds[("random", "classification", "probe")] == 4
    assert kinds[("scratch", "classification", "finetune")] == 4
    assert kinds[("random", "anomaly", "probe")] == 4
    assert ("scratch", "anomaly", "finetune") not in kinds
    # raw_kmeans serves clustering, which this study lacks
    assert kinds[("classical", "classification", "classical")] == 2
    assert kinds[("classical", "anomaly", "classical")] == 2
    assert len(kinds) == 8
    cells = [tuple(sorted(e.cell.items())) for e in evals]
    assert len(cells) == len(set(cells))  # every cell key is unique
    assert {e.cell["encoder_id"] for e in evals if e.init == "random"} == {
        "random-patch-d1", "random-patch-d2"}  # fmt: skip


def test_matrix_profile_is_scored_with_the_study_anomaly_metric_rules(tmp_path: Path) -> None:
    from tsdividend.study.jobs import shared_metric_options

    spec = make(baselines=["minirocket", "matrix_profile"],
                eval={"anomaly": {"vus_buffer": "period", "tolerance": 50}})  # fmt: skip
    _, evals = expand_grid(spec, tmp_path)
    mp = [e for e in evals if e.baseline == "matrix_profile"]
    assert mp and all(shared_metric_options(e.baseline, e.eval_config)
                      == {"tolerance": 50, "vus_buffer": "period", "vus_max_window": 100}
                      for e in mp)  # fmt: skip
    rocket = [e for e in evals if e.baseline == "minirocket"]
    assert all(shared_metric_options(e.baseline, e.eval_config) == {} for e in rocket)


def test_data_dir_adds_datasets(tmp_path: Path) -> None:
    spec = make(datasets_with_data_dir={"classification": ["ucr/ECG200"]})
    _, without = expand_grid(spec, tmp_path)
    _, with_dir = expand_grid(spec, tmp_path, data_dir=str(tmp_path))
    assert {e.cell["dataset"] for e in with_dir} - {e.cell["dataset"] for e in without} == {
        "ucr/ECG200"}  # fmt: skip


@pytest.mark.parametrize("preset", ["quick", "paper", "depth", "origin", "scale", "gpu"])
def test_preset_datasets_exist_without_a_data_dir(preset: str, tmp_path: Path) -> None:
    """Every dataset a preset runs without --data-dir ships with aeon or with tsdividend."""
    from tsdividend.data import list_datasets

    spec = load_spec(preset)
    datasets = resolve_datasets(spec, None)  # without a data dir: the shipped ones only
    available = {r["name"] for r in list_datasets(tmp_path) if r["available"]}
    missing = {n for names in datasets.values() for n in names} - available
    assert not missing, f"{preset}.datasets: {sorted(missing)} do not ship"


@pytest.mark.data
@pytest.mark.parametrize("preset", ["quick", "paper", "depth", "origin", "scale", "gpu"])
def test_preset_datasets_exist_with_the_data_dir(preset: str, shared_data: Path) -> None:
    spec = load_spec(preset)
    datasets = resolve_datasets(spec, shared_data)  # raises when a pattern matches nothing
    assert unavailable_datasets((n for v in datasets.values() for n in v), shared_data) == []


def test_patterns_expand_to_available_datasets(tmp_path: Path) -> None:
    spec = make(datasets={"classification": ["ucr/GunPoint", "ucr/*Power*", "uea/*"],
                          "anomaly": ["anomaly/ucr/*"]})  # fmt: skip
    got = resolve_datasets(spec, tmp_path)  # empty data root: what aeon / tsdividend ship
    assert got["classification"] == ["ucr/GunPoint", "ucr/ItalyPowerDemand",
                                      "uea/BasicMotions", "uea/JapaneseVowels"]  # fmt: skip
    assert got["anomaly"] == ["anomaly/ucr/135"]
    with pytest.raises(ConfigError, match=r"ucr/Nothing\*"):
        resolve_datasets(make(datasets={"classification": ["ucr/Nothing*"], "anomaly": []}),
                         tmp_path)  # fmt: skip


def test_a_missing_dataset_stops_the_study_before_any_work(tmp_path: Path) -> None:
    from tsdividend.study import StudyError, run_study

    spec = make(datasets={"classification": ["ucr/Coffee"], "anomaly": []})
    with pytest.raises(StudyError, match="ucr/Coffee.*data fetch"):
        run_study(spec, tmp_path / "out", data_dir=tmp_path / "empty", progress=False)
    assert not (tmp_path / "out" / "encoders").exists()


def test_budget_preset_spans_thirty_fold_in_samples_with_every_objective(tmp_path: Path) -> None:
    from tsdividend.study.jobs import expand_grid

    spec = load_spec("budget")
    pretrain, _ = expand_grid(spec, tmp_path)
    samples = sorted({j.config.steps * j.config.batch_size for j in pretrain})
    assert len(samples) >= 4 and samples[-1] / samples[0] >= 30
    # every built-in objective (other tests register toy ones in the same process)
    builtin = {"ntp", "mae", "diffusion", "jepa", "lejepa", "dino", "byol", "hybrid"}
    assert {j.config.objective for j in pretrain} == builtin
    assert len({(j.config.encoder.depth, j.config.encoder.d_model) for j in pretrain}) == 1
    assert spec.regimes == ("probe",) and len(spec.baselines) == 5
