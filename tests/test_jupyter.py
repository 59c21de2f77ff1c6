"""The notebooks as a user opens them: run top to bottom through a real Jupyter kernel, from nbs/."""
import os
import nbformat, pytest
from nbclient import NotebookClient
from conftest import ROOT

@pytest.mark.parametrize('name', ['02_model', '22_progress'])
def test_runs_in_a_jupyter_kernel(name, tmp_path):
    nb = nbformat.read(ROOT/'nbs'/f'{name}.ipynb', as_version=4)
    env = dict(os.environ, OMP_NUM_THREADS=os.environ.get('OMP_NUM_THREADS', '1'))
    # python3 is this environment's own kernel (ipykernel from the dev extra), started in nbs/ as JupyterLab does
    NotebookClient(nb, timeout=600, kernel_name='python3', resources={'metadata': {'path': str(ROOT/'nbs')}}).execute(env=env)
    outputs = [o for c in nb.cells if c.cell_type == 'code' for o in c.get('outputs', [])]
    errors = [o for o in outputs if o.output_type == 'error']
    assert not errors, f"{name}: {errors[0].ename}: {errors[0].evalue}"
    stderr = ''.join(o.text for o in outputs if o.output_type == 'stream' and o.name == 'stderr')
    assert 'IProgress not found' not in stderr and 'Warning' not in stderr, stderr[:500]
