"""The repository's own promises: README in step with index.ipynb, CI wired to the README, workflows valid, packaging sane."""
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
    assert 'train' in targets and 'test' in targets

def test_ci_runs_make_test():
    run = (ROOT/'.ci'/'run').read_text()
    assert re.search(r'^make test$', run, re.M) and 'LENET5_DATA' in run and '../shared/data' in run

def test_ci_is_strict_and_brings_quarto():
    run = (ROOT/'.ci'/'run').read_text()
    assert re.search(r'^export LENET5_STRICT=1$', run, re.M) and 'shared/tools/quarto/install.sh' in run
    assert 'make test' in re.findall(r'^\s*(make \w+)', run, re.M) and 'CI=' not in run

def test_workflows_parse():
    "One workflow: make test with Quarto (the site is committed in docs/; GitHub Pages serves main:/docs, no deploy workflow)."
    assert sorted(p.name for p in (ROOT/'.github/workflows').iterdir()) == ['test.yaml']
    test = yaml.safe_load((ROOT/'.github/workflows/test.yaml').read_text())
    assert (True in test or 'on' in test) and test['jobs']  # PyYAML reads the `on` key as True
    for job in test['jobs'].values():
        assert job['runs-on'] and job['steps']
        for step in job['steps']: assert ('uses' in step) != ('run' in step), step
    job = test['jobs']['test']
    assert set(job['strategy']['matrix']['os']) == {'ubuntu-latest', 'macos-latest'} and "'ubuntu-latest' && '1'" in job['env']['LENET5_STRICT']
    assert any(s.get('run', '').strip() == 'make test' for s in job['steps'])
    assert any('quarto-actions/setup' in s.get('uses', '') for s in job['steps'])
    assert any('actions/cache' in s.get('uses', '') for s in job['steps'])

def test_docs_committed():
    "docs/ is tracked (not ignored), with the versions that rendered it."
    ignored = subprocess.run(['git', 'check-ignore', '-q', 'docs/index.html'], cwd=ROOT).returncode == 0
    assert not ignored and (ROOT/'docs'/'index.html').is_file() and (ROOT/'tools'/'site_versions.json').is_file()
    assert not (ROOT/'docs'/'README.md').exists()

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
