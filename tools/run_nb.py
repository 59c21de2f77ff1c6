"""Execute notebooks in place so that their stored outputs come from a real run (the docs render them).

    python tools/run_nb.py nbs/05_train.ipynb [--skip cuda] [--skip-containing TEXT ...]

Every cell runs, `slow` ones included, except those carrying a flag given with --skip (by default `cuda`
when no GPU is visible) and those whose source contains a --skip-containing text (to rerun part of a
notebook's long runs; the skipped cells keep their stored outputs). Run `nbdev_clean` afterwards (`make test` fails on uncleaned notebooks).
"""
import argparse, os, sys, time
from pathlib import Path
from execnb.nbio import read_nb, write_nb
from execnb.shell import CaptureShell
from nbdev.process import extract_directives

def run(path, skip, skip_containing=()):
    path = Path(path).resolve()
    nb = read_nb(path)
    def _skip(cell):
        if cell.cell_type != 'code': return True
        if 'nbdev_export(' in cell.source or any(t in cell.source for t in skip_containing): return True
        return bool(set(skip) & set(extract_directives(cell, remove=False)))
    shell = CaptureShell(path)
    start, cwd = time.time(), os.getcwd()
    os.chdir(path.parent)
    try: shell.run_all(nb, exc_stop=True, preproc=_skip)
    finally: os.chdir(cwd)
    write_nb(nb, path)
    print(f"{path.name}: ran in {time.time()-start:.0f}s")

if __name__ == '__main__':
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('notebooks', nargs='+')
    p.add_argument('--skip', nargs='*', default=None, help="flags whose cells are skipped (default: cuda when no GPU)")
    p.add_argument('--skip-containing', nargs='*', default=[], help="skip the code cells whose source contains any of these texts")
    a = p.parse_args()
    if a.skip is None:
        import torch
        a.skip = [] if torch.cuda.is_available() else ['cuda']
    for nb in a.notebooks: run(nb, a.skip, a.skip_containing)
