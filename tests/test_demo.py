"""The "Try it" page (nbs/21_demo.ipynb) in headless Chromium: demo.js's preprocessing and onnxruntime-web give what Python gives.

A local web server serves the page's own files: the HTML block of the notebook, nbs/demo/ (demo.js, demo.css, the model
and its metadata) and the runtime that tools/demo_assets.py copies from node_modules/. Without Chromium, chromedriver
or node_modules it skips, unless LENET5_STRICT=1: then it fails.
"""
import base64, functools, http.server, io, json, os, random, re, shutil, sys, threading
from pathlib import Path
import numpy as np
import pytest
from conftest import ROOT

def _find(env, *names):
    "A program: $env, else the first of `names` found (absolute, or on PATH); selenium then downloads nothing."
    for n in ([os.environ[env]] if os.environ.get(env) else []) + list(names):
        if (p := Path(n) if Path(n).is_absolute() else shutil.which(n)) and Path(p).exists(): return Path(p)
CHROMIUM = _find('LENET5_CHROMIUM', '/usr/bin/chromium', 'chromium', 'chromium-browser', 'google-chrome')
DRIVER = _find('LENET5_CHROMEDRIVER', '/usr/bin/chromedriver', 'chromedriver')
DEMO = ROOT/'nbs'/'demo'
pytestmark = pytest.mark.timeout(120)

def _unavailable(reason):
    if os.environ.get('LENET5_STRICT') == '1': pytest.fail(f"{reason} (LENET5_STRICT=1: the demo must be tested)")
    pytest.skip(reason)

def page_html() -> str:
    "The demo's HTML, as the notebook's markdown cell gives it to Quarto."
    for c in json.loads((ROOT/'nbs'/'21_demo.ipynb').read_text())['cells']:
        if m := re.search(r'```\{=html\}\n(.*?)```', ''.join(c['source']), re.S): return m.group(1)
    raise AssertionError("nbs/21_demo.ipynb has no ```{=html} block")

def _page(body, head=''):
    return (f'<!doctype html><html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">'
            f'{head}</head><body><main style="max-width:760px;margin:auto;padding:1rem;font-family:sans-serif">{body}</main></body></html>')

@pytest.fixture(scope='module')
def site(tmp_path_factory):
    "A folder like the rendered site, served on 127.0.0.1: its URL."
    sys.path.insert(0, str(ROOT/'tools'))
    from demo_assets import DIST, FILES, copy_assets
    if not all((DIST/f).is_file() for f in FILES): _unavailable("node_modules/onnxruntime-web is missing: run npm ci")
    d = tmp_path_factory.mktemp('site')
    shutil.copytree(DEMO, d/'demo')
    copy_assets(d)
    html = page_html()
    (d/'index.html').write_text(_page(html))
    (d/'nowasm.html').write_text(_page(html, '<script>delete window.WebAssembly</script>'))
    (d/'broken'/'demo').mkdir(parents=True)  # the same page, with no model file beside it
    (d/'broken'/'index.html').write_text(_page(html))
    for f in ('demo.js', 'demo.css', 'lenet5.json'): shutil.copy(DEMO/f, d/'broken'/'demo'/f)
    (d/'broken'/'demo'/'ort').symlink_to(d/'demo'/'ort')
    shutil.copytree(DEMO, d/'noruntime'/'demo')  # the same page, with no onnxruntime-web beside it
    (d/'noruntime'/'index.html').write_text(_page(html))
    class Quiet(http.server.SimpleHTTPRequestHandler):
        extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map, '.mjs': 'text/javascript', '.wasm': 'application/wasm'}
        def log_message(self, *a): pass
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), functools.partial(Quiet, directory=str(d)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield d, f'http://127.0.0.1:{server.server_port}'
    server.shutdown()

@pytest.fixture(scope='module')
def browser():
    if not (CHROMIUM and DRIVER):
        _unavailable("headless Chromium and chromedriver not found (/usr/bin/chromium, or set LENET5_CHROMIUM and LENET5_CHROMEDRIVER)")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    opts = webdriver.ChromeOptions()
    opts.binary_location = str(CHROMIUM)
    for a in ('--headless=new', '--no-sandbox', '--disable-dev-shm-usage', '--window-size=1280,1000'): opts.add_argument(a)
    driver = webdriver.Chrome(service=Service(str(DRIVER)), options=opts)
    driver.set_script_timeout(60)
    yield driver
    driver.quit()

def open_page(driver, url):
    "Load the page and wait until the model is ready (or the page has said why not)."
    driver.get(url)
    return driver.execute_async_script("const done = arguments[0]; window.lenet5.ready.then(() => done('ready'), e => done(String(e.message)))")

def status(driver):
    return driver.execute_script("const s = document.querySelector('.l5-status'); return [s.dataset.state, s.dataset.digit, s.textContent]")

def b64(x): return base64.b64encode(np.ascontiguousarray(x, np.float32).tobytes()).decode()
def unb64(s): return np.frombuffer(base64.b64decode(s), np.float32)
TO_B64 = "const b64 = a => btoa(String.fromCharCode(...new Uint8Array(Float32Array.from(a).buffer)));"
FROM_B64 = "const unb64 = s => new Float32Array(Uint8Array.from(atob(s), c => c.charCodeAt(0)).buffer);"

@pytest.fixture(scope='module')
def mnist():
    from lenet5_nbdev.data import mnist_datasets
    try: return mnist_datasets()[1]
    except Exception as e: pytest.skip(f"MNIST is not available: {e}")

def test_model_parity(site, browser, mnist):
    "The same 32x32 inputs give onnxruntime's (Python) and PyTorch's probabilities, to 1e-4."
    import torch
    from lenet5_nbdev.onnx import OnnxModel
    from lenet5_nbdev.predict import bundled_model
    from lenet5_nbdev.confidence import softmax
    assert open_page(browser, site[1] + '/index.html') == 'ready'
    x = torch.stack([mnist[i][0] for i in range(64)])
    probs = browser.execute_async_script(FROM_B64 + """const [x, done] = arguments;
        window.lenet5.run(unb64(x), 64).then(p => done(p.flat()), e => done(String(e)))""", b64(x))
    js = np.array(probs).reshape(64, 10)
    ort = softmax(OnnxModel(DEMO/'lenet5.onnx')(x.numpy()))
    with torch.inference_mode(): pt = torch.softmax(bundled_model()[0](x), 1).numpy()
    d_ort, d_pt = np.abs(js - ort).max(), np.abs(js - pt).max()
    print(f"\nmodel: 64 MNIST test digits, max |browser - onnxruntime| {d_ort:.1e}, max |browser - PyTorch| {d_pt:.1e}")
    assert d_ort < 1e-4 and d_pt < 1e-4, (d_ort, d_pt)
    from lenet5_nbdev.confidence import confidence_scores  # demo.js's energy score, on a model that uses it
    with torch.inference_mode(): logits = bundled_model('distilled')[0](x).double().numpy()
    js = browser.execute_script("return arguments[0].map(window.lenet5.energy)", logits.tolist())
    d_energy = np.abs(np.array(js) - confidence_scores(logits, 'energy')).max()
    assert d_energy < 1e-9, d_energy

def _images(mnist, folder):
    "60 opaque 8-bit PNGs: MNIST test digits redrawn at other sizes and colours (some grayscale), and typeset digits."
    import matplotlib
    from PIL import Image, ImageDraw, ImageFont
    rng, paths = random.Random(0), []
    for k in range(40):
        digit, s = mnist.data[rng.randrange(10_000)].numpy(), rng.randint(20, 300)
        m = np.asarray(Image.fromarray(digit).resize((s, s), Image.BILINEAR), np.float64)[..., None] / 255
        dark = rng.random() < 0.7
        ink = np.array([rng.randint(0, 90) if dark else rng.randint(170, 255) for _ in range(3)])
        paper = np.array([rng.randint(180, 255) if dark else rng.randint(0, 80) for _ in range(3)])
        img = np.broadcast_to(paper, (s + 2 * (p := rng.randint(0, s // 2)), s + 2 * p + rng.randint(0, s), 3)).astype(np.uint8).copy()
        img[p:p + s, p:p + s] = (paper * (1 - m) + ink * m).astype(np.uint8)
        im = Image.fromarray(img)
        (im.convert('L') if k % 4 == 0 else im).save(path := folder/f'mnist_{k}.png'); paths.append(path)
    ttf = Path(matplotlib.get_data_path())/'fonts'/'ttf'
    for f in ('DejaVuSans.ttf', 'DejaVuSerif-Italic.ttf'):
        for d in range(10):
            im = Image.new('L', (200, 240), 255)
            ImageDraw.Draw(im).text((40, 30), str(d), fill=0, font=ImageFont.truetype(str(ttf/f), rng.randint(60, 150)))
            im.save(path := folder/f'{f[:-4]}_{d}.png'); paths.append(path)
    return paths

def test_preprocess_parity(site, browser, mnist):
    "PNG files: demo.js's preprocessing gives preprocess's 32x32 input, and the page's digit is predict's, for every image."
    from lenet5_nbdev.predict import predict
    from lenet5_nbdev.preprocess import preprocess
    d, url = site
    (d/'png').mkdir(exist_ok=True)
    paths = _images(mnist, d/'png')
    assert open_page(browser, url + '/index.html') == 'ready'
    res = browser.execute_async_script(TO_B64 + """const [urls, done] = arguments;
        (async () => { const out = [];
          for (const u of urls) {
            const img = new Image(); img.src = u; await img.decode();
            const c = document.createElement('canvas'); c.width = img.naturalWidth; c.height = img.naturalHeight;
            const ctx = c.getContext('2d'); ctx.drawImage(img, 0, 0);
            const r = await window.lenet5.classify(ctx.getImageData(0, 0, c.width, c.height));
            out.push([r.digit, b64(r.input), r.uncertain, r.score]);
          }
          return out; })().then(done, e => done(String(e)))""", [f'{url}/png/{p.name}' for p in paths])
    assert isinstance(res, list), res
    py = predict(paths)
    same = sum(r[0] == p['digit'] and r[2] == p['uncertain'] for r, p in zip(res, py))
    diff = max(np.abs(unb64(r[1]) - preprocess(p).ravel()).max() for r, p in zip(res, paths))
    print(f"\npreprocess: {len(paths)} PNGs, same digit and uncertain flag as predict for {same}; max |browser - Python| 32x32 input {diff:.1e}")
    assert same == len(paths), [(p.name, r[0], q['digit']) for p, r, q in zip(paths, res, py) if (r[0], r[2]) != (q['digit'], q['uncertain'])]
    assert diff < 1e-5, diff
    score_diff = max(abs(r[3] - p['score']) for r, p in zip(res, py))  # the model's own score
    assert score_diff < 1e-4, score_diff

STROKES = {  # in fractions of the pad: lists of strokes, each a list of points
    'one': [[(0.5, 0.15 + 0.07 * i) for i in range(11)]],
    'seven': [[(0.25, 0.2), (0.5, 0.2), (0.72, 0.2)], [(0.72, 0.2), (0.6, 0.45), (0.48, 0.7), (0.4, 0.85)]],
    'zero': [[(0.5 + 0.2 * np.sin(t), 0.5 - 0.32 * np.cos(t)) for t in np.linspace(0, 2 * np.pi, 25)]],
    'four': [[(0.6, 0.15), (0.4, 0.4), (0.25, 0.6), (0.7, 0.6)], [(0.6, 0.35), (0.6, 0.6), (0.6, 0.88)]],
    'scribble': [[(0.3, 0.4), (0.7, 0.45), (0.35, 0.55), (0.65, 0.6), (0.5, 0.3)]],
}

def draw(driver, strokes):
    "Draw `strokes` with synthetic pointer events; the page's answer once it has settled."
    return driver.execute_async_script("""const [strokes, done] = arguments;
        const pad = document.querySelector('.l5-pad'), b = pad.getBoundingClientRect();
        const ev = (type, [x, y]) => pad.dispatchEvent(new PointerEvent(type, {clientX: b.left + x * b.width,
          clientY: b.top + y * b.height, pointerId: 7, pointerType: 'pen', isPrimary: true, bubbles: true, cancelable: true,
          buttons: type === 'pointerup' ? 0 : 1}));
        for (const s of strokes) { ev('pointerdown', s[0]); s.slice(1).forEach(p => ev('pointermove', p)); ev('pointerup', s.at(-1)); }
        window.lenet5.settled().then(() => done(window.lenet5.last.ms), e => done(String(e)))""",
        [[list(map(float, p)) for p in s] for s in strokes])

def clear(driver):
    "Press Clear; the page's state once it has settled."
    driver.find_element('css selector', '.l5-clear').click()
    driver.execute_async_script("window.lenet5.settled().then(arguments[0])")
    return status(driver)

def test_drawing(site, browser):
    "Strokes drawn on the canvas read as predict reads the canvas's own PNG; an empty canvas asks for a digit."
    from PIL import Image
    from lenet5_nbdev.predict import predict
    assert open_page(browser, site[1] + '/index.html') == 'ready'
    ready_ms = browser.execute_script("return window.lenet5.loadedAt")
    state, _, text = status(browser)
    assert state == 'empty' and 'draw a digit' in text.lower(), (state, text)
    times, flagged = [], []
    for name, strokes in STROKES.items():
        assert clear(browser)[0] == 'empty'
        times.append(draw(browser, strokes))
        state, digit, text = status(browser)
        png = browser.execute_script("return document.querySelector('.l5-pad').toDataURL('image/png')")
        im = Image.open(io.BytesIO(base64.b64decode(png.split(',', 1)[1])))
        py = predict(im)[0]
        assert state in ('answer', 'uncertain') and int(digit) == py['digit'], (name, state, digit, py['digit'], text)
        assert (state == 'uncertain') == py['uncertain'], (name, state, py['confidence'], text)
        flagged.append(state == 'uncertain')
        if name == 'one': assert int(digit) == 1, text
    print(f"\ndrawing: {len(STROKES)} drawings read as predict reads them ({sum(flagged)} flagged uncertain); model ready {ready_ms:.0f} ms after navigation; "
          f"preprocessing + inference {np.mean(times):.1f} ms per drawing (max {max(times):.1f})")
    state, _, text = clear(browser)
    assert state == 'empty' and 'draw a digit' in text.lower(), (state, text)

@pytest.mark.parametrize('page,says', [('broken/index.html', 'demo/lenet5.onnx could not be loaded'),
                                       ('noruntime/index.html', 'runtime (demo/ort/) could not be loaded'),
                                       ('nowasm.html', 'no WebAssembly')])
def test_cannot_load(site, browser, page, says):
    "Without the model file, the runtime or WebAssembly, the page says why it cannot answer."
    assert says in open_page(browser, f'{site[1]}/{page}')
    state, _, text = status(browser)
    assert state == 'error' and says in text and 'cannot run' in text, (state, text)
