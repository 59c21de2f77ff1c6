"""Rename the keys of results/ files recorded before 0.2.0 to 0.2.0's names; no number changes. Idempotent.

    python tools/migrate_results.py

Only for records that cannot be re-made quickly on 2 CPU cores (`tuned`'s five 30-epoch seeds, the levers'
eight runs); `make record NB=nbs/19_recipes.ipynb` writes the new names itself. What changes:
- recipe-*-cpu.json runs: `wall_seconds` (a sum of fit's per-epoch seconds) -> `seconds`; where the recipe
  smooths labels, each history's `test_loss` (then the smoothed training loss on the test set) -> `test_loss_smoothed`;
- recipe-levers-cpu.json: `weights`, `ema999`, `ema9998`, `swa` (validation accuracies) -> `valid_acc`, `<name>_valid_acc`.
"""
import json
from pathlib import Path

RESULTS = Path(__file__).resolve().parent.parent/'results'
LEVERS = {'weights': 'valid_acc', 'ema999': 'ema999_valid_acc', 'ema9998': 'ema9998_valid_acc', 'swa': 'swa_valid_acc'}

def recipe(rec):
    smooth = rec['settings']['label_smoothing'] > 0
    for run in rec['runs']:
        if 'wall_seconds' in run: run['seconds'] = run.pop('wall_seconds')
        for h in run['history'] if smooth else []:
            if 'test_loss' in h: h['test_loss_smoothed'] = h.pop('test_loss')
    return rec

def levers(rows): return [{LEVERS.get(k, k): v for k, v in r.items()} for r in rows]

if __name__ == '__main__':
    for path, fix in [*((p, recipe) for p in sorted(RESULTS.glob('recipe-*-cpu.json')) if 'levers' not in p.name and 'trials' not in p.name),
                      (RESULTS/'recipe-levers-cpu.json', levers)]:
        if not path.exists(): continue  # the levers are now seed sweeps in results/studies/
        old = path.read_text()
        new = json.dumps(fix(json.loads(old)), indent=1) + '\n'
        if new != old: path.write_text(new); print(f"migrated {path.name}")
