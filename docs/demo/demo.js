// "Try it" (nbs/21_demo.ipynb): draw a digit; the browser preprocesses it the way lenet5_nbdev.preprocess does,
// runs the exported LeNet-5 with onnxruntime-web (WebAssembly, one thread) and shows the ten probabilities.
// No server code: lenet5.onnx, lenet5.json and the runtime (ort/) are static files beside this one.

const HERE = new URL('./', import.meta.url);

// ---------- Preprocessing: lenet5_nbdev.preprocess.preprocess, step for step ----------

// Grayscale in [0, 1] of opaque RGBA pixels, as load_gray computes it: a gray pixel (an 8-bit grayscale
// PNG decodes to R = G = B) is v/255, a coloured one 0.299 R + 0.587 G + 0.114 B.
export function toGray({data, width, height}) {
  const g = new Float64Array(width * height);
  for (let i = 0; i < g.length; i++) {
    const [r, gr, b] = [data[4 * i], data[4 * i + 1], data[4 * i + 2]];
    g[i] = r === gr && gr === b ? r / 255 : r / 255 * 0.299 + gr / 255 * 0.587 + b / 255 * 0.114;
  }
  return g;
}

// np.median: the middle value, or the mean of the two middle ones.
function median(values) {
  const s = Float64Array.from(values).sort(), n = s.length;
  return n % 2 ? s[(n - 1) / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
}

// Python's round(): halves go to the even neighbour.
function roundHalfEven(x) {
  const f = Math.floor(x), d = x - f;
  return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f;
}

// NumPy's float32 sum of n values (pairwise summation, 8 accumulators), so that centres of mass match.
function sum32(a, start, n) {
  if (n < 8) { let s = 0; for (let i = 0; i < n; i++) s = Math.fround(s + a[start + i]); return s; }
  if (n <= 128) {
    const r = Array.from({length: 8}, (_, j) => a[start + j]);
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] = Math.fround(r[j] + a[start + i + j]);
    const f = (x, y) => Math.fround(x + y);
    let s = f(f(f(r[0], r[1]), f(r[2], r[3])), f(f(r[4], r[5]), f(r[6], r[7])));
    for (; i < n; i++) s = Math.fround(s + a[start + i]);
    return s;
  }
  let n2 = Math.floor(n / 2); n2 -= n2 % 8;
  return Math.fround(sum32(a, start, n2) + sum32(a, start + n2, n - n2));
}

// Pillow's Lanczos filter weights (Resample.c, precompute_coeffs) for resizing inSize pixels to outSize.
const sinc = x => x === 0 ? 1 : Math.sin(x * Math.PI) / (x * Math.PI);
const lanczos = x => -3 <= x && x < 3 ? sinc(x) * sinc(x / 3) : 0;
function lanczosWeights(inSize, outSize) {
  const scale = inSize / outSize, filterscale = Math.max(scale, 1), support = 3 * filterscale;
  return Array.from({length: outSize}, (_, o) => {
    const center = (o + 0.5) * scale;
    const lo = Math.max(Math.trunc(center - support + 0.5), 0), hi = Math.min(Math.trunc(center + support + 0.5), inSize);
    const k = Array.from({length: hi - lo}, (_, x) => lanczos((x + lo - center + 0.5) / filterscale));
    const total = k.reduce((s, w) => s + w, 0);
    return {lo, k: total !== 0 ? k.map(w => w / total) : k};
  });
}

// Pillow's resize of a float32 ('F') image: rows first, then columns, each pass stored as float32.
function resizeLanczos(src, w, h, nw, nh) {
  let cur = src, cw = w;
  if (nw !== w) {
    const ws = lanczosWeights(w, nw), out = new Float32Array(nw * h);
    for (let y = 0; y < h; y++) ws.forEach(({lo, k}, x) => {
      let s = 0; for (let i = 0; i < k.length; i++) s += cur[y * cw + lo + i] * k[i];
      out[y * nw + x] = s;
    });
    cur = out; cw = nw;
  }
  if (nh !== h) {
    const ws = lanczosWeights(h, nh), out = new Float32Array(cw * nh);
    ws.forEach(({lo, k}, y) => { for (let x = 0; x < cw; x++) {
      let s = 0; for (let i = 0; i < k.length; i++) s += cur[(lo + i) * cw + x] * k[i];
      out[y * cw + x] = s;
    } });
    cur = out;
  }
  return cur;
}

// An image (ImageData-like: RGBA bytes, width, height) as the model's input: 32x32 float32, light ink centred on
// black; null when the image is all one colour (nothing drawn), where preprocess raises ImageError.
export function preprocess(image) {
  const {width: W, height: H} = image;
  let g = toGray(image);
  const edge = a => { const e = [];
    for (let x = 0; x < W; x++) e.push(a[x], a[(H - 1) * W + x]);
    for (let y = 0; y < H; y++) e.push(a[y * W], a[y * W + W - 1]);
    return e; };
  if (median(edge(g)) > 0.5) g = g.map(v => 1 - v);                 // 1. polarity: light paper is inverted
  const lo = median(edge(g)), hi = g.reduce((m, v) => Math.max(m, v), -Infinity);
  if (hi - lo < 0.1) return null;                                     // no contrast: no digit
  let top = H, bottom = -1, left = W, right = -1;
  for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) {           // 2. stretch, clear faint pixels
    let v = Math.min(Math.max((g[y * W + x] - lo) / (hi - lo), 0), 1);
    if (v < 0.15) v = 0;
    g[y * W + x] = v;
    if (v > 0) { top = Math.min(top, y); bottom = Math.max(bottom, y); left = Math.min(left, x); right = Math.max(right, x); }
  }
  const h = bottom - top + 1, w = right - left + 1, crop = new Float32Array(h * w);  // 3. crop to the ink
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) crop[y * w + x] = g[(top + y) * W + left + x];
  const s = 20 / Math.max(h, w);                                      // 4. longest side to 20 px
  const nh = Math.max(1, roundHalfEven(h * s)), nw = Math.max(1, roundHalfEven(w * s));
  const r = resizeLanczos(crop, w, h, nw, nh).map(v => Math.min(Math.max(v, 0), 1));
  const total = sum32(r, 0, nh * nw);                                 // 5. centre of mass to the middle of 28x28
  let cy = nh / 2, cx = nw / 2;
  if (total > 0) {
    const cols = nw === 1 ? [total] : r.slice(0, nw);                // NumPy adds rows one by one (a column: pairwise)
    if (nw > 1) for (let y = 1; y < nh; y++) for (let x = 0; x < nw; x++) cols[x] += r[y * nw + x];
    cy = 0; for (let y = 0; y < nh; y++) cy += sum32(r, y * nw, nw) * (y + 0.5);
    cx = 0; for (let x = 0; x < nw; x++) cx += cols[x] * (x + 0.5);
    cy /= total; cx /= total;
  }
  const t = roundHalfEven(14 - cy), l = roundHalfEven(14 - cx), out = new Float32Array(32 * 32);
  for (let y = Math.max(t, 0); y < Math.min(t + nh, 28); y++)         // ...and pad by 2 to 32x32
    for (let x = Math.max(l, 0); x < Math.min(l + nw, 28); x++) out[(2 + y) * 32 + 2 + x] = r[(y - t) * nw + x - l];
  return out;
}

// ---------- The model: lenet5.onnx run by onnxruntime-web, its metadata from lenet5.json ----------

let ort, session, meta;

// Load the runtime, the model and its metadata; rejects with a message a reader can act on.
export async function load() {
  if (typeof WebAssembly !== 'object') throw new Error('This browser has no WebAssembly, which the model needs to run here.');
  try { ort = await import(new URL('ort/ort.wasm.min.mjs', HERE).href); }
  catch (e) { throw new Error(`The WebAssembly runtime (demo/ort/) could not be loaded: ${e.message}`); }
  ort.env.wasm.numThreads = 1;
  ort.env.wasm.wasmPaths = new URL('ort/', HERE).href;
  const fetched = async name => {
    const r = await fetch(new URL(name, HERE)).catch(e => ({ok: false, statusText: e.message}));
    if (!r.ok) throw new Error(`The model file demo/${name} could not be loaded (${r.status || ''} ${r.statusText}).`.replace('( ', '('));
    return r;
  };
  meta = await (await fetched('lenet5.json')).json();
  const bytes = new Uint8Array(await (await fetched('lenet5.onnx')).arrayBuffer());
  try { session = await ort.InferenceSession.create(bytes, {executionProviders: ['wasm']}); }
  catch (e) { throw new Error(`The model could not be started in WebAssembly: ${e.message}`); }
  return meta;
}

// Softmax of one row of logits (lenet5_nbdev.preprocess.softmax).
export function softmax(logits) {
  const m = Math.max(...logits), e = Array.from(logits, v => Math.exp(v - m)), s = e.reduce((a, b) => a + b, 0);
  return e.map(v => v / s);
}

// Logits for n inputs (n x 1024 float32 values, concatenated): an array of n arrays of ten.
async function logitsOf(x, n = 1) {
  const out = await session.run({[meta.input]: new ort.Tensor('float32', x, [n, 1, 32, 32])});
  const logits = out[meta.output].data;
  return Array.from({length: n}, (_, i) => Array.from(logits.subarray(i * 10, i * 10 + 10)));
}

// Probabilities for n inputs: an array of n arrays of ten.
export async function run(x, n = 1) { return (await logitsOf(x, n)).map(softmax); }

// The energy score: log-sum-exp of the logits (lenet5_nbdev.confidence.confidence_scores).
export function energy(logits) {
  const m = Math.max(...logits);
  return m + Math.log(logits.reduce((a, v) => a + Math.exp(v - m), 0));
}

// One image's answer, as lenet5_nbdev.confidence.prediction gives it, with the model's own score and threshold.
export async function classify(image) {
  const x = preprocess(image);
  if (!x) return null;
  const logits = (await logitsOf(x))[0], probs = softmax(logits), digit = probs.indexOf(Math.max(...probs));
  const score = meta.confidence_score === 'energy' ? energy(logits) : probs[digit];
  return {digit, confidence: probs[digit], probs, score, uncertain: score < meta.uncertain_below, input: x};
}

// ---------- The page: a canvas to draw on, the model's view of it, ten bars ----------

function mount(root) {
  const $ = sel => root.querySelector(sel);
  const pad = $('.l5-pad'), seen = $('.l5-seen'), status = $('.l5-status'), note = $('.l5-note');
  const ctx = pad.getContext('2d', {willReadFrequently: true});
  const bars = Array.from({length: 10}, (_, d) => {
    const row = document.createElement('div');
    row.className = 'l5-row';
    row.innerHTML = `<span class="l5-digit">${d}</span><span class="l5-track"><span class="l5-fill"></span></span><span class="l5-pct"></span>`;
    $('.l5-bars').append(row);
    return row;
  });
  const say = (state, html) => { status.dataset.state = state; status.innerHTML = html; };
  const show = r => bars.forEach((row, d) => {
    const p = r ? r.probs[d] : 0;
    row.querySelector('.l5-fill').style.width = `${(100 * p).toFixed(1)}%`;
    row.querySelector('.l5-pct').textContent = r ? `${Math.round(100 * p)}%` : '';
    row.classList.toggle('l5-top', !!r && d === r.digit);
  });
  const clear = () => { ctx.fillStyle = '#fff'; ctx.fillRect(0, 0, pad.width, pad.height); };
  const blank = () => { show(null); seen.getContext('2d').clearRect(0, 0, 32, 32); status.dataset.digit = '';
                        say('empty', 'Draw a digit in the box.'); };

  let ready = false, queued = false, job = Promise.resolve();
  function answer() {             // one inference at a time, at most one waiting: the latest drawing wins
    if (!ready || queued) return job;
    queued = true;
    return job = job.then(async () => {
      queued = false;
      const t = performance.now();
      let r;
      try { r = await classify(ctx.getImageData(0, 0, pad.width, pad.height)); }
      catch (e) { say('error', `The model failed on this drawing: ${e.message}`); return; }
      if (!r) return blank();
      const ms = performance.now() - t, img = seen.getContext('2d').createImageData(32, 32);
      r.input.forEach((v, i) => img.data.set([255 * v, 255 * v, 255 * v, 255], 4 * i));
      seen.getContext('2d').putImageData(img, 0, 0);
      show(r);
      status.dataset.digit = r.digit;
      const pct = `${(100 * r.confidence).toFixed(0)}%`;
      const below = meta.confidence_score === 'energy'
        ? `${pct} sure, but its energy score ${r.score.toFixed(2)} is below this model's threshold of ` +
          `${meta.uncertain_below.toFixed(2)}`
        : `only ${pct} sure, below this model's ${(100 * meta.uncertain_below).toFixed(0)}% threshold`;
      say(r.uncertain ? 'uncertain' : 'answer', r.uncertain
        ? `Perhaps a <b>${r.digit}</b>, ${below}: <b>uncertain</b>.`
        : `It reads <b>${r.digit}</b> (${pct} sure).`);
      note.textContent = `Preprocessing and inference took ${ms.toFixed(1)} ms, in this browser.`;
      window.lenet5.last = {...r, ms};
    });
  }
  window.lenet5.settled = () => job;  // for tests: resolves once the latest drawing has its answer

  let last = null;
  const at = e => { const b = pad.getBoundingClientRect();
                    return [(e.clientX - b.left) * pad.width / b.width, (e.clientY - b.top) * pad.height / b.height]; };
  pad.addEventListener('pointerdown', e => {
    e.preventDefault();
    try { pad.setPointerCapture(e.pointerId); } catch {}  // synthetic events have no pointer to capture
    last = at(e);
    ctx.beginPath(); ctx.arc(...last, ctx.lineWidth / 2, 0, 2 * Math.PI); ctx.fillStyle = '#111'; ctx.fill();
  });
  pad.addEventListener('pointermove', e => {
    if (!last) return;
    const p = at(e);
    ctx.beginPath(); ctx.moveTo(...last); ctx.lineTo(...p); ctx.stroke();
    last = p; answer();
  });
  for (const type of ['pointerup', 'pointercancel']) pad.addEventListener(type, () => { if (last) { last = null; answer(); } });
  $('.l5-clear').addEventListener('click', () => { clear(); answer(); });  // after any answer still running

  Object.assign(ctx, {lineWidth: Math.round(pad.width / 12), lineCap: 'round', lineJoin: 'round', strokeStyle: '#111'});
  clear();
  say('loading', 'Loading the model and the WebAssembly runtime…');
  window.lenet5.ready = load().then(m => {
    ready = true; answer();           // "draw a digit", or an answer to what was drawn while loading
    const acc = typeof m.test_acc === 'number' ? `, ${(100 * m.test_acc).toFixed(2)}% on the MNIST test set` : '';
    const t = m.confidence_score === 'energy' ? `an energy score of ${m.uncertain_below.toFixed(2)}`
                                              : `${(100 * m.uncertain_below).toFixed(0)}% sure`;
    $('.l5-model').textContent = `Model: ${m.model}${acc}; uncertain below ${t}.`;
    window.lenet5.loadedAt = performance.now();
  }, e => { say('error', `The model cannot run on this page. ${e.message}`); throw e; });
}

if (typeof document !== 'undefined') {  // (imported without a page, e.g. by Node, it only defines the functions)
  window.lenet5 = {preprocess, load, run, classify, softmax, energy};
  const root = document.getElementById('lenet5-demo');
  if (root) mount(root);
}
