"""The commands as a user runs them: subprocesses of the installed console scripts."""
import json, os, subprocess
from pathlib import Path
import pytest
from conftest import script

def run(*args, env=None, timeout=600, cmd='lenet5_train', cwd=None):
    return subprocess.run([script(cmd), *args], capture_output=True, text=True, timeout=timeout,
                          env={**os.environ, **(env or {})}, cwd=cwd)

def test_train_one_epoch(tmp_path):
    if not os.environ.get('LENET5_DATA'): pytest.skip('LENET5_DATA is not set: no MNIST to train on')
    out = tmp_path/'new'/'run'
    r = run('--epochs', '1', '--seed', '0', '--device', 'cpu', '--out', str(out))
    assert r.returncode == 0, r.stderr
    assert 'Epoch 1/1 | train loss' in r.stdout and 'final test accuracy' in r.stdout
    assert sorted(p.name for p in out.iterdir()) == ['curves.png', 'history.json', 'model.safetensors', 'resume.safetensors', 'run.json']
    hist = json.loads((out/'history.json').read_text())
    assert [list(h) for h in hist] == [['epoch', 'train_loss', 'train_acc', 'test_loss', 'test_acc', 'seconds']]
    assert hist[0]['test_acc'] >= 0.90
    from lenet5_nbdev.checkpoint import load_checkpoint
    model, meta = load_checkpoint(out/'model.safetensors')
    assert meta['epochs'] == 1 and meta['seed'] == 0 and meta['test_acc'] == hist[0]['test_acc']
    assert meta['recipe'] == 'tutorial' and meta['lr'] == 0.02 and meta['bs'] == 128 and meta['arch'] == 'LeNet5'
    assert json.loads((out/'run.json').read_text()) == {'recipe': 'tutorial', 'seed': 0, 'valid': False}
    assert (out/'curves.png').read_bytes()[:8] == b'\x89PNG\r\n\x1a\n'
    # continue the same run for a second epoch: only epoch 2 is trained, the history keeps epoch 1
    r = run('--resume', str(out), '--epochs', '2', '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    assert 'Epoch 1/2' not in r.stdout and 'Epoch 2/2 | train loss' in r.stdout
    hist2 = json.loads((out/'history.json').read_text())
    assert [h['epoch'] for h in hist2] == [1, 2] and hist2[0] == hist[0]

def test_train_recipe(tmp_path):
    "--recipe picks the recipe; --epochs squeezes its schedule; --resume keeps the recipe the run started with."
    if not os.environ.get('LENET5_DATA'): pytest.skip('LENET5_DATA is not set: no MNIST to train on')
    out = tmp_path/'fast'
    r = run('--recipe', 'fast', '--epochs', '1', '--seed', '0', '--device', 'cpu', '--out', str(out))
    assert r.returncode == 0, r.stderr
    assert 'Epoch 1/1 | train loss' in r.stdout
    from lenet5_nbdev.checkpoint import load_checkpoint
    from lenet5_nbdev.recipes import RECIPES
    meta, fast = load_checkpoint(out/'model.safetensors')[1], RECIPES['fast']
    assert (meta['recipe'], meta['epochs'], meta['bs'], meta['lr'], meta['schedule'], meta['label_smoothing']) == \
           ('fast', 1, fast.bs, fast.lr, 'onecycle', fast.label_smoothing)
    assert meta['test_acc'] >= 0.95 and meta['channels_last'] is True
    assert json.loads((out/'run.json').read_text())['recipe'] == 'fast'
    r = run('--resume', str(out), '--recipe', 'tuned', '--epochs', '2', '--device', 'cpu')
    assert r.returncode == 2 and 'was started with --recipe fast' in r.stderr and 'Traceback' not in r.stderr, r.stderr
    r = run('--resume', str(out), '--epochs', '2', '--device', 'cpu')
    assert r.returncode == 0, r.stderr
    assert 'Epoch 2/2 | train loss' in r.stdout and load_checkpoint(out/'model.safetensors')[1]['recipe'] == 'fast'

def test_help():
    "Every command's --help, built by fastcore from the signature, names each option with a description."
    from fastcore.script import anno_parser
    from lenet5_nbdev import cli
    for name in ('lenet5_train', 'lenet5_eval', 'lenet5_predict', 'lenet5_export', 'lenet5_bench'):
        f = getattr(cli, name).__wrapped__
        text = anno_parser(f).format_help()
        assert f.__doc__ in ' '.join(text.split()), name
        for opt in [a for a in f.__code__.co_varnames[:f.__code__.co_argcount]]:
            assert opt in text, (name, opt)
    r = run('--help', cmd='lenet5_predict')  # and once through an installed console script
    assert r.returncode == 0 and '--threshold' in r.stdout

@pytest.mark.parametrize('args,expect', [
    (['--out', 'FILE'], 'is an existing file'),
    (['--epochs', 'two', '--out', 'OUT'], "invalid int value: 'two'"),
])
def test_bad_arguments(tmp_path, args, expect):
    "Through the console script (the other bad arguments are checked in-process in nbs/99_cli.ipynb)."
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

def test_bench_bad_option(tmp_path):
    r = run('--options', 'fp8', '--report', str(tmp_path/'r.json'), cmd='lenet5_bench')
    assert r.returncode == 2 and r.stderr.startswith('lenet5_bench: error: --options fp8: expected') and 'Traceback' not in r.stderr, r.stderr
    assert list(tmp_path.iterdir()) == []


# --- lenet5_predict, lenet5_eval, lenet5_export -------------------------------------------------------------

@pytest.fixture
def images(tmp_path):
    "A drawn '1' and '7' (dark ink on white), plus files that are not usable digits."
    from PIL import Image, ImageDraw
    one = Image.new('L', (90, 120), 255); ImageDraw.Draw(one).line((45, 10, 45, 110), fill=0, width=9)
    seven = Image.new('RGB', (120, 120), (240, 230, 200)); d = ImageDraw.Draw(seven)
    d.line((20, 15, 100, 15), fill=(10, 10, 80), width=10); d.line((100, 15, 50, 110), fill=(10, 10, 80), width=10)
    one.save(tmp_path/'one.png'); seven.save(tmp_path/'seven.jpg')
    (tmp_path/'empty.png').write_bytes(b'')
    (tmp_path/'notes.png').write_text('not an image')
    Image.new('L', (60, 60), 200).save(tmp_path/'blank.png')
    Image.new('L', (8000, 6000)).save(tmp_path/'huge.png')
    return tmp_path

def test_predict(images):
    r = run(str(images/'one.png'), str(images/'seven.jpg'), cmd='lenet5_predict')
    assert r.returncode == 0, r.stderr
    lines = [l.split('\t') for l in r.stdout.splitlines()]
    assert [(p, d) for p, d, _ in lines] == [(str(images/'one.png'), '1'), (str(images/'seven.jpg'), '7')]
    assert all(0.5 < float(c) <= 1 for *_, c in lines)
    r = run('--jsonl', str(images/'one.png'), str(images/'seven.jpg'), cmd='lenet5_predict')
    out = [json.loads(l) for l in r.stdout.splitlines()]  # JSON Lines: one object per image
    assert [sorted(o) for o in out] == 2 * [['confidence', 'digit', 'path', 'probs', 'score', 'uncertain']]
    assert [o['digit'] for o in out] == [1, 7] and len(out[0]['probs']) == 10 and abs(sum(out[0]['probs']) - 1) < 1e-5

BAD_IMAGES = [('missing.png', 'no such file'), ('notes.png', 'is not an image'), ('empty.png', 'is empty (0 bytes)'),
              ('huge.png', 'more than the 40,000,000'), ('blank.png', 'all one colour'), ('.', 'is a folder')]

def test_predict_bad_images(images):
    "Each bad image: one message on stderr; the good images around them are still answered; exit 2 at the end."
    names = ['one.png'] + [n for n, _ in BAD_IMAGES] + ['seven.jpg']
    r = run(*[str(images/n) for n in names], cmd='lenet5_predict')
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert 'Traceback' not in r.stderr, r.stderr
    errors = r.stderr.splitlines()
    assert len(errors) == len(BAD_IMAGES)
    for (name, expect), line in zip(BAD_IMAGES, errors):
        assert line.startswith('lenet5_predict: error: ') and str(images/name).rstrip('/.') in line and expect in line, line
    assert [l.split('\t')[1] for l in r.stdout.splitlines()] == ['1', '7']

@pytest.fixture
def checkpoints(tmp_path):
    import torch
    from safetensors.torch import save_file
    (tmp_path/'notes.txt').write_text('not a checkpoint')
    save_file({'weight': torch.zeros(2, 2)}, str(tmp_path/'other.safetensors'), metadata={'lenet5_nbdev': json.dumps({'arch': 'ResNet18'})})
    return tmp_path

@pytest.mark.parametrize('cmd,name,expect', [
    ('lenet5_eval', 'nothing.safetensors', 'does not exist'), ('lenet5_eval', 'notes.txt', 'is not a checkpoint'),
    ('lenet5_eval', 'other.safetensors', 'holds a ResNet18 model'), ('lenet5_export', 'notes.txt', 'is not a checkpoint'),
    ('lenet5_predict', 'other.safetensors', 'holds a ResNet18 model')])
def test_bad_checkpoint(checkpoints, images, cmd, name, expect):
    ckpt = str(checkpoints/name)
    args = {'lenet5_eval': ['--model', ckpt], 'lenet5_export': ['--model', ckpt, '--onnx', str(checkpoints/'m.onnx')],
            'lenet5_predict': ['--model', ckpt, str(images/'one.png')]}[cmd]
    r = run(*args, cmd=cmd)
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert r.stderr.startswith(f'{cmd}: error: ') and expect in r.stderr and 'Traceback' not in r.stderr, r.stderr
    assert not (checkpoints/'m.onnx').exists()

def test_predict_nan_checkpoint(tmp_path, images):
    "A checkpoint whose weights hold NaN (a diverged run): refused with one line, exit 2, nothing predicted."
    import torch
    from lenet5_nbdev.model import LeNet5
    from lenet5_nbdev.checkpoint import save_checkpoint
    model = LeNet5()
    with torch.no_grad(): model.net[0].weight[0, 0, 0, 0] = float('nan')
    bad = save_checkpoint(model, tmp_path/'bad.safetensors')
    r = run('--model', str(bad), str(images/'one.png'), cmd='lenet5_predict')
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stdout == '' and r.stderr.count('\n') == 1 and 'Traceback' not in r.stderr, r.stderr
    assert r.stderr == (f"lenet5_predict: error: {bad}: net.0.weight holds NaN: "
                        f"expected finite weights (the run that saved them diverged?)\n"), r.stderr

def test_predict_model_names(tmp_path):
    "--model: a bundled name wins over a folder of that name; ./name is the folder, with its own threshold."
    import numpy as np
    from PIL import Image
    from lenet5_nbdev.checkpoint import save_checkpoint
    from lenet5_nbdev.predict import bundled_model
    Image.fromarray((np.random.default_rng(0).random((64, 64)) * 255).astype(np.uint8)).save(tmp_path/'noise.png')
    save_checkpoint(bundled_model('tutorial')[0], tmp_path/'tutorial', dict(recipe='mine', uncertain_below=0.05))
    answers = {}
    for model, extra in [('tutorial', []), ('./tutorial', []), ('./tutorial', ['--threshold', '0.9']), (None, [])]:
        r = run(*(['--model', model] if model else []), *extra, 'noise.png', cmd='lenet5_predict', cwd=tmp_path)
        assert r.returncode == 0 and 'Traceback' not in r.stderr, r.stderr
        answers[model, tuple(extra)] = r.stdout, 'low confidence' in r.stderr
    assert answers['tutorial', ()][0] == answers['./tutorial', ()][0]  # the same weights, and the same answer...
    assert answers['tutorial', ()][1] and not answers['./tutorial', ()][1]  # ...flagged by the bundled threshold, not by 0.05
    assert answers['./tutorial', ('--threshold', '0.9')][1]  # --threshold overrides the checkpoint's own
    r = run('--model', 'best', 'noise.png', cmd='lenet5_predict', cwd=tmp_path)
    assert r.returncode == 2 and r.stderr == ("lenet5_predict: error: best is neither a bundled model nor a file or folder: "
                                              "expected one of tuned, distilled, tutorial, lenet1998, or a checkpoint path\n"), r.stderr

def test_eval():
    if not os.environ.get('LENET5_DATA'): pytest.skip('LENET5_DATA is not set: no MNIST to evaluate on')
    r = run('--model', 'tutorial', '--device', 'cpu', cmd='lenet5_eval')
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith('tutorial (bundled): test accuracy 98.78% (9,878 of 10,000)'), r.stdout
    rows = r.stdout.splitlines()[2:]
    assert len(rows) == 10 and sum(int(v) for row in rows for v in row.split()[1:]) == 10_000
    r = run('--device', 'cpu', cmd='lenet5_eval')  # the default: the tuned model
    assert r.returncode == 0 and r.stdout.startswith('tuned (bundled): test accuracy '), r.stderr

def test_export(tmp_path, images):
    from lenet5_nbdev.predict import bundled_weights
    out = tmp_path/'lenet5.onnx'
    r = run('--model', str(bundled_weights('tutorial')), '--onnx', str(out), cmd='lenet5_export')
    assert r.returncode == 0, r.stderr
    diff = float(r.stdout.rsplit(':', 1)[1])
    assert diff < 1e-4 and out.stat().st_size > 200_000
    from lenet5_nbdev.onnx import OnnxModel
    from lenet5_nbdev.predict import bundled_model
    om = OnnxModel(out)
    assert om.predict(images/'one.png')[0]['digit'] == 1 and om.threshold == bundled_model('tutorial')[1]['uncertain_below']
    for args, expect in [([], '--onnx: expected'), (['--onnx', str(tmp_path)], 'is a folder'),
                         (['--onnx', str(tmp_path/'no'/'m.onnx')], 'does not exist')]:
        r = run(*args, cmd='lenet5_export')  # the default model: tuned
        assert r.returncode == 2 and expect in r.stderr and 'Traceback' not in r.stderr, r.stderr

def test_bench(tmp_path):
    if not os.environ.get('LENET5_DATA'): pytest.skip('LENET5_DATA is not set: no MNIST to benchmark on')
    r = run('--device', 'cpu', '--limit', '1280', '--options', 'channels_last', '--report', str(tmp_path/'b.json'), cmd='lenet5_bench')
    assert r.returncode == 0, r.stderr
    report = json.loads((tmp_path/'b.json').read_text())
    assert set(report['loops']) == {'tutorial', 'fast', 'fast+channels_last'} and report['n_train'] == 1280
    assert report['ratio'] == report['loops']['fast']['ratio'] and 'fast/tutorial training throughput' in r.stdout

def test_broken_data_file(tmp_path):
    "A truncated raw file: lenet5_train names it and what was expected, exit 2, before reading anything else."
    if not os.environ.get('LENET5_DATA'): pytest.skip('LENET5_DATA is not set: no real MNIST files to break')
    src = Path(os.environ['LENET5_DATA'])/'MNIST'/'raw'
    raw = tmp_path/'MNIST'/'raw'; raw.mkdir(parents=True)
    for f in src.iterdir(): (raw/f.name).symlink_to(f)
    (raw/'t10k-labels-idx1-ubyte').unlink()
    (raw/'t10k-labels-idx1-ubyte').write_bytes((src/'t10k-labels-idx1-ubyte').read_bytes()[:5000])
    r = run('--data', str(tmp_path), '--out', str(tmp_path/'o'), '--epochs', '1')
    assert r.returncode == 2, r.stderr
    assert r.stderr.startswith('lenet5_train: error: ') and 'Traceback' not in r.stderr, r.stderr
    assert 't10k-labels-idx1-ubyte is 5,000 bytes: expected 10,008' in r.stderr

def test_lenet1998(tmp_path, images):
    "The 1998 network through the commands: predict (JSON), eval, export; its rejection share everywhere."
    import numpy as np
    from lenet5_nbdev.onnx import OnnxModel
    from lenet5_nbdev.predict import bundled_model, predict
    r = run('--model', 'lenet1998', '--jsonl', str(images/'one.png'), str(images/'seven.jpg'), cmd='lenet5_predict')
    assert r.returncode == 0, r.stderr
    got = [json.loads(line) for line in r.stdout.splitlines()]
    want = predict([images/'one.png', images/'seven.jpg'], 'lenet1998')
    assert [g['digit'] for g in got] == [w['digit'] for w in want] == [1, 7], (got, want)
    assert all(abs(sum(g['probs']) - sum(w['probs'])) < 1e-5 and sum(g['probs']) < 1 for g, w in zip(got, want))
    out = tmp_path/'lenet1998.onnx'
    r = run('--model', 'lenet1998', '--onnx', str(out), cmd='lenet5_export')
    assert r.returncode == 0 and float(r.stdout.rsplit(':', 1)[1]) < 1e-4, r.stderr + r.stdout
    om, meta = OnnxModel(out), bundled_model('lenet1998')[1]
    assert om.reject == -meta['config']['j'] and om.threshold == meta['uncertain_below']
    onnx_probs = [p['probs'] for p in om.predict([images/'one.png', images/'seven.jpg'])]
    assert np.abs(np.array(onnx_probs) - np.array([w['probs'] for w in want])).max() < 1e-4
    if os.environ.get('LENET5_DATA'):
        r = run('--model', 'lenet1998', '--device', 'cpu', cmd='lenet5_eval')
        assert r.returncode == 0 and r.stdout.startswith(f"lenet1998 (bundled): test accuracy {meta['test_acc']:.2%}"), r.stdout

def test_score_agrees(tmp_path, images):
    "Each bundled model's confidence score: predict, lenet5_predict --jsonl and its ONNX export give the same numbers."
    import numpy as np
    from PIL import Image
    from lenet5_nbdev.predict import predict, BUNDLED, bundled_model, DEFAULT_MODEL
    from lenet5_nbdev.onnx import OnnxModel
    from lenet5_nbdev.confidence import SCORE_KEY
    Image.fromarray((np.random.default_rng(1).random((64, 64)) * 255).astype(np.uint8)).save(tmp_path/'noise.png')
    files = [str(images/'one.png'), str(images/'seven.jpg'), str(tmp_path/'noise.png')]
    kinds = set()
    for name in BUNDLED:
        kinds.add(bundled_model(name)[1][SCORE_KEY])
        want = predict(files, name)
        r = run('--model', name, '--jsonl', *files, cmd='lenet5_predict')
        assert r.returncode == 0, r.stderr
        got = [json.loads(l) for l in r.stdout.splitlines()]
        if name == DEFAULT_MODEL: assert want[2]['uncertain'] and 'noise.png: low confidence' in r.stderr, r.stderr
        r = run('--model', name, '--onnx', str(tmp_path/f'{name}.onnx'), cmd='lenet5_export')
        assert r.returncode == 0, r.stderr
        onnx = OnnxModel(tmp_path/f'{name}.onnx').predict(files)
        for other in (got, onnx):
            assert [o['uncertain'] for o in other] == [w['uncertain'] for w in want], (name, other, want)
            assert np.abs(np.array([o['score'] for o in other]) - [w['score'] for w in want]).max() < 1e-4, name
    assert kinds == {'softmax', 'energy'}, kinds  # both scores are exercised
