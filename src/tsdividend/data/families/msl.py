# ruff: noqa: E501
"""``anomaly/msl/<channel>``: NASA Mars Science Laboratory telemetry (Hundman et al., KDD 2018).

Files ``anomaly/msl/train/<channel>.npy``, ``test/<channel>.npy`` and the shared label table
``anomaly/msl/labeled_anomalies.csv``, read by :func:`~tsdividend.data.anomaly.load_msl` (train
array, then test array). Fetched from ``imperial-qore/TranAD`` (BSD-3-Clause).
"""

from __future__ import annotations

from pathlib import Path

from tsdividend.data import anomaly
from tsdividend.data.dataset import Dataset
from tsdividend.data.family import WORD, FamilySpec, parse_manifest, register_family, stems
from tsdividend.data.sources import Source

TRANAD = ("imperial-qore/TranAD", "7ffb98d0c18189cc3d9ab732b4cb0278200a0af0")
LABELS = "anomaly/msl/labeled_anomalies.csv"


def _paths(root: Path, key: str) -> list[Path]:
    msl = root / "anomaly" / "msl"
    return [msl / "train" / f"{key}.npy", msl / "test" / f"{key}.npy", root / LABELS]


def _read(name: str, key: str, files: list[Path], min_length: int, source: str) -> Dataset:
    return anomaly.load_msl(
        name, key, files[0], files[1], files[2], min_length=min_length, source=source
    )


def _key_of_path(relpath: str) -> str | None:
    parts = relpath.split("/")
    if parts[:2] == ["anomaly", "msl"] and len(parts) == 4 and parts[3].endswith(".npy"):
        return parts[3].removesuffix(".npy")
    return None


def _source(relpath: str) -> Source | None:
    if relpath.startswith("anomaly/msl/"):
        return Source(*TRANAD, "data/SMAP_MSL/" + relpath.removeprefix("anomaly/msl/"))
    return None


_MANIFEST = """\
anomaly/msl/labeled_anomalies.csv	3956	057ce2d6c8875982bf4e5404aefea14efdcbce413d80826d2b737c95b59b7539
anomaly/msl/test/C-1.npy	996288	ea8bf028555a09a45b5fd5003958c8500da46b12178c963186293db14e3c8aab
anomaly/msl/test/C-2.npy	902568	dca3a5cc07ec3899c2b9c6bc28a889d9872a670d08677065d39da1326c14c2b4
anomaly/msl/test/D-14.npy	1155128	65400342172e5a01f36c389bd85b8bedce410965e155a10cc600c3c3834d8bc7
anomaly/msl/test/D-15.npy	949648	0c5691a3fc17b87d06eb23548931ffa589a5f4bed608b6db40ac976cd5695acd
anomaly/msl/test/D-16.npy	964168	85d98f5b6223a10d5ac1c881872cd7c6b93f288236632c282093a41dbba31490
anomaly/msl/test/F-4.npy	1505808	6b9610c11604ecc64ee537533d7392b4337a0d50ef4bf9ae84783e7262fa9612
anomaly/msl/test/F-5.npy	1725808	4ab308e3835547b8144acf8df136c9895ce759b30de0851fb23eca999877036e
anomaly/msl/test/F-7.npy	2223888	8474d57429c8541ad5efd4635c8751e3d90fb1feeba3a4b94958cada77f90665
anomaly/msl/test/F-8.npy	1094408	ebb950663e30ec91e52b6b422528bc4025563506af7fea6303eeabe5b2cd674e
anomaly/msl/test/M-1.npy	1002008	58e16675dc0bada099130d02bd29279ea20c764bf3415bb5adefd626ef94dd56
anomaly/msl/test/M-2.npy	1002008	1bee2419bc4b5d9a7a71e830c1af5c98837ab31640da553f8f0d3eff9e86af49
anomaly/msl/test/M-3.npy	936008	3c43c068fddbf661c6e7cbd933f8b10adcef9cd446818a160ef7c62994fb3d3a
anomaly/msl/test/M-4.npy	896848	bac52a304556631942d5e548a4ecc1cbf3aae3409aeb5c8eaaf3126b1ae83ac2
anomaly/msl/test/M-5.npy	1013448	e4d8cf724bf78d94daae0dc66d5f1a3023545229e15ab9aa3877c267a41b57b5
anomaly/msl/test/M-6.npy	901688	4138b2b33f919eb0791b0d2f5337f605bcfc533b07ed91015bfbbcda1c08a612
anomaly/msl/test/M-7.npy	948768	28f065fa569a5073eca60f99dd2d3dc93b449ed61e53e543d36e43392fd27bf1
anomaly/msl/test/P-10.npy	2684128	2a34698f41fd1a16324f26d86a9443f3c633e7554f524e53d4773b40ca83a52a
anomaly/msl/test/P-11.npy	1555528	dad84034fd7ad1b2dd4bcbdaefc345719c2fb1b1d3a7713257c612fc995ecc44
anomaly/msl/test/P-14.npy	2684128	2a34698f41fd1a16324f26d86a9443f3c633e7554f524e53d4773b40ca83a52a
anomaly/msl/test/P-15.npy	1256768	2284348ac1fc998b5aa76c5bbfbeff977f36b17f9602b6654dc65552b50954ae
anomaly/msl/test/S-2.npy	804008	fb9651f2d378bfceef7d694cbe3cb7eafd36b8113241da247b98da53caefaeea
anomaly/msl/test/T-12.npy	1069328	6848f4f7eec6c086862e0daf766617994935e265f2cd9bf229282609c13986bf
anomaly/msl/test/T-13.npy	1069328	ebdf225ad1b21faf4c0c3013de07f1ab77cefd1329587421cfa424128b9433a6
anomaly/msl/test/T-4.npy	975608	330499f248367f9bb3eae4eadc105fa9d44bfee3913a3d4b066f9dd3c43a4156
anomaly/msl/test/T-5.npy	976048	164cc73b9f82861959f61c54828c3ac70e6ffcc005b38c84a620c125106a6041
anomaly/msl/test/T-8.npy	668488	5778979c00621904c36f09bc432b462b87623b7ebc0255dcb4829895b2359b34
anomaly/msl/test/T-9.npy	482368	4746b631cc292906c2cbc3ede7d472268f2c799bca41e13f2b0253bf016617b4
anomaly/msl/train/C-1.npy	949648	31fd0a2a44f5beac2c64e1484d5c96ea4adecdd1b52013775e215b01260975ee
anomaly/msl/train/C-2.npy	336288	5d05b47d790135de8d91ca2918d95892c3f52fbfa567fe5b637d51aaa8b91871
anomaly/msl/train/D-14.npy	1617128	1021af01d1935e16507c7696275c16cda3056997780baa8d9d72997a157fd65d
anomaly/msl/train/D-15.npy	912688	18007d3503e9109d2c89e25e37ab4b8c652030d9e03dcde4f19b9a4d0496ab51
anomaly/msl/train/D-16.npy	638568	24f5d66a9158257c5b2595686f8888e50777427772b05a16f09470bdb7b5b577
anomaly/msl/train/F-4.npy	987488	7dcf1bdd8a8b59a119b7b080a8b63a77a0a738723714402f20d9021bd4618bcb
anomaly/msl/train/F-5.npy	1143248	3c79ee702010f82388b73bd537a84383d4dc22848b4c7aa4a2a3e0d6ac94102c
anomaly/msl/train/F-7.npy	1104968	f1c908cad80a8bf6cb7117d736d1a22927522572ca7987128bc4f8419c886411
anomaly/msl/train/F-8.npy	1470608	213ce7f2d28150b2df0e600b88f0574f9aaafafbe33449fae98470b99b0a9d8b
anomaly/msl/train/M-1.npy	972088	453bfb0edbbdfd3654098a652fad3a49f07fde9242993078dbe8f1bae1751612
anomaly/msl/train/M-2.npy	971648	61b50d819aaa87f57ba8a90163c3fabf815e8c6a1f242ab60d410d5edd8f42fa
anomaly/msl/train/M-3.npy	896408	c48a3f877d939f604cad977aa259595726cbf34f0193e423285545f512c2b3f3
anomaly/msl/train/M-4.npy	913568	a21e75cebb452724be26f5ca5f463c2b86588bcac25217c4cae27d563a81b0d1
anomaly/msl/train/M-5.npy	894208	a8512b5b0edc1515539539fe93eb731bf7e2528d9322b39782bf1781f5ca66a6
anomaly/msl/train/M-6.npy	688728	681fab71a4c910ceddc519b96e00adbc31e53f485284a62cfae8de2eb5358f26
anomaly/msl/train/M-7.npy	698408	2d66222bfe39372470209a8d3e6f4aecd4e755fd18831cceb497c35e2a403405
anomaly/msl/train/P-10.npy	1895648	b537ea82e001d9eaaa611ee41e79fdcc4d5a8387fd27392e65678cc4c808a692
anomaly/msl/train/P-11.npy	1746488	f21060190cc1a10a9aa4f58b37b2a1b9af660622c4e488194afb16d7b56d08b9
anomaly/msl/train/P-14.npy	1267328	183f77aa16a596485f05bf2f79b8f40fcd707d42a640eb37306a65f4c7672aa4
anomaly/msl/train/P-15.npy	1620208	4a325d0b70aaa431f0c452472b5a30c3720b6881cd1c0bf4e7e73e821dc4c824
anomaly/msl/train/S-2.npy	407568	48844faca56f15e5a698f1c0eee114b544f3b87dcaa134b8f0327e025eeac131
anomaly/msl/train/T-12.npy	503928	cd598282ee16a9f7cbed2ae6bfbfce489cabc2ea44ddd3391dc768d7276145d0
anomaly/msl/train/T-13.npy	503928	9f3d78fa06ddf72f26fc190e11d38a253c1e2b59a4fc0bd06633b98a010a4f86
anomaly/msl/train/T-4.npy	999808	d137cceeedfd2c0759b9217ccb15cb29d7c8c0458d2d2515f84f54d5f0655c4c
anomaly/msl/train/T-5.npy	999808	dee9cf73d88fedd63896b51c627880a5693645ba641806bbcfbae294e3e30376
anomaly/msl/train/T-8.npy	329248	ce4c1d993e283f4b4d9c85922fa4e384e2aa65091a9dc74739e9c733e374c465
anomaly/msl/train/T-9.npy	193288	11052bf6842a5d8b097a30cdcba1d14ad5a2d3a4ffac4864853eef6cb7206738
"""

SPEC = register_family(
    FamilySpec(
        name="anomaly/msl",
        pattern="anomaly/msl/<channel>",
        task="anomaly",
        key_re=WORD,
        paths=_paths,
        scan=lambda root: stems(root / "anomaly" / "msl" / "train", "*.npy"),
        read=_read,
        own=2,
        key_of_path=_key_of_path,
        support=lambda key: (LABELS,),
        manifest=parse_manifest(_MANIFEST),
        source=_source,
    )
)
