"""Copy the front-end assets the pages use from node_modules (``npm ci``) into static/vendor.

Run by ``make vendor`` after changing package.json; the copies are committed, so that running
the marketplace never needs Node. Only what the pages load is copied: Pico CSS (green theme)
and the Sarabun font's Thai and Latin subsets, each with its licence. Pico draws its form
icons (checkbox tick, select chevron, search glass…) as ``data:`` URLs, which the site's
Content-Security-Policy (img-src 'self') refuses: they are written out as SVG files, which
static/css/site.css points Pico's ``--pico-icon-*`` variables at.
"""

import re
import shutil
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MODULES = ROOT / "node_modules"
VENDOR = ROOT / "static" / "vendor"
WEIGHTS = (400, 600, 700)
SUBSETS = ("thai", "latin")


def copy(source, target):
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)


def icons(css, folder):
    """Each ``--pico-icon-NAME: url("data:image/svg+xml,…")`` of ``css`` as NAME.svg (the
    last definition of a name: the light theme's)."""
    folder.mkdir(parents=True, exist_ok=True)
    pattern = r'--pico-icon-([a-z-]+):url\("data:image/svg\+xml,([^"]*)"\)'
    found = re.findall(pattern, css.read_text())
    for name, encoded in found:
        (folder / f"{name}.svg").write_text(urllib.parse.unquote(encoded))


def main():
    if VENDOR.exists():
        shutil.rmtree(VENDOR)
    pico = MODULES / "@picocss" / "pico"
    copy(pico / "css" / "pico.green.min.css", VENDOR / "pico" / "pico.green.min.css")
    copy(pico / "LICENSE.md", VENDOR / "pico" / "LICENSE.md")
    icons(VENDOR / "pico" / "pico.green.min.css", VENDOR / "pico" / "icons")
    sarabun = MODULES / "@fontsource" / "sarabun"
    for subset in SUBSETS:
        for weight in WEIGHTS:
            name = f"sarabun-{subset}-{weight}-normal.woff2"
            copy(sarabun / "files" / name, VENDOR / "sarabun" / name)
    copy(sarabun / "LICENSE", VENDOR / "sarabun" / "LICENSE")
    print(f"copied into {VENDOR.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
