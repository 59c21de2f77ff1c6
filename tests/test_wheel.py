"""A real install: the wheel, in a fresh virtual environment, with the runtime requirements only, then with the onnx extra."""
import subprocess, sys, venv
from pathlib import Path
from conftest import ROOT

def test_wheel_install_and_predict(tmp_path):
    dist = tmp_path/'dist'
    subprocess.run([sys.executable, '-m', 'pip', 'wheel', '--no-deps', '--no-build-isolation', '-q', '-w', str(dist), str(ROOT)], check=True)
    wheel = next(dist.glob('lenet5_nbdev-*.whl'))
    import zipfile
    names = zipfile.ZipFile(wheel).namelist()
    assert {'lenet5_nbdev/weights/tutorial.safetensors', 'lenet5_nbdev/weights/tuned.safetensors'} <= set(names), names
    env = tmp_path/'venv'
    venv.create(env, with_pip=True)
    py = env/'bin'/'python'
    subprocess.run([str(py), '-m', 'pip', 'install', '-q', str(wheel)], check=True, timeout=1200)
    versions = subprocess.run([str(py), '-c', 'import fastcore, importlib.metadata as m; print(fastcore.__version__, "nbdev" in {d.metadata["Name"] for d in m.distributions()})'],
                              capture_output=True, text=True, check=True).stdout.split()
    assert versions[1] == 'False'  # runtime requirements only: no nbdev, no dev pins
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
    # with the extra, the same command exports and checks the file
    subprocess.run([str(py), '-m', 'pip', 'install', '-q', f"{wheel}[onnx]"], check=True, timeout=1200)
    r = subprocess.run(export, capture_output=True, text=True, cwd=tmp_path)
    assert r.returncode == 0 and (tmp_path/'m.onnx').stat().st_size > 200_000, r.stderr
    print(f"fresh venv: fastcore {versions[0]}; {r.stdout.strip()}")
