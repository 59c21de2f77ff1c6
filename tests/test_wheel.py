"""A real install, with no download: the wheel in a fresh virtual environment that borrows the project venv's packages (not its own, not the onnx extra's), then with the onnx extra."""
import email, importlib.metadata as md, subprocess, sys, sysconfig, venv, zipfile
from pathlib import Path
from packaging.requirements import Requirement
from conftest import ROOT

SITE = Path(sysconfig.get_paths()['purelib'])  # the project venv's site-packages: pytest runs in that venv
PIP = [sys.executable, '-m', 'pip', '-q', '--disable-pip-version-check']
# run by the fresh venv's Python: where lenet5_nbdev comes from, then the requirements its packages do not meet
CHECK = """import sys, importlib.metadata as md, importlib.util
from packaging.requirements import Requirement
def met(r):
    try: return r.specifier.contains(md.version(r.name), prereleases=True)
    except md.PackageNotFoundError: return False
print(importlib.util.find_spec('lenet5_nbdev').origin)
print(*[r for r in map(Requirement, sys.argv[1:]) if not met(r)], sep='; ')"""

def entries(name):
    "The site-packages entries of distribution `name`: its packages, modules, dist-info and .pth files."
    dist = next(md.distributions(name=name, path=[str(SITE)]))
    return {f.parts[0] for f in dist.files if f.parts[0] != '..'} - {'__pycache__'}  # '..': its scripts in bin/

def add_view(env, folder, names):
    "Symlink `names` of the project's site-packages into `folder`, on the sys.path of venv `env` by a .pth file."
    folder.mkdir()
    for n in names: (folder/n).symlink_to(SITE/n)
    (next(env.glob('lib/python*/site-packages'))/f'{folder.name}.pth').write_text(f'{folder}\n')

def test_wheel_install_and_predict(tmp_path):
    dist = tmp_path/'dist'
    subprocess.run([*PIP, 'wheel', '--no-deps', '--no-build-isolation', '--no-index', '-w', str(dist), str(ROOT)], check=True)
    wheel = next(dist.glob('lenet5_nbdev-*.whl'))
    zf = zipfile.ZipFile(wheel)
    assert {f'lenet5_nbdev/weights/{n}.safetensors' for n in ('distilled', 'tuned', 'tutorial')} <= set(zf.namelist()), zf.namelist()
    meta = email.message_from_bytes(zf.read(next(n for n in zf.namelist() if n.endswith('.dist-info/METADATA'))))
    reqs = [Requirement(r) for r in meta.get_all('Requires-Dist')]
    base = [r for r in reqs if not r.marker or r.marker.evaluate()]  # a marker `extra == ...` is false without the extra
    onnx = {r.name for r in reqs if r not in base and r.marker.evaluate({'extra': 'onnx'})} - {r.name for r in base}  # torch: in both
    assert 'nbdev' not in {r.name for r in base} and onnx, (base, onnx)  # runtime requirements only: no nbdev, no dev pins
    env = tmp_path/'venv'
    venv.create(env)  # no system site packages, no pip: the project's pip installs into it
    py = env/'bin'/'python'
    subprocess.run([*PIP, '--python', str(py), 'install', '--no-deps', '--no-index', str(wheel)], check=True)
    hidden = {n: entries(n) for n in ['lenet5_nbdev', *sorted(onnx)]}  # the editable install, and what the extra brings
    add_view(env, tmp_path/'base', {p.name for p in SITE.iterdir()} - set().union(*hidden.values()))
    origin, unmet = subprocess.run([str(py), '-c', CHECK, *map(str, base)], capture_output=True, text=True, check=True,
                                   cwd=tmp_path).stdout.split('\n')[:2]  # cwd: `-c` puts it on sys.path
    assert Path(origin).is_relative_to(env), f"lenet5_nbdev should come from the wheel, not from {origin}"
    assert not unmet, f"requirements of the wheel not met in the fresh venv: {unmet}"
    from PIL import Image, ImageDraw
    img = Image.new('L', (90, 120), 255); ImageDraw.Draw(img).line((45, 10, 45, 110), fill=0, width=9)
    img.save(tmp_path/'one.png')
    r = subprocess.run([str(env/'bin'/'lenet5_predict'), str(tmp_path/'one.png')], capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split('\t')[:2] == [str(tmp_path/'one.png'), '1']
    # the base install has no ONNX packages: lenet5_export says which extra to install, in one line, exit 2
    export = [str(env/'bin'/'lenet5_export'), '--model', 'tutorial', '--onnx', str(tmp_path/'m.onnx')]
    r = subprocess.run(export, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 2 and 'Traceback' not in r.stderr, r.stderr
    assert r.stderr.strip().splitlines() == ["lenet5_export: error: onnx, onnxscript not installed: ONNX export and serving need "
                                             "the onnx extra: pip install 'lenet5_nbdev[onnx]'"], r.stderr
    assert not (tmp_path/'m.onnx').exists()
    # with the extra's packages visible too, the same command exports and checks the file
    add_view(env, tmp_path/'onnx', set().union(*(hidden[n] for n in onnx)))
    r = subprocess.run(export, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path/'m.onnx').stat().st_size > 200_000, r.stderr
    print(f"fresh venv: {len(base)} requirements met, without {', '.join(sorted(onnx))} until the extra; {r.stdout.strip()}")
