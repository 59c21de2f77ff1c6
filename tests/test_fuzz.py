"""Property-based tests of the code that reads outside data: image preprocessing and the MNIST raw-file checks."""
import io, os
from pathlib import Path
import numpy as np
import pytest
from hypothesis import given, settings, strategies as st, HealthCheck
from PIL import Image
from lenet5_nbdev.preprocess import preprocess, ImageError
from lenet5_nbdev.data import check_idx_file, MNISTDataError, MNIST_FILES

MODES = ['L', 'RGB', 'RGBA', 'LA', 'P', 'I;16', '1', 'I', 'F', 'CMYK']

@st.composite
def images(draw, max_side=2000):
    "An image built from a few drawn parameters: size, mode, noise, blank or not, as PIL, array or encoded file."
    w, h = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    mode, seed, blank = draw(st.sampled_from(MODES)), draw(st.integers(0, 2**32 - 1)), draw(st.booleans())
    rng = np.random.default_rng(seed)
    a = np.full((h, w), rng.integers(0, 256), np.uint8) if blank else rng.integers(0, 256, (h, w), dtype=np.uint8)
    if not blank and min(w, h) > 4:  # a stroke, so that some images hold something digit-like
        a[h // 4: 3 * h // 4, w // 2 - max(1, w // 10): w // 2 + max(1, w // 10)] = 0
    img = Image.fromarray(a).convert(mode) if mode not in ('I;16',) else Image.fromarray(a.astype(np.uint16) * 257)
    form = draw(st.sampled_from(['pil', 'array', 'png', 'gif', 'bmp', 'jpeg']))
    if form == 'pil': return img
    if form == 'array': return np.asarray(img.convert('RGBA' if mode in ('P', 'CMYK') else img.mode))
    buf = io.BytesIO()
    try: img.save(buf, format=form.upper())
    except (OSError, ValueError, KeyError): img.convert('RGB' if form == 'jpeg' else 'L').save(buf, format=form.upper())
    buf.seek(0)
    return Image.open(buf)

def check(img):
    try: x = preprocess(img)
    except ImageError as e:
        assert str(e)  # the clear error, with a message
        return
    assert x.shape == (1, 32, 32) and x.dtype == np.float32
    assert np.isfinite(x).all() and x.min() >= 0 and x.max() <= 1

@pytest.mark.timeout(300)
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(images(max_side=400))
def test_preprocess_never_crashes(img): check(img)

@pytest.mark.timeout(300)
@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(images(max_side=2000))
def test_preprocess_large_images(img): check(img)

@pytest.mark.slow
@pytest.mark.timeout(3600)
@settings(max_examples=2000, deadline=None, suppress_health_check=list(HealthCheck))
@given(images(max_side=2000))
def test_preprocess_fuzz_long(img): check(img)

# --- raw files -------------------------------------------------------------------------------------------

def _real(name):
    root = os.environ.get('LENET5_DATA')
    p = Path(root)/'MNIST'/'raw'/name if root else None
    return p if p and p.exists() else None

def _check_bytes(tmp_path, name, data):
    p = tmp_path/name
    p.write_bytes(data)
    with pytest.raises(MNISTDataError) as e: check_idx_file(p)
    assert str(p) in str(e.value)

@pytest.mark.timeout(300)
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(MNIST_FILES), data=st.binary(max_size=4096))
def test_random_bytes_raise_the_clear_error(tmp_path, name, data): _check_bytes(tmp_path, name, data)

@pytest.mark.timeout(300)
@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=st.sampled_from(['t10k-labels-idx1-ubyte', 't10k-images-idx3-ubyte']), truncate=st.booleans(),
       cut=st.integers(0, 10_007), flip=st.integers(0, 15))
def test_damaged_real_files_raise_the_clear_error(tmp_path, name, truncate, cut, flip):
    "The real file cut short anywhere, or with any one header byte damaged: always the clear error."
    real = _real(name)
    if real is None: pytest.skip('LENET5_DATA is not set: no real MNIST files to damage')
    data = bytearray(real.read_bytes())
    header = 16 if 'images' in name else 8
    if truncate: data = data[:cut % len(data)]
    else: data[flip % header] ^= 0xFF
    _check_bytes(tmp_path, name, bytes(data))
