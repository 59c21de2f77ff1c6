"""Copy the onnxruntime-web files that the demo page (nbs/21_demo.ipynb) needs into a rendered site.

    python tools/demo_assets.py docs      # after nbdev_docs: docs/demo/ort/ gets the runtime

Only the WebAssembly backend's three files are copied (about 14 MB), from node_modules/ (`npm ci` installs
onnxruntime-web at the version package.json pins), so the page loads nothing from a CDN.
"""
import shutil, sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DIST = ROOT/'node_modules'/'onnxruntime-web'/'dist'
FILES = ('ort.wasm.min.mjs', 'ort-wasm-simd-threaded.mjs', 'ort-wasm-simd-threaded.wasm')  # what demo.js loads

def copy_assets(docs:Path) -> Path:
    "Copy FILES into `docs`/demo/ort/ and return that folder."
    missing = [f for f in FILES if not (DIST/f).is_file()]
    if missing: sys.exit(f"demo_assets: {DIST.relative_to(ROOT)}/{missing[0]} is missing: run npm ci (in {ROOT.name}/)")
    dest = Path(docs)/'demo'/'ort'
    dest.mkdir(parents=True, exist_ok=True)
    for f in FILES: shutil.copyfile(DIST/f, dest/f)
    return dest

if __name__ == '__main__':
    if len(sys.argv) != 2: sys.exit("usage: python tools/demo_assets.py DEST_DOCS_DIR")
    dest = copy_assets(Path(sys.argv[1]))
    print(f"demo_assets: {len(FILES)} files, {sum((dest/f).stat().st_size for f in FILES)/1e6:.1f} MB in {dest}")
