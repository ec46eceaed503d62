"""Extract the clean art (one SVG per Quick, Draw! category) from pinned npm releases of two icon sets.

    python packaging/extract_art.py                 # fetch with `npm pack`, verify, extract into resources/art
    python packaging/extract_art.py --tarballs DIR  # use .tgz files already in DIR (offline)
    python packaging/extract_art.py --check         # verify resources/art matches the pinned packages

Build time only: the app never downloads anything. The hand-checked table resources/art/mapping.csv
(category, icon, name, note) says which picture shows which category; icon is "<set>-<id>", and the file
becomes resources/art/svg/<icon>.svg, byte for byte as the package ships it. Each package is pinned by
version and by the npm registry's sha512 integrity of its tarball, so a run gives the same files every time.
The script also writes each set's licence and resources/art/ATTRIBUTION.md (with the unmapped categories).
"""

from __future__ import annotations

import argparse
import base64
import csv
import hashlib
import io
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ART = ROOT / "resources" / "art"


@dataclass(frozen=True)
class IconSet:
    key: str  # the icon id prefix in mapping.csv
    title: str
    package: str
    version: str
    integrity: str  # npm's dist.integrity of the tarball
    member: str  # path of one SVG inside the tarball, {id} filled in
    license_member: str
    license_file: str  # where the licence goes under resources/art
    license_name: str
    authors: str
    homepage: str

    @property
    def tarball_name(self) -> str:
        # `npm pack @scope/name@1.2.3` writes scope-name-1.2.3.tgz
        return f"{self.package.lstrip('@').replace('/', '-')}-{self.version}.tgz"


SETS = {
    s.key: s
    for s in (
        IconSet(
            key="openmoji",
            title="OpenMoji",
            package="openmoji",
            version="17.0.0",
            integrity="sha512-EBnYrNGdcdw+OSXmENeNE1yBNRu6tOraTmoOyUbJkTmvT/+XETp8RZLSJFzD3lrPc5N9CzsyPnRTk0Vp4UaI9w==",
            member="package/color/svg/{id}.svg",
            license_member="package/LICENSE.txt",
            license_file="LICENSE-OpenMoji.txt",
            license_name="CC BY-SA 4.0 (https://creativecommons.org/licenses/by-sa/4.0/)",
            authors="the OpenMoji contributors (HfG Schwäbisch Gmünd)",
            homepage="https://openmoji.org/",
        ),
        IconSet(
            key="mdi",
            title="Material Design Icons",
            package="@mdi/svg",
            version="7.4.47",
            integrity="sha512-WQ2gDll12T9WD34fdRFgQVgO8bag3gavrAgJ0frN4phlwdJARpE6gO1YvLEMJR0KKgoc+/Ea/A0Pp11I00xBvw==",
            member="package/svg/{id}.svg",
            license_member="package/LICENSE",
            license_file="LICENSE-MaterialDesignIcons.txt",
            license_name="Apache License 2.0 (Pictogrammers Free License)",
            authors="Pictogrammers (https://pictogrammers.com/)",
            homepage="https://pictogrammers.com/library/mdi/",
        ),
    )
}


def categories() -> list[str]:
    sys.path.insert(0, str(ROOT))
    try:
        from inkling.training.categories import CATEGORIES
    except ImportError:  # a checkout without the package installed
        import importlib.util

        spec = importlib.util.spec_from_file_location("categories", ROOT / "training" / "categories.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        CATEGORIES = module.CATEGORIES
    return list(CATEGORIES)


def read_table(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    known = set(categories())
    seen: set[str] = set()
    for n, row in enumerate(rows, start=2):
        cat, icon = row["category"], row["icon"]
        if cat not in known:
            raise SystemExit(f"{path}, line {n}: {cat!r} is not a Quick, Draw! category")
        if cat in seen:
            raise SystemExit(f"{path}, line {n}: {cat!r} is mapped twice")
        seen.add(cat)
        split_icon(icon, f"{path}, line {n}")
    return rows


def split_icon(icon: str, where: str) -> tuple[IconSet, str]:
    key, _, ident = icon.partition("-")
    if key not in SETS or not ident:
        raise SystemExit(f"{where}: icon {icon!r} should be <set>-<id> with set one of {', '.join(SETS)}")
    return SETS[key], ident


def verify(data: bytes, s: IconSet, origin: str) -> None:
    algo, _, expected = s.integrity.partition("-")
    digest = base64.b64encode(hashlib.new(algo, data).digest()).decode()
    if digest != expected:
        raise SystemExit(f"{origin}: {algo} is {digest}, expected {expected} for {s.package}@{s.version}")


def fetch(s: IconSet, tarballs: Path | None, work: Path) -> bytes:
    if tarballs is not None:
        path = tarballs / s.tarball_name
        if not path.exists():
            raise SystemExit(f"{path}: missing; run `npm pack {s.package}@{s.version}` in {tarballs}")
    else:
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is not on PATH (or pass --tarballs DIR with the .tgz files)")
        subprocess.run(
            [npm, "pack", f"{s.package}@{s.version}", "--pack-destination", str(work)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
        path = work / s.tarball_name
    data = path.read_bytes()
    verify(data, s, str(path))
    return data


def members(data: bytes, names: set[str]) -> dict[str, bytes]:
    found: dict[str, bytes] = {}
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for info in tar:
            if info.name in names and info.isfile():
                found[info.name] = tar.extractfile(info).read()
    return found


def attribution(rows: list[dict[str, str]], unmapped: list[str]) -> str:
    used = {split_icon(r["icon"], "")[0].key for r in rows}
    counts = {k: sum(r["icon"].startswith(k + "-") for r in rows) for k in SETS}
    lines = [
        "# Clean art: attribution and licences",
        "",
        "The pictures in `svg/` are unmodified files from two openly licensed icon sets, extracted from",
        "pinned npm releases by `packaging/extract_art.py` according to the hand-checked table `mapping.csv`.",
        "",
    ]
    for key, s in SETS.items():
        if key not in used:
            continue
        lines += [
            f"- **{s.title}** (`{s.package}@{s.version}` on npm, {s.homepage}), by {s.authors}; licensed under",
            f"  {s.license_name}; licence text in `{s.license_file}`. {counts[key]} pictures (`{key}-*.svg`).",
        ]
    lines += [
        "",
        "OpenMoji's share-alike licence covers these SVG files (and changes to them), not the program that shows",
        "them. Inkling's own code is MIT licensed.",
        "",
        f"{len(rows)} of {len(rows) + len(unmapped)} Quick, Draw! categories have a picture. These "
        f"{len(unmapped)} have none in either set that really shows the thing; the app shows the reference "
        "doodle for them instead:",
        "",
        ", ".join(unmapped) + ".",
        "",
        "| category | file | picture in the set | note |",
        "|---|---|---|---|",
    ]
    for r in rows:
        lines.append(f"| {r['category']} | `svg/{r['icon']}.svg` | {r['name']} | {r.get('note', '')} |")
    return "\n".join(lines) + "\n"


def build(tarballs: Path | None) -> dict[str, bytes]:
    """Every file that belongs under resources/art (relative path -> bytes), from the pinned packages."""
    rows = read_table(ART / "mapping.csv")
    wanted: dict[str, dict[str, str]] = {k: {} for k in SETS}  # set -> member -> output path
    for r in rows:
        s, ident = split_icon(r["icon"], "mapping.csv")
        wanted[s.key][s.member.format(id=ident)] = f"svg/{r['icon']}.svg"
    out: dict[str, bytes] = {}
    with tempfile.TemporaryDirectory() as work:
        for key, s in SETS.items():
            if not wanted[key]:
                continue
            data = fetch(s, tarballs, Path(work))
            found = members(data, set(wanted[key]) | {s.license_member})
            missing = sorted(set(wanted[key]) - set(found))
            if missing:
                raise SystemExit(f"{s.package}@{s.version} has no {', '.join(missing)}")
            for member, dest in wanted[key].items():
                out[dest] = found[member]
            out[s.license_file] = found[s.license_member]
    mapped = {r["category"] for r in rows}
    unmapped = sorted((c for c in categories() if c not in mapped), key=str.lower)
    out["ATTRIBUTION.md"] = attribution(rows, unmapped).encode()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tarballs", type=Path, help="folder with the npm .tgz files (no npm call)")
    ap.add_argument("--check", action="store_true", help="compare resources/art with the packages")
    args = ap.parse_args(argv)
    files = build(args.tarballs)
    present = {str(p.relative_to(ART)) for p in (ART / "svg").glob("*.svg")}
    expected_svgs = {k for k in files if k.startswith("svg/")}
    if args.check:
        bad = [k for k, v in files.items() if not (ART / k).exists() or (ART / k).read_bytes() != v]
        bad += sorted(present - expected_svgs)
        for k in bad:
            print(f"extract_art: resources/art/{k} differs from the pinned packages", file=sys.stderr)
        print(f"extract_art: {len(files) - len(bad)} of {len(files)} files match")
        return 1 if bad else 0
    (ART / "svg").mkdir(parents=True, exist_ok=True)
    for stale in sorted(present - expected_svgs):
        (ART / stale).unlink()
    for rel, data in files.items():
        (ART / rel).write_bytes(data)
    size = sum(len(v) for k, v in files.items() if k.startswith("svg/"))
    print(f"extract_art: {len(expected_svgs)} SVGs ({size / 1e6:.2f} MB) and licences in {ART}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
