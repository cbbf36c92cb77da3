"""Copy the front-end assets the pages use from node_modules (``npm ci``) into static/vendor.

Run by ``make vendor`` after changing package.json; the copies are committed, so that running
the marketplace never needs Node. Only what the pages load is copied: Pico CSS (green theme)
and the Sarabun font's Thai and Latin subsets, each with its licence.
"""

import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules"
VENDOR = ROOT / "static" / "vendor"
WEIGHTS = (400, 600, 700)
SUBSETS = ("thai", "latin")


def copy(source, target):
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def main():
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    pico = MODULES / "@picocss" / "pico"
    copy(pico / "css" / "pico.green.min.css", VENDOR / "pico" / "pico.green.min.css")
    copy(pico / "LICENSE.md", VENDOR / "pico" / "LICENSE.md")
    sarabun = MODULES / "@fontsource" / "sarabun"
    for subset in SUBSETS:
        for weight in WEIGHTS:
            name = f"sarabun-{subset}-{weight}-normal.woff2"
            copy(sarabun / "files" / name, VENDOR / "sarabun" / name)
    copy(sarabun / "LICENSE", VENDOR / "sarabun" / "LICENSE")
    print(f"copied into {VENDOR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
