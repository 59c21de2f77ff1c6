"""Fail when `nbdev_export` or `nbdev_clean` would change a file: notebooks are the source of truth."""
import hashlib, subprocess, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
bin_dir = Path(sys.executable).parent

def snapshot():
    files = [p for d in ('nbs', 'lenet5_nbdev') for p in (root/d).rglob('*')
             if p.is_file() and p.suffix in ('.ipynb', '.py') and '.ipynb_checkpoints' not in p.parts
             and '__pycache__' not in p.parts]
    return {str(p.relative_to(root)): hashlib.md5(p.read_bytes()).hexdigest() for p in files}

before = snapshot()
for cmd in ('nbdev_export', 'nbdev_clean'):
    subprocess.run([str(bin_dir/cmd)], cwd=root, check=True)
after = snapshot()
changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
if changed:
    print("Drift: nbdev_export / nbdev_clean changed these files (now rewritten; review and commit them):", file=sys.stderr)
    for k in changed: print(f"  {k}", file=sys.stderr)
    sys.exit(1)
print(f"No drift: nbdev_export and nbdev_clean leave {len(after)} files unchanged.")
