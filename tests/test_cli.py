"""`lenet5_train` as a user runs it: a subprocess of the installed console script."""
import json, os, subprocess
from pathlib import Path
import pytest
from conftest import script

def run(*args, env=None, timeout=600, cmd='lenet5_train'):
    return subprocess.run([script(cmd), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})})

def test_train_one_epoch(tmp_path):
    if not os.environ.get('LENET5_DATA'): pytest.skip('LENET5_DATA is not set: no MNIST to train on')
    out = tmp_path/'new'/'run'
    r = run('--epochs', '1', '--seed', '0', '--device', 'cpu', '--out', str(out))
    assert r.returncode == 0, r.stderr
    assert 'Epoch 1/1 | train loss' in r.stdout and 'final test accuracy' in r.stdout
    assert sorted(p.name for p in out.iterdir()) == ['curves.png', 'history.json', 'model.safetensors']
    hist = json.loads((out/'history.json').read_text())
    assert [list(h) for h in hist] == [['epoch', 'train_loss', 'train_acc', 'test_loss', 'test_acc', 'seconds']]
    assert hist[0]['test_acc'] >= 0.90
    from lenet5_nbdev.model import load_weights, read_meta
    model = load_weights(out/'model.safetensors')
    meta = read_meta(out/'model.safetensors')
    assert meta['epochs'] == 1 and meta['seed'] == 0 and meta['test_acc'] == hist[0]['test_acc'] and meta['loop'] == 'fast'
    umask = os.umask(0); os.umask(umask)
    for f in out.iterdir(): assert f.stat().st_mode & 0o777 == 0o666 & ~umask, f  # the usual permissions, not mkstemp's 0600
    assert (out/'curves.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'

def test_help():
    r = run('--help')
    assert r.returncode == 0
    for opt in ('--data', '--epochs', '--seed', '--device', '--out'): assert opt in r.stdout

@pytest.mark.parametrize('args,expect', [
    (['--out', 'FILE'], 'is an existing file'),
    (['--epochs', '0', '--out', 'OUT'], '--epochs 0'),
    (['--device', 'tpu', '--out', 'OUT'], "unknown device 'tpu'"),
    (['--epochs', 'two', '--out', 'OUT'], "invalid int value: 'two'"),
    (['--loop', 'tutorial', '--channels_last', '--out', 'OUT'], 'need --loop fast'),
])
def test_bad_arguments(tmp_path, args, expect):
    f = tmp_path/'a_file'; f.write_text('x')
    r = run(*[{'FILE': str(f), 'OUT': str(tmp_path/'out')}.get(a, a) for a in args])
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert expect in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert f.read_text() == 'x' and not (tmp_path/'out').exists()

def test_missing_data(tmp_path):
    "An empty data folder and a download that cannot connect: one message naming the folder and the files, exit 2."
    closed = 'http://127.0.0.1:9'  # a proxy on a closed local port: the download fails the same way online or offline
    r = run('--data', str(tmp_path), '--out', str(tmp_path/'o'),
            env={k: closed for k in ('http_proxy', 'https_proxy', 'HTTP_PROXY', 'HTTPS_PROXY')} | {'no_proxy': '', 'NO_PROXY': ''},
            timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith('lenet5_train: error: MNIST not found') and 'Traceback' not in r.stderr, r.stderr
    assert str(tmp_path/'MNIST'/'raw') in r.stderr and 't10k-images-idx3-ubyte' in r.stderr

@pytest.mark.parametrize('args,expect', [
    (['--options', 'fp8'], '--options fp8: expected'),
    (['--epochs', '0'], '--epochs 0'),
    (['--json', 'DIR'], 'is a folder'),
    (['--json', 'DIR/missing/r.json'], 'does not exist'),
    (['--device', 'tpu'], "unknown device 'tpu'"),
])
def test_bench_bad_arguments(tmp_path, args, expect):
    r = run(*[a.replace('DIR', str(tmp_path)) for a in args], cmd='lenet5_bench')
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.startswith('lenet5_bench: error: ') and expect in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []

def test_bench_help():
    r = run('--help', cmd='lenet5_bench')
    assert r.returncode == 0 and '--json' in r.stdout and '--options' in r.stdout
