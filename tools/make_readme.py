"""Write README.md from nbs/index.ipynb (what `nbdev_readme` does, without Quarto).

    python tools/make_readme.py          # rewrite README.md
    python tools/make_readme.py --check  # exit 1 if README.md is not what index.ipynb gives

Markdown cells are copied; code cells appear as ```python blocks followed by their stored outputs
(`#| echo: false` cells: outputs only; `#| hide` cells: nothing). Links to notebooks and images, relative to
`nbs/` in the notebook, are made relative to the repository root.
"""
import json, re, sys
from pathlib import Path

root = Path(__file__).resolve().parent.parent
NOTE = "<!-- Generated from nbs/index.ipynb by tools/make_readme.py (`make readme`): edit the notebook, not this file. -->"

def _directives(src):
    return [l[3:].strip() for l in src.splitlines() if l.startswith('#|')]

def _output(o):
    if o.get('output_type') == 'stream': return f"```\n{''.join(o['text']).rstrip()}\n```"
    data = o.get('data', {})
    if 'text/markdown' in data: return ''.join(data['text/markdown']).strip()
    if 'text/plain' in data: return f"```\n{''.join(data['text/plain']).rstrip()}\n```"
    return None

def _relink(md):
    md = re.sub(r'\]\((?!https?:|#|/)([^)]+)\)', lambda m: f"](nbs/{m.group(1)})", md)
    return re.sub(r'src="(?!https?:|/)([^"]+)"', lambda m: f'src="nbs/{m.group(1)}"', md)

def readme_text(nb_path=root/'nbs'/'index.ipynb'):
    "The README.md text for the notebook at `nb_path`."
    nb = json.loads(Path(nb_path).read_text())
    parts = []
    for c in nb['cells']:
        src = ''.join(c['source'])
        if c['cell_type'] == 'markdown': parts.append(_relink(src.strip())); continue
        d = _directives(src)
        if 'hide' in d: continue
        code = '\n'.join(l for l in src.splitlines() if not l.startswith('#|')).strip()
        if 'echo: false' not in d and code: parts.append(f"```python\n{code}\n```")
        parts += [_relink(t) for t in map(_output, c.get('outputs', [])) if t]
    return '\n\n'.join(parts) + '\n\n' + NOTE + '\n'

if __name__ == '__main__':
    text, readme = readme_text(), root/'README.md'
    if '--check' in sys.argv:
        if readme.read_text() != text: sys.exit("README.md is out of step with nbs/index.ipynb: run `make readme`")
        print("README.md matches nbs/index.ipynb")
    else: readme.write_text(text); print(f"wrote {readme}")
