# ruff: noqa: E501
"""``anomaly/ucr/<NNN>``: the UCR anomaly archive (Wu & Keogh 2021), one series per file.

File ``anomaly/ucr/NNN_UCR_Anomaly_<name>_<trainEnd>_<begin>_<end>.txt`` (found by its 3-digit
id; ``anomaly/ucr/25`` = ``025``), read by :func:`~tsdividend.data.anomaly.load_ucr_anomaly`:
train ``[0, trainEnd)``, labels ``[begin, end)``. aeon 1.6 ships id 135 as ``KDD-TSAD_135``
(TRAIN/TEST csv, :func:`~tsdividend.data.anomaly.load_ucr_anomaly_csv_pair`). Fetched from
``Karenou/KDDCup2021`` and renamed to the labelled name (TSB-UAD's name table).
"""

from __future__ import annotations

import re
from pathlib import Path

from tsdividend.data import anomaly
from tsdividend.data.bundled import AEON_SOURCE, aeon_pair
from tsdividend.data.dataset import DataError, Dataset
from tsdividend.data.family import Bundled, FamilySpec, parse_manifest, register_family
from tsdividend.data.sources import Source

KDDCUP2021 = ("Karenou/KDDCup2021", "2c57047fac659b7f82c0cfc1c7f3d2a338772469")
# id -> (aeon folder, file stem) of the copies aeon ships
BUNDLED = {"135": ("KDD-TSAD_135", "135_UCR_Anomaly_InternalBleeding16")}
_FETCHED = re.compile(r"^anomaly/ucr/(\d{3})_UCR_Anomaly_.+_(\d+)_\d+_\d+\.txt$")


def _paths(root: Path, key: str) -> list[Path]:
    return [root / "anomaly" / "ucr" / f"{key}_UCR_Anomaly_*.txt"]  # a glob: the name has labels


def _locate(root: Path, key: str) -> list[Path] | None:
    pattern = _paths(root, key)[0]
    found = sorted(
        p for p in pattern.parent.glob(pattern.name) if anomaly.UCR_ANOMALY_FILE.match(p.name)
    )
    if len(found) > 1:
        raise DataError(f"{pattern.parent}: several files for id {key}: {[p.name for p in found]}")
    return found or None


def _scan(root: Path) -> list[str]:
    folder = root / "anomaly" / "ucr"
    return [p.name[:3] for p in sorted(folder.glob("*.txt"))] if folder.is_dir() else []


def _read(name: str, key: str, files: list[Path], min_length: int, source: str) -> Dataset:
    return anomaly.load_ucr_anomaly(name, files[0], min_length=min_length, source=source)


def _read_csv_pair(name: str, key: str, files: list[Path], min_length: int, source: str) -> Dataset:
    return anomaly.load_ucr_anomaly_csv_pair(
        name, files[0], files[1], min_length=min_length, source=source
    )


def _key_of_path(relpath: str) -> str | None:
    parts = relpath.split("/")
    if parts[:2] == ["anomaly", "ucr"] and anomaly.UCR_ANOMALY_FILE.match(parts[-1]):
        return parts[2][:3]
    return None


def _source(relpath: str) -> Source | None:
    if m := _FETCHED.match(relpath):
        return Source(*KDDCUP2021, f"data-sets/KDD-Cup/data/{m[1]}_UCR_Anomaly_{m[2]}.txt")
    return None


_MANIFEST = """\
anomaly/ucr/004_UCR_Anomaly_DISTORTEDBIDMC1_2500_5400_5600.txt	198000	f76d4cbc56328179183f3ce69a92f5a22389135a786d8f0bb1662bcfc748ede6
anomaly/ucr/005_UCR_Anomaly_DISTORTEDCIMIS44AirTemperature1_4000_5391_5392.txt	147312	076a847fcefaf023942db0324186aa976407c43a8d699beaee8b77527bb5ceae
anomaly/ucr/006_UCR_Anomaly_DISTORTEDCIMIS44AirTemperature2_4000_5703_5727.txt	147312	7a3689efacf6003dbaada4be6c2423d83f008409da4f1e3e4388705e6117f98a
anomaly/ucr/007_UCR_Anomaly_DISTORTEDCIMIS44AirTemperature3_4000_6520_6544.txt	147312	d63280ad6baffbe055edaa756aa43feff093ed517e0fa5017c312d6cac4c4792
anomaly/ucr/008_UCR_Anomaly_DISTORTEDCIMIS44AirTemperature4_4000_5549_5597.txt	147312	564e885f1910b19e2d762f369a669ce0097b6ce1706da337a3315333f27ec9f7
anomaly/ucr/009_UCR_Anomaly_DISTORTEDCIMIS44AirTemperature5_4000_4852_4900.txt	147312	5450cae11e0b3a7c9f536f24c943db5e3bac3223e30cfe0288497ad0294a4c52
anomaly/ucr/010_UCR_Anomaly_DISTORTEDCIMIS44AirTemperature6_4000_6006_6054.txt	147312	76a00b51e39993cb325ca7a933a1895add9c774cd1b17d819d1b5cb99cf74423
anomaly/ucr/011_UCR_Anomaly_DISTORTEDECG1_10000_11800_12100.txt	540000	9f0cccecd43376f0347d5c2df6648f3be3f33a5be955d4af66fb670c02e39afd
anomaly/ucr/012_UCR_Anomaly_DISTORTEDECG2_15000_16000_16100.txt	540000	918236c9ecd8e65f0e61df7209c5874b811657177de2ea982ef98c6f3ac6172f
anomaly/ucr/013_UCR_Anomaly_DISTORTEDECG3_15000_16000_16100.txt	540000	d34aeecf64127212a6a7290c02d675de48c05ad83e783ba4e0a52b571ad71128
anomaly/ucr/014_UCR_Anomaly_DISTORTEDECG3_8000_17000_17100.txt	540000	cf49ee0039979e7526988fcf2abc9db20bcc96b9dd3f3ee311881640fe989e94
anomaly/ucr/016_UCR_Anomaly_DISTORTEDECG4_5000_16900_17100.txt	540000	de679b477e6ca1db24972ad3b3e66bfa2812ea7f41bca4b29d663e639763d253
anomaly/ucr/017_UCR_Anomaly_DISTORTEDECG4_5000_17000_17100.txt	540000	4cdef36a92a9f3f7d5c94de3e31f8fbdd49fd671c8ea4f3f8e53ce5b6c209a82
anomaly/ucr/018_UCR_Anomaly_DISTORTEDECG4_8000_17000_17100.txt	540000	ee6e4b0d7d6ccd355614825c7480836dbed05943ba60e5fb0f768d60e9337cd7
anomaly/ucr/019_UCR_Anomaly_DISTORTEDGP711MarkerLFM5z1_5000_6168_6212.txt	216000	d5ef58edd75915cd1cfb88368905186281e25eb7587e2c5cd28a44f4a3e2fb8f
anomaly/ucr/020_UCR_Anomaly_DISTORTEDGP711MarkerLFM5z2_5000_7175_7388.txt	216000	8a1e8225a1f6251425782a1bce150db1cb4d2c55431278f73465538166c7a6db
anomaly/ucr/021_UCR_Anomaly_DISTORTEDGP711MarkerLFM5z3_5000_5948_5993.txt	216000	f777776c072630c3b7970e684392ed0d5121fb9d2bb0277934f1440ae6c973ac
anomaly/ucr/022_UCR_Anomaly_DISTORTEDGP711MarkerLFM5z4_4000_6527_6645.txt	216000	e8c3474887d6e892b6872b105658424d50befbbf0b4f5255670a39094e901ad7
anomaly/ucr/023_UCR_Anomaly_DISTORTEDGP711MarkerLFM5z5_5000_8612_8716.txt	216000	61ade6be0922f071980b97adce4a31a50260562303fa9012fd03c9a9d06db00d
anomaly/ucr/024_UCR_Anomaly_DISTORTEDInternalBleeding10_3200_4526_4556.txt	135018	c9dd6e2d6f05791f47a1d7798e33fd48861561d7e1bf3eaa592f8b7a5f5685a7
anomaly/ucr/025_UCR_Anomaly_DISTORTEDInternalBleeding14_2800_5607_5634.txt	135018	8e0dc61a006bc5917166d69dbc84e6a5b575fdaa490d7fed79f62138adf6f644
anomaly/ucr/026_UCR_Anomaly_DISTORTEDInternalBleeding15_1700_5684_5854.txt	136818	4d1cf1a9307630613e8da2adef8d91fe0ad4d2a8c23469ecc49d6bf97baea9ee
anomaly/ucr/027_UCR_Anomaly_DISTORTEDInternalBleeding16_1200_4187_4199.txt	135018	8245646efd247a8a6a938de02df5067f546cc06573897c20eaaa9710d8dc8d13
anomaly/ucr/028_UCR_Anomaly_DISTORTEDInternalBleeding17_1600_3198_3309.txt	135000	9857e5486d03e7f5a70153473682cd005f80ac7af155ed58190b75431860533b
anomaly/ucr/029_UCR_Anomaly_DISTORTEDInternalBleeding18_2300_4485_4587.txt	135000	99b6a580cfea028d6405bc775f581ee6cb097a1af2ec13b254f5effd62f7fd28
anomaly/ucr/030_UCR_Anomaly_DISTORTEDInternalBleeding19_3000_4187_4197.txt	135000	3f034620d2c0b4089b6825e38609acad71fb8ea1c6e8635e53b8f5eb993e11ad
anomaly/ucr/031_UCR_Anomaly_DISTORTEDInternalBleeding20_2700_5759_5919.txt	135000	eaf66fa6fd05cd9f0cc8060ecc1aeb4896304675edc71a9194241e915604a609
anomaly/ucr/032_UCR_Anomaly_DISTORTEDInternalBleeding4_1000_4675_5033.txt	131778	90bb58ed2d8c100486d6ab744eb385960583f882a0c185cdd86ba81a588a278e
anomaly/ucr/033_UCR_Anomaly_DISTORTEDInternalBleeding5_4000_6200_6370.txt	133470	c36ef2b78f91e35bb5101b7e853d35bed473f06b4d37c06db28cad4aa3d279f9
anomaly/ucr/034_UCR_Anomaly_DISTORTEDInternalBleeding6_1500_3474_3629.txt	137772	08e75edd22f5dde2288f62d9905fca368158ca30365b812673756c91062615b8
anomaly/ucr/035_UCR_Anomaly_DISTORTEDInternalBleeding8_2500_5865_5974.txt	135018	16ccd3d315befe99a2719b617bd7cbfb21dd63001f1b42f4a0f457ca8df88360
anomaly/ucr/036_UCR_Anomaly_DISTORTEDInternalBleeding9_4200_6599_6681.txt	135018	a73d21afafbf10fd8ea0ccdcd2f150947bb7b253eed282aff43566869889854f
anomaly/ucr/038_UCR_Anomaly_DISTORTEDLab2Cmac011215EPG2_5000_27862_27932.txt	539100	fce7b5c43f1ddf676397a7e23c5ec6edb0e90deb0bd34bb4be12eb531354fdf9
anomaly/ucr/039_UCR_Anomaly_DISTORTEDLab2Cmac011215EPG3_5000_16390_16420.txt	539100	bf8a6bb5243eec8cc4712030872a156337f61094dc70f3f0fcdf30425292318c
anomaly/ucr/041_UCR_Anomaly_DISTORTEDLab2Cmac011215EPG5_7000_17390_17520.txt	536868	727b4ca43ea0c7562b03592738b10830e819b2567cc92bcabde8d1b5b70f33de
anomaly/ucr/042_UCR_Anomaly_DISTORTEDLab2Cmac011215EPG6_7000_12190_12420.txt	537462	3eb98c85f8e2b3063900ecec683fcc63e3f2b66529f9cc768c423d8ea45b2886
anomaly/ucr/043_UCR_Anomaly_DISTORTEDMesoplodonDensirostris_10000_19280_19440.txt	444006	241271e6b255d97184928478470632deaa4525a0bd005f4f4f2b87ed4860b103
anomaly/ucr/044_UCR_Anomaly_DISTORTEDPowerDemand1_9000_18485_18821.txt	538758	a7ca3d07ad8d56e274197c5f617da49fb0176c438add92d58a1a97aaf0d8280d
anomaly/ucr/045_UCR_Anomaly_DISTORTEDPowerDemand2_14000_23357_23717.txt	538758	39e72cdcd0c18022f06012b49020bdc01bb0424a12a78f6fb1eeee7c4ff65e9e
anomaly/ucr/046_UCR_Anomaly_DISTORTEDPowerDemand3_16000_23405_23477.txt	538758	9810ba6b50d7d589b6d4c170bdf4b4d53f18ef8a1ecb41bd5f5cf4b0c00c0962
anomaly/ucr/047_UCR_Anomaly_DISTORTEDPowerDemand4_18000_24005_24077.txt	538758	39394bdf1b84658899f86f6062838ecdba404c63c612b9d807fc573752e1aff6
anomaly/ucr/048_UCR_Anomaly_DISTORTEDTkeepFifthMARS_3500_5988_6085.txt	204012	a93a5fa9a5c95f1a3e975f1bbc7cf8f6adac879b6d95d7605337b8e38798ae7e
anomaly/ucr/049_UCR_Anomaly_DISTORTEDTkeepFirstMARS_3500_5365_5380.txt	205308	b8c044c35a05bb686bd6062c4b36df2e866026d3ae549a5c7869bb980ada0b5f
anomaly/ucr/050_UCR_Anomaly_DISTORTEDTkeepForthMARS_3500_5988_6085.txt	203544	b1013e448307799d8973b4e9596398332e3b85215cafb13cc8a1711b7cedd583
anomaly/ucr/051_UCR_Anomaly_DISTORTEDTkeepSecondMARS_3500_9330_9340.txt	204984	58196dccc482e44ce36dddc5cc59f04c63bb4b8effad8ce9f85681e8bd8b8b1f
anomaly/ucr/052_UCR_Anomaly_DISTORTEDTkeepThirdMARS_3500_4711_4809.txt	203544	cf4119f581310a6afadd01ef53dada8bbe197d56a8ed8fdece19eae106e1648d
anomaly/ucr/053_UCR_Anomaly_DISTORTEDWalkingAceleration1_1500_2764_2995.txt	120312	fb9d208282ac882717053f3865ebf0e721964f61a63e9e7d0ca45990bffc8f64
anomaly/ucr/054_UCR_Anomaly_DISTORTEDWalkingAceleration5_2700_5920_5979.txt	120312	552c90f7228d92b7c3d6b86bcd1b754617131df814e24d88e5f8f5fdfb4f58a7
anomaly/ucr/065_UCR_Anomaly_DISTORTEDinsectEPG1_3000_7000_7030.txt	180018	8a7441fde208ec79fa41fb5c0c05df3b531792fee8ab359440c4404b4c5fc8fc
anomaly/ucr/066_UCR_Anomaly_DISTORTEDinsectEPG2_3700_8000_8025.txt	179964	ad103a4f8a0f30f07dd022dc8753a71a60a0ac9609a6523edb6468043a8e2605
anomaly/ucr/067_UCR_Anomaly_DISTORTEDinsectEPG3_5200_7000_7050.txt	179964	523f307c81aad1e40a91a0d7f2569f381ddba412f2b397226b44905d1078aa86
anomaly/ucr/068_UCR_Anomaly_DISTORTEDinsectEPG4_1300_6508_6558.txt	179964	7cd52f1ab6af8aeef1fdaf208607d36350ddf4ccc065cf3c9874d61629ffe62c
anomaly/ucr/069_UCR_Anomaly_DISTORTEDinsectEPG5_3200_8500_8501.txt	180504	f987bbe39e02265c3bbf6ebc0eed2b4e9cd39e7eb4a1bf9340313715580efdaf
anomaly/ucr/075_UCR_Anomaly_DISTORTEDqtdbSel100MLII_4000_13400_13800.txt	540000	8b963d85f6b0c1216905e96d786c8cf88574ee65e03493383a5cfbbf5b478ba8
anomaly/ucr/094_UCR_Anomaly_NOISEBIDMC1_2500_5400_5600.txt	198000	4c304300bb128007891d08cb0777cd0d863f2284aa6347e78be3f88d028732fc
anomaly/ucr/095_UCR_Anomaly_NOISECIMIS44AirTemperature4_4000_5549_5597.txt	147312	01f3d58b115c0b55361d99c1456f402a379da3d4b09d7a8996a2c011ed1b5312
anomaly/ucr/096_UCR_Anomaly_NOISEECG4_5000_16900_17100.txt	540000	5b723c125d9e1d1c01c0ed1847e6b1e12d3cabeb934ea57db41b93a795a1314d
anomaly/ucr/097_UCR_Anomaly_NOISEGP711MarkerLFM5z3_5000_5948_5993.txt	216000	2adb060a70f5c070439392b00bd310342ec09b8f41def9913994c2bc1eece163
anomaly/ucr/098_UCR_Anomaly_NOISEInternalBleeding16_1200_4187_4199.txt	135018	06f923ba22247e602ba40b2b4e616d39b02f37beea50a3a94e4081c814734c75
anomaly/ucr/099_UCR_Anomaly_NOISEInternalBleeding6_1500_3474_3629.txt	137772	996063dd0fd67c79cce0b49f80a61e3f67bbb50e00ec437e2ffdb23114f956ea
anomaly/ucr/102_UCR_Anomaly_NOISEMesoplodonDensirostris_10000_19280_19440.txt	444006	72c78e33f07dfa6f9c83096fcc3c4d2d7002bdb50293fc57f371841dccb50c93
anomaly/ucr/103_UCR_Anomaly_NOISETkeepThirdMARS_3500_4711_4809.txt	203544	de1205fb960a0126f9450661e6cf91b708d5e5c24b3f6c91282d2acc49eb8a75
anomaly/ucr/107_UCR_Anomaly_NOISEinsectEPG3_5200_7000_7050.txt	179964	8d36127e154d71d9738e61432f3ae54dd571563dcded23798ab71276ab1756f7
anomaly/ucr/112_UCR_Anomaly_BIDMC1_2500_5400_5600.txt	198000	e96e3b8c49967eadae8336ba2969982c9fa6b6467324cf2b9d51e100d9e1603f
anomaly/ucr/113_UCR_Anomaly_CIMIS44AirTemperature1_4000_5391_5392.txt	147312	e1dd9e26e6e7156aa3616aa44123061064e9ef3a8ea32b05e7d328fce1caa0ed
anomaly/ucr/114_UCR_Anomaly_CIMIS44AirTemperature2_4000_5703_5727.txt	147312	5918c56c99ebc6a7f13b99a7af2c5257f1b72e306738c1b91a98838612a11e84
anomaly/ucr/115_UCR_Anomaly_CIMIS44AirTemperature3_4000_6520_6544.txt	147312	2dc0f651cb8ecfe269153b096f56f1861040f4c4b9c8a2b81a7b91090eedfb1b
anomaly/ucr/116_UCR_Anomaly_CIMIS44AirTemperature4_4000_5549_5597.txt	147312	ffa32034a6d7c84b96f9c140d0fa78ab467802b3c1595fa60c654b685b41f3c3
anomaly/ucr/117_UCR_Anomaly_CIMIS44AirTemperature5_4000_4852_4900.txt	147312	0a093996e7aaeddebde1e84c33282fe27473bf702b403a83615cbf7a178b1a45
anomaly/ucr/118_UCR_Anomaly_CIMIS44AirTemperature6_4000_6006_6054.txt	147312	8915825b8b9aa0b58d745aa6846caeade733b6681b72b8c165735a744152e8cf
anomaly/ucr/119_UCR_Anomaly_ECG1_10000_11800_12100.txt	540000	f490ab448e710fe3e3796ca87ae00d41eb0ccc8fd3e01782c7d68cb2f09f9192
anomaly/ucr/120_UCR_Anomaly_ECG2_15000_16000_16100.txt	540000	c58e4e6be1c53f3072ec1811baeb4c3b5b21d110b99f04c5077713b2b48799c9
anomaly/ucr/121_UCR_Anomaly_ECG3_15000_16000_16100.txt	540000	130c63881719993c18d634f8401464cf3dc636406d62a44104e0a36683c02ec4
anomaly/ucr/122_UCR_Anomaly_ECG3_8000_17000_17100.txt	540000	254dd4d8ea4f3837449046d3cc5e7da58456225c5ec981727770820985a593fd
anomaly/ucr/124_UCR_Anomaly_ECG4_5000_16900_17100.txt	540000	0e80e85e94cb39bc27a689e4db6f353935398bb4233baa2f945b88ba8322d03e
anomaly/ucr/125_UCR_Anomaly_ECG4_5000_17000_17100.txt	540000	60c49df33044840b033e3cfd48b14c6b5a6a2d764450417d52aa49b175ef48be
"""

SPEC = register_family(
    FamilySpec(
        name="anomaly/ucr",
        pattern="anomaly/ucr/<NNN> (3-digit id)",
        task="anomaly",
        key_re=r"\d{1,3}",
        paths=_paths,
        scan=_scan,
        read=_read,
        locate=_locate,
        canonical=lambda key: key.zfill(3),
        key_of_path=_key_of_path,
        bundled=Bundled(
            tuple(BUNDLED), lambda key: aeon_pair(*BUNDLED[key], "csv"), AEON_SOURCE, _read_csv_pair
        ),
        manifest=parse_manifest(_MANIFEST),
        source=_source,
    )
)
