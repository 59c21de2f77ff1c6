"""The repository's own promises: README in step with index.ipynb, CI wired to the README, workflows valid, packaging sane."""
import configparser, re, subprocess, sys
from pathlib import Path
import yaml
from conftest import ROOT

sys.path.insert(0, str(ROOT/'tools'))
from make_readme import readme_text

def cfg(): 
    c = configparser.ConfigParser(delimiters=['=']); c.read(ROOT/'settings.ini'); return c['DEFAULT']

def commands(text):
    "The `make` commands in the first sh block of a Markdown text."
    block = re.search(r"```sh\n(.*?)```", text, re.S).group(1)
    return [l.split('#')[0].strip() for l in block.splitlines() if l.strip()]

def test_readme_is_generated_from_index():
    assert (ROOT/'README.md').read_text() == readme_text(), "README.md is out of step with nbs/index.ipynb: run `make readme`"

def test_readme_starts_with_the_two_commands():
    readme = (ROOT/'README.md').read_text()
    index = '\n'.join(''.join(c['source']) for c in __import__('json').loads((ROOT/'nbs'/'index.ipynb').read_text())['cells'] if c['cell_type'] == 'markdown')
    assert commands(readme) == commands(index) == ['make train', 'make test']
    body = readme.split('\n```sh\n')[0]  # before the commands: only the title and the one-line summary
    assert [l for l in body.splitlines() if l.strip() and not l.startswith(('# ', '> '))] == []
    targets = re.findall(r'^([\w-]+):', (ROOT/'Makefile').read_text(), re.M)
    assert 'train' in targets and 'test' in targets

def test_ci_runs_make_test():
    run = (ROOT/'.ci'/'run').read_text()
    assert re.search(r'^make test$', run, re.M) and 'LENET5_DATA' in run and '../shared/data' in run

def test_workflows_parse():
    test = yaml.safe_load((ROOT/'.github/workflows/test.yaml').read_text())
    deploy = yaml.safe_load((ROOT/'.github/workflows/deploy.yaml').read_text())
    for wf in (test, deploy):
        assert (True in wf or 'on' in wf) and wf['jobs']  # PyYAML reads the `on` key as True
        for job in wf['jobs'].values():
            assert job['runs-on'] and job['steps']
            for step in job['steps']: assert ('uses' in step) != ('run' in step), step
    job = test['jobs']['test']
    assert set(job['strategy']['matrix']['os']) == {'ubuntu-latest', 'macos-latest'}
    runs = ' '.join(s.get('run', '') for s in job['steps'])
    for target in ('make drift', 'make test-nbs', 'make docs-proc', 'make pytest'): assert target in runs
    assert any('actions/cache' in s.get('uses', '') for s in job['steps'])
    steps = deploy['jobs']['deploy']['steps']
    assert any('quarto-actions/setup' in s.get('uses', '') for s in steps)
    assert any(s.get('run', '').strip() == 'nbdev_docs' for s in steps)
    assert any(s.get('with', {}).get('publish_dir') == './docs' for s in steps)

def test_packaging():
    c = cfg()
    dev = c['dev_requirements'].split()
    for pin in ('nbdev==2.4.14', 'execnb==0.1.18', 'fastcore==1.14.5'): assert pin in dev
    assert c['doc_path'] == 'docs' and set(c['tst_flags'].split()) == {'slow', 'cuda', 'record'}
    assert set(c['console_scripts'].split()) >= {'lenet5_train=lenet5_nbdev.cli:lenet5_train', 'lenet5_bench=lenet5_nbdev.cli:lenet5_bench'}
    assert 'pkg_resources' not in (ROOT/'setup.py').read_text()
    ignored = subprocess.run(['git', 'check-ignore', 'docs/index.html', '.venv/x', '_proc/x'], cwd=ROOT, capture_output=True, text=True)
    assert ignored.stdout.split() == ['docs/index.html', '.venv/x', '_proc/x']

def test_import():
    from lenet5_nbdev.model import LeNet5
    import lenet5_nbdev
    assert lenet5_nbdev.__version__ == cfg()['version']
    assert sum(p.numel() for p in LeNet5().parameters()) == 61_706
