"""The repository's own promises: README in step with index.ipynb, workflows valid and running `make test`, packaging sane."""
import configparser, re, subprocess, sys
from pathlib import Path
import yaml
from conftest import ROOT


def cfg(): 
    c = configparser.ConfigParser(delimiters=['=']); c.read(ROOT/'settings.ini'); return c['DEFAULT']

def commands(text):
    "The `make` commands in the first sh block of a Markdown text."
    block = re.search(r"``` ?sh\n(.*?)```", text, re.S).group(1)
    return [l.split('#')[0].strip() for l in block.splitlines() if l.strip()]

def test_readme_starts_with_the_two_commands():
    readme = (ROOT/'README.md').read_text()
    index = '\n'.join(''.join(c['source']) for c in __import__('json').loads((ROOT/'nbs'/'index.ipynb').read_text())['cells'] if c['cell_type'] == 'markdown')
    assert commands(readme) == commands(index) == ['make train', 'make test']
    body = readme.split('\n``` sh\n')[0] if '\n``` sh\n' in readme else readme.split('\n```sh\n')[0]
    assert '\n## ' not in body and len(body) < 600, "the two commands come right after the title and the summary"
    targets = re.findall(r'^([\w-]+):', (ROOT/'Makefile').read_text(), re.M)
    assert {'train', 'test'} <= set(targets), f"the Makefile lacks the README's targets: {targets}"

def test_workflows_parse():
    "Every workflow is valid YAML with jobs whose steps each `uses` an action or `run`s a command; one step runs `make test`."
    steps = []
    for path in sorted((ROOT/'.github/workflows').glob('*.y*ml')):
        wf = yaml.safe_load(path.read_text())
        assert (True in wf or 'on' in wf) and wf.get('jobs'), f"{path.name}: no trigger or no jobs"  # PyYAML reads `on` as True
        for name, job in wf['jobs'].items():
            assert job.get('runs-on') and job.get('steps'), f"{path.name}: job {name} has no runner or no steps"
            for step in job['steps']: assert ('uses' in step) != ('run' in step), f"{path.name}: {step} needs one of uses/run"
            steps += job['steps']
    assert any(s.get('run', '').strip() == 'make test' for s in steps), "no workflow step runs `make test`"

def test_docs_committed():
    "docs/ is tracked (not ignored), with the versions that rendered it."
    ignored = subprocess.run(['git', 'check-ignore', '-q', 'docs/index.html'], cwd=ROOT).returncode == 0
    assert not ignored, "docs/ is git-ignored: the rendered site must be committed"
    assert (ROOT/'docs'/'index.html').is_file() and (ROOT/'tools'/'site_versions.json').is_file(), "docs/index.html or tools/site_versions.json missing"
    assert not (ROOT/'docs'/'README.md').exists(), "docs/README.md found: docs/ holds the rendered site only"

def test_packaging():
    c = cfg()
    dev = c['dev_requirements'].split()
    for pin in ('nbdev==2.4.14', 'execnb==0.1.18', 'fastcore==1.14.5'): assert pin in dev
    assert c['doc_path'] == 'docs' and set(c['tst_flags'].split()) == {'slow', 'cuda', 'record'}
    assert set(c['console_scripts'].split()) >= {'lenet5_train=lenet5_nbdev.cli:lenet5_train', 'lenet5_bench=lenet5_nbdev.cli:lenet5_bench'}
    assert 'pkg_resources' not in (ROOT/'setup.py').read_text()
    ignored = subprocess.run(['git', 'check-ignore', 'docs/index.html', '.venv/x', '_proc/x', 'node_modules/x'], cwd=ROOT, capture_output=True, text=True)
    assert ignored.stdout.split() == ['.venv/x', '_proc/x', 'node_modules/x']

def test_import():
    from lenet5_nbdev.model import LeNet5
    import lenet5_nbdev
    assert lenet5_nbdev.__version__ == cfg()['version']
    assert sum(p.numel() for p in LeNet5().parameters()) == 61_706
