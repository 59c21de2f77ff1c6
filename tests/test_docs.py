"""Every exported public function and class has a docstring, documented parameters, and a place in the rendered docs (tools/site.py checks that)."""
import dataclasses, importlib, inspect, json, re
from collections import Counter
from pathlib import Path
import pytest
from fastcore.docments import docments
from conftest import ROOT

DEFAULT_EXP = re.compile(r'^#\s*\|\s*default_exp\s+(\S+)', re.M)

def default_exp(nb):
    "The module notebook `nb` exports to (its `#| default_exp` cell), or None: a page of the site, exporting nothing."
    cells = json.loads(nb.read_text())['cells']
    found = [m[1] for c in cells if c['cell_type'] == 'code' and (m := DEFAULT_EXP.search(''.join(c['source'])))]
    return found[0] if found else None

MODULES = {nb.stem: default_exp(nb) for nb in sorted((ROOT/'nbs').glob('[0-9][0-9]_*.ipynb'))}
EXPORTED = {nb: mod for nb, mod in MODULES.items() if mod}

def public(mod):
    m = importlib.import_module(f'lenet5_nbdev.{mod}')
    objs = [(n, getattr(m, n)) for n in m.__all__ if not n.startswith('_')]
    return [(n, o) for n, o in objs if inspect.isfunction(inspect.unwrap(o)) or inspect.isclass(o)]

def test_every_notebook_has_a_module():
    "Every module of the package comes from exactly one notebook, and every notebook's module exists."
    lib = ROOT/'lenet5_nbdev'
    files = {'.'.join(p.relative_to(lib).with_suffix('').parts) for p in lib.rglob('*.py') if p.name not in ('__init__.py', '_modidx.py')}
    made = Counter(EXPORTED.values())
    assert files == set(made), (f"modules that no notebook exports: {sorted(files - set(made))}; "
                                f"notebooks' default_exp modules missing from lenet5_nbdev/: {sorted(set(made) - files)}")
    twice = [m for m, n in made.items() if n > 1]
    assert not twice, f"modules exported by more than one notebook: {twice}"

@pytest.mark.parametrize('nb,mod', EXPORTED.items())
def test_documented(nb, mod):
    for name, obj in public(mod):
        f = inspect.unwrap(obj)
        assert (inspect.getdoc(f) or '').strip(), f"{mod}.{name} has no docstring"
        if isinstance(f, type) and (f.__init__ is object.__init__ or issubclass(f, BaseException)): continue
        target = f if dataclasses.is_dataclass(f) else f.__init__ if isinstance(f, type) else f  # docments reads a dataclass's field comments
        params = [p for p in inspect.signature(target).parameters.values()
                  if p.name not in ('self', 'cls') and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)]
        docs = docments(target)
        undocumented = [p.name for p in params if not docs.get(p.name)]
        assert not undocumented, f"{mod}.{name}: parameters without a `# comment`: {undocumented}"

@pytest.mark.parametrize('nb,mod', EXPORTED.items())
def test_docstrings_scan(nb, mod):
    "The first line of every public docstring (functions, classes, their public methods) fits in 80 characters."
    long = []
    for name, obj in public(mod):
        members = [(name, inspect.unwrap(obj))]
        if inspect.isclass(obj): members += [(f"{name}.{k}", v) for k, v in vars(obj).items() if not k.startswith('_') and callable(v)]
        for n, f in members:
            first = (inspect.getdoc(f) or '').splitlines()[:1]
            if first and len(first[0]) > 80: long.append(f"{n} ({len(first[0])})")
    assert not long, f"{mod}: docstrings whose first line is over 80 characters: {long}"

def test_notebook_size():
    "One idea per notebook: none has more than 50 cells."
    big = {nb.name: n for nb in (ROOT/'nbs').glob('*.ipynb') if (n := len(json.loads(nb.read_text())['cells'])) > 50}
    assert not big, big

def test_no_cell_mixes_imports_and_code():
    "nbdev_proc_nbs executes every cell that imports something: such cells must hold imports only (or be exported)."
    import ast
    for nb in sorted((ROOT/'nbs').glob('*.ipynb')):
        for i, c in enumerate(json.loads(nb.read_text())['cells']):
            src = ''.join(c['source'])
            if c['cell_type'] != 'code' or '#| export' in src or 'nbdev_export()' in src: continue
            tree = ast.parse('\n'.join(l for l in src.splitlines() if not l.startswith(('%', '!'))))
            if any(isinstance(n, (ast.Import, ast.ImportFrom)) for n in ast.walk(tree)):
                assert all(isinstance(n, (ast.Import, ast.ImportFrom)) for n in tree.body), f"{nb.name} cell {i} mixes imports and code:\n{src[:300]}"
