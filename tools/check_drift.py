"""Fail when `nbdev_export` or `nbdev_clean` would change a file: notebooks are the source of truth. Runs them on a copy: writes nothing here."""
import filecmp, shutil, subprocess, sys, tempfile
from pathlib import Path

root = Path(__file__).resolve().parent.parent
bin_dir = Path(sys.executable).parent
NBDEV_READS = ['settings.ini', 'pyproject.toml', 'setup.py', 'nbs', 'lenet5_nbdev']  # its config, the notebooks, the modules it rewrites
SKIP = ('__pycache__', '.ipynb_checkpoints')

def sources(top):
    "The notebooks and modules in `top`'s nbs/ and lenet5_nbdev/, relative to `top`."
    files = {p.relative_to(top) for d in ('nbs', 'lenet5_nbdev') for p in (top/d).rglob('*') if p.suffix in ('.ipynb', '.py') and p.is_file()}
    return {p for p in files if not set(SKIP) & set(p.parts)}

def copy(dest):
    "Copy what nbdev reads and writes into `dest`."
    for name in NBDEV_READS:
        if (root/name).is_dir(): shutil.copytree(root/name, dest/name, ignore=shutil.ignore_patterns(*SKIP))
        elif (root/name).exists(): shutil.copy2(root/name, dest/name)

with tempfile.TemporaryDirectory() as tmp:
    tmp = Path(tmp)
    copy(tmp)
    for cmd in ('nbdev_export', 'nbdev_clean'): subprocess.run([str(bin_dir/cmd)], cwd=tmp, check=True)
    before, after = sources(root), sources(tmp)
    changed = sorted(str(k) for k in before | after if k not in (before & after) or not filecmp.cmp(root/k, tmp/k, shallow=False))
if changed:
    print("Drift: nbdev_export / nbdev_clean would change these files (checked on a copy; nothing here was rewritten):", file=sys.stderr)
    for k in changed: print(f"  {k}", file=sys.stderr)
    print("Run `nbdev_export && nbdev_clean`, review the changes and commit them.", file=sys.stderr)
    sys.exit(1)
print(f"No drift: nbdev_export and nbdev_clean leave {len(before)} files unchanged.")
