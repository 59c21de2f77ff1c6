"""Render the docs site and check it: what `make docs` and `make test` run.

    python tools/site.py --write   # `make docs`: README.md and docs/ rendered in place, versions recorded
    python tools/site.py           # `make test`: render a scratch copy, compare it with docs/ and README.md, check it
    python tools/site.py --keep D  # the same, rendering in folder D and leaving it there (to look at, e.g. with a headless-browser screenshot of each page)

The check renders the working tree's files (tracked and untracked, not ignored) in a temporary folder, so it never
writes docs/ or README.md. The byte-for-byte comparison with the committed site runs only when the Quarto and pandoc
versions equal those in tools/site_versions.json (other versions render other bytes); the checks run always:
a page for every notebook and every notebook in the sidebar, every local link and anchor resolves, no
code line or text output wider than 92 characters, no machine paths, tracebacks or warnings in
outputs, an API entry for every exported name (a heading; for a constant, its `#| exports` cell), output images kept inside the text column.
Without Quarto it says how to get it in one line and skips, unless LENET5_STRICT=1 (set by .ci/run): then it fails.
"""
import configparser, importlib, json, os, re, shutil, subprocess, sys, tempfile, time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'tools'))
from demo_assets import copy_assets
VERSIONS = ROOT/'tools'/'site_versions.json'
BIN = Path(sys.executable).parent
QUARTO_HELP = "install Quarto 1.7.34 (https://quarto.org/docs/download/, or offline: bash ../shared/tools/quarto/install.sh) and put it on PATH"

def cfg():
    c = configparser.ConfigParser(delimiters=['=']); c.read(ROOT/'settings.ini'); return c['DEFAULT']

def versions() -> dict:
    "The Quarto and pandoc versions on PATH."
    q = subprocess.run(['quarto', '--version'], capture_output=True, text=True, check=True).stdout.strip()
    p = subprocess.run(['quarto', 'pandoc', '--version'], capture_output=True, text=True, check=True).stdout.split('\n')[0].split()[-1]
    return dict(quarto=q, pandoc=p)

def render(root:Path):
    "README.md (nbdev_readme) and docs/ (nbdev_docs, then the demo page's runtime) for the project at `root`."
    env = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    shutil.rmtree(root/'_proc', ignore_errors=True)  # Quarto's cache there would keep the figures of cells that moved
    for cmd in ('nbdev_readme', 'nbdev_docs'):
        r = subprocess.run([str(BIN/cmd)], cwd=root, env=env, capture_output=True, text=True)
        if r.returncode: sys.exit(f"site: {cmd} failed (exit {r.returncode}):\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}")
    copy_assets(root/'docs')  # onnxruntime-web's wasm backend, from node_modules (npm ci)

def scratch_copy(dest:Path):
    "The project's files (tracked and untracked, not ignored; docs/ left out) copied to `dest`."
    files = subprocess.run(['git', 'ls-files', '-z', '--cached', '--others', '--exclude-standard'], cwd=ROOT,
                           capture_output=True, text=True, check=True).stdout.split('\0')
    for f in files:
        if not f or f.startswith('docs/') or not (ROOT/f).exists(): continue
        (dest/f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT/f, dest/f)

def _sitemap(b:bytes) -> bytes: return re.sub(rb'<lastmod>[^<]*</lastmod>', b'', b)

def compare(new:Path, old:Path) -> list[str]:
    "Files that differ between two rendered sites (sitemap.xml without its <lastmod> dates)."
    files = lambda d: {p.relative_to(d).as_posix() for p in d.rglob('*') if p.is_file()}
    a, b = files(new), files(old)
    diffs = [f"{f}: only in the fresh render" for f in sorted(a - b)] + [f"{f}: only in the committed docs/" for f in sorted(b - a)]
    for f in sorted(a & b):
        x, y = (new/f).read_bytes(), (old/f).read_bytes()
        if f == 'sitemap.xml': x, y = _sitemap(x), _sitemap(y)
        if x != y: diffs.append(f"{f}: differs")
    return diffs

VOID = {'img', 'br', 'hr', 'meta', 'link', 'input', 'source', 'col', 'area', 'base', 'embed', 'wbr', 'track', 'param'}

class _Page(HTMLParser):
    "Ids, links, h2/h3 headings and cell output texts of one HTML page."
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.ids, self.links, self.headings, self.outputs, self._out, self._h = set(), [], [], [], [], None
        self.pres, self._pre = [], 0  # the text of each <pre>: code blocks, signatures, text outputs
    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == 'pre':
            if not self._pre: self.pres.append([])
            self._pre += 1
        if 'id' in a: self.ids.add(a['id'])
        for k in ('href', 'src'):
            if a.get(k): self.links.append(a[k])
        cls = a.get('class') or ''
        if self._out: self._out[-1][0] += 1
        elif 'cell-output' in cls.split() or any(c.startswith('cell-output-') for c in cls.split()):
            self._out.append([1, cls, []])
        if tag in ('h2', 'h3'): self._h = []
        if tag in VOID: self.handle_endtag(tag)
    def handle_endtag(self, tag):
        if tag == 'pre' and self._pre: self._pre -= 1
        if self._out:
            self._out[-1][0] -= 1
            if self._out[-1][0] == 0: _, cls, text = self._out.pop(); self.outputs.append((cls, ''.join(text)))
        if tag in ('h2', 'h3') and self._h is not None: self.headings.append(''.join(self._h).strip()); self._h = None
    def handle_data(self, data):
        if self._pre: self.pres[-1].append(data)
        if self._out: self._out[-1][2].append(data)
        if self._h is not None: self._h.append(data)

WIDTH = 92  # the text column holds this many characters of code: a longer line scrolls sideways

def wide_lines(pg) -> list[str]:
    "The lines of code and text output that page `pg` shows wider than WIDTH characters."
    return [l for pre in pg.pres for l in ''.join(pre).splitlines() if len(l.rstrip()) > WIDTH]

def sidebar_problems(nbs:list[Path]) -> list[str]:
    "Notebooks missing from nbs/sidebar.yml, listed twice, or listed but absent."
    import yaml
    def items(c): return [x for e in c for x in (items(e['contents']) if isinstance(e, dict) else [e])]
    listed = items(yaml.safe_load((ROOT/'nbs'/'sidebar.yml').read_text())['website']['sidebar']['contents'])
    names = [nb.name for nb in nbs]
    return ([f"nbs/sidebar.yml: {n} is not in the sidebar" for n in names if n not in listed] +
            [f"nbs/sidebar.yml: {n} is listed {listed.count(n)} times" for n in sorted(set(listed)) if listed.count(n) > 1] +
            [f"nbs/sidebar.yml: {n} is not a notebook in nbs/" for n in listed if n not in names])

MACHINE = re.compile(r'(?<![\w.])/(?:tmp|root|home|Users|private/var|var/folders)/|[A-Z]:\\Users\\')
WARN = re.compile(r'Traceback \(most recent call last\)|\b\w*Warning\b|IProgress not found')

def _parse(p:Path) -> _Page:
    pg = _Page(); pg.html = p.read_text(encoding='utf-8'); pg.feed(pg.html); return pg

def default_exp(nb:Path) -> str|None:
    "The module notebook `nb` exports (its `#| default_exp`), if any."
    for cell in json.loads(nb.read_text())['cells']:
        if m := re.match(r'#\|\s*default_exp\s+(\S+)', ''.join(cell['source'])): return m.group(1)

def page_of(nb:Path, proc:Path) -> str:
    "The HTML page nbdev makes of notebook `nb` (its `output-file`)."
    cells = json.loads((proc/nb.name).read_text())['cells']
    fm = ''.join(cells[0]['source']) if cells and cells[0]['cell_type'] == 'raw' else ''
    m = re.search(r'^output-file:\s*(\S+)', fm, re.M)
    return m.group(1) if m else nb.stem + '.html'

def check(site:Path, proc:Path) -> list[str]:
    "What a reader would trip on in the rendered `site`; [] when all is well."
    c, errs = cfg(), []
    base = c['doc_host'].rstrip('/') + c['doc_baseurl'].rstrip('/') + '/'
    nbs = sorted(p for p in (ROOT/'nbs').glob('*.ipynb') if not p.name.startswith('_'))
    pages_of = {nb.stem: page_of(nb, proc) for nb in nbs}
    for nb, page in pages_of.items():
        if not (site/page).is_file(): errs.append(f"nbs/{nb}.ipynb has no page ({page} is missing)")
    errs += sidebar_problems(nbs)
    parsed = {p: _parse(p) for p in sorted(site.rglob('*.html')) if 'site_libs' not in p.parts}
    for p, pg in parsed.items():
        rel = p.relative_to(site).as_posix()
        for link in pg.links:
            if link.startswith(base):  # nbdev writes links to API entries as absolute URLs of the site
                path, _, frag = link[len(base):].partition('#')
                link = os.path.relpath(site/path, p.parent) + (f'#{frag}' if frag else '')
            u = urlsplit(link)
            if u.scheme or u.netloc or link in ('#', '') or link.startswith(('mailto:', 'javascript:', 'data:')): continue
            target = (p.parent/unquote(u.path)).resolve() if u.path else p
            if target.is_dir(): target = target/'index.html'
            if not target.exists(): errs.append(f"{rel}: broken link {link}"); continue
            if u.fragment and target.suffix == '.html':
                tp = parsed.get(target) or _parse(target)
                if unquote(u.fragment) not in tp.ids: errs.append(f"{rel}: link {link} points to no anchor")
        html = pg.html
        for m in re.finditer(r'<code[^>]*>((?:(?!</code>).)*?\]\(https?://[^)]*\))', html, re.S):
            errs.append(f"{rel}: a Markdown link shows as text inside code: {re.sub('<[^>]+>', '', m.group(1))[-100:]!r}")
        for bad in ('NoneType=', 'builtin_function_or_method'):
            if bad in html: errs.append(f"{rel}: a signature shows {bad!r}: annotate that parameter")
        for l in wide_lines(pg): errs.append(f"{rel}: a line of {len(l.rstrip())} characters scrolls sideways (at most {WIDTH}): {l.strip()[:100]!r}")
        dup = sorted({h for h in pg.headings if pg.headings.count(h) > 1})
        if dup: errs.append(f"{rel}: headings repeated on the page: {', '.join(dup)}")
        for cls, text in pg.outputs:
            if MACHINE.search(text): errs.append(f"{rel}: machine path in an output: {MACHINE.search(text).group(0)!r} in {text.strip()[:120]!r}")
            if 'cell-output-error' in cls or WARN.search(text) or ('stderr' in cls and re.search('warn', text, re.I)):
                errs.append(f"{rel}: traceback or warning in an output: {text.strip()[:160]!r}")
    for nb in nbs:
        exp, page = default_exp(nb), site/pages_of[nb.stem]
        if not exp or not page.is_file(): continue
        pg, mod = parsed[page], importlib.import_module(f"{c['lib_name']}.{exp}")
        for name in mod.__all__:
            entry = name in pg.headings if callable(getattr(mod, name)) else \
                    re.search(rf'\b{re.escape(name)}(?:</span>)?\s*(?:<span class="op">)?=', pg.html)  # its exports cell
            if not entry: errs.append(f"{pages_of[nb.stem]}: {exp}.{name} has no API entry")
    css = (site/'styles.css').read_text() if (site/'styles.css').exists() else ''
    if not re.search(r'img[^{}]*\{[^}]*max-width:\s*100%', css): errs.append("styles.css: no `img { max-width: 100% }` rule keeps output images inside the column")
    return errs

def main():
    write, strict = '--write' in sys.argv, os.environ.get('LENET5_STRICT') == '1'
    if not shutil.which('quarto'):
        msg = f"site: Quarto is not on PATH: {QUARTO_HELP}"
        if write or strict: sys.exit(msg + (" (LENET5_STRICT=1: a missing Quarto is a failure)" if strict else ""))
        print(msg + "; the site checks are skipped"); return
    if not (ROOT/'node_modules'/'.package-lock.json').exists():  # onnxruntime-web, for the demo page
        if not shutil.which('npm'):
            msg = "site: npm is not on PATH: the demo page needs onnxruntime-web from npm (install Node.js, then npm ci)"
            if write or strict: sys.exit(msg)
            print(msg + "; the site checks are skipped"); return
        subprocess.run(['npm', 'ci', '--ignore-scripts', '--no-audit', '--no-fund'], cwd=ROOT, check=True, stdout=subprocess.DEVNULL)
    v = versions()
    if write:
        t = time.perf_counter(); render(ROOT)
        VERSIONS.write_text(json.dumps(v, indent=1) + '\n')
        print(f"site: docs/ and README.md rendered in {time.perf_counter()-t:.0f} s with Quarto {v['quarto']}, pandoc {v['pandoc']}")
        return
    keep = Path(sys.argv[sys.argv.index('--keep') + 1]).resolve() if '--keep' in sys.argv else None
    if keep: shutil.rmtree(keep, ignore_errors=True); keep.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix='lenet5-site-') as tmp:
        tmp = keep or Path(tmp)
        scratch_copy(tmp)
        t = time.perf_counter(); render(tmp)
        t_render = time.perf_counter() - t
        t = time.perf_counter()
        errs = check(tmp/'docs', tmp/'_proc')
        recorded = json.loads(VERSIONS.read_text()) if VERSIONS.exists() else {}
        if recorded == v:
            errs += [f"docs/{d} (run `make docs` and commit docs/)" for d in compare(tmp/'docs', ROOT/'docs')]
            if (tmp/'README.md').read_bytes() != (ROOT/'README.md').read_bytes(): errs.append("README.md is not what nbdev_readme makes of nbs/index.ipynb: run `make docs` (or `make readme`)")
            same = "compared with the committed docs/ and README.md"
        else: same = f"not compared with the committed docs/: rendered with Quarto {v['quarto']}, pandoc {v['pandoc']}, committed with {recorded or 'unknown versions'}"
        t_check = time.perf_counter() - t
    if errs: sys.exit("site: {} problem(s):\n  ".format(len(errs)) + '\n  '.join(errs))
    print(f"site: rendered in {t_render:.0f} s, checked in {t_check:.1f} s; {same}")

if __name__ == '__main__': main()
