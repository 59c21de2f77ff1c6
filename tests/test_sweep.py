"""Sweeps as a user runs them: worker processes sharing a journal file, and a real PostgreSQL server with a worker killed mid-trial."""
import json, os, shutil, signal, socket, subprocess, sys, tempfile, time
from pathlib import Path
import pytest
from conftest import script

pytest.importorskip('optuna', reason='the sweep extra is not installed: pip install -e ".[sweep]"')
from optuna.trial import TrialState
from lenet5_nbdev.sweep import sweep_storage, open_study, make_plan, run_sweep

QUICK = ['--epochs', '1', '--limit', '2560', '--device', 'cpu']  # a short epoch on a slice of MNIST

def sweep(*args, **kwargs):
    return subprocess.run([script('lenet5_sweep'), *args], capture_output=True, text=True, timeout=600, **kwargs)

def needs_data():
    if not os.environ.get('LENET5_DATA'): pytest.skip('LENET5_DATA is not set: no MNIST to train on')

def seed(t):
    "A trial's seed: suggested, or (a trial killed before it asked) the one it was queued with."
    return (t.params or t.system_attrs.get('fixed_params', {})).get('seed')

def by_seed(study):
    "Seed -> the states of its trials."
    out = {}
    for t in study.get_trials(): out.setdefault(seed(t), []).append(t.state)
    return out

def test_two_workers_share_a_journal(tmp_path):
    "Every queued seed runs exactly once, over two worker processes whose samplers have different seeds."
    needs_data()
    r = sweep('--recipe', 'tutorial', '--seeds', '0-3', *QUICK, '--out', str(tmp_path), '--workers', '2')
    assert r.returncode == 0, r.stderr
    study = open_study(sweep_storage(folder=tmp_path), 'tutorial-seeds')
    assert by_seed(study) == {s: [TrialState.COMPLETE] for s in range(4)}, by_seed(study)
    workers = {t.user_attrs['worker'] for t in study.trials}
    assert len(workers) == 2, workers
    assert len({t.user_attrs['sampler_seed'] for t in study.trials}) == 2, "the two workers' samplers share a seed"
    assert all(len(t.user_attrs['record']['history']) == 1 for t in study.trials)
    assert 'seed 3' in r.stdout and 'complete' in r.stdout
    again = sweep('--recipe', 'tutorial', '--seeds', '0-3', *QUICK, '--out', str(tmp_path))  # resumes: nothing left to run
    assert again.returncode == 0 and len(study.get_trials()) == 4, again.stderr
    rec = tmp_path/'recipe-tutorial-cpu.json'  # --record: the seed record of the finished sweep, as a results file
    r = sweep('--study', 'tutorial-seeds', '--out', str(tmp_path), '--show', '--record', str(rec))
    assert r.returncode == 0 and [x['seed'] for x in json.loads(rec.read_text())['runs']] == [0, 1, 2, 3], r.stderr
    r = sweep('--recipe', 'tutorial', '--seeds', '7', *QUICK, '--out', str(tmp_path), '--study', 'new', '--show',
              '--record', str(tmp_path/'no.json'))  # --show: nothing runs, so nothing to record
    assert r.returncode == 2 and 'no finished run' in r.stderr and not (tmp_path/'no.json').exists(), r.stderr

def test_ctrl_c_stops_cleanly_and_the_same_command_resumes(tmp_path):
    "Ctrl-C (SIGINT to the whole process group, as a terminal sends it) mid-trial: exit 130, one line, nothing lost."
    needs_data()
    args = [script('lenet5_sweep'), '--recipe', 'tutorial', '--seeds', '0-3', '--epochs', '2', '--limit', '3840', '--device', 'cpu',
            '--out', str(tmp_path), '--workers', '2']
    p = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    study, deadline = None, time.monotonic() + 120
    while time.monotonic() < deadline:  # wait until both workers are mid-trial
        if (tmp_path/'journal.log').exists():
            study = study or open_study(sweep_storage(folder=tmp_path), 'tutorial-seeds')
            if len(study.get_trials(states=(TrialState.RUNNING,))) == 2: break
        time.sleep(0.2)
    else: pytest.fail('the workers never started a trial')
    time.sleep(1)
    os.killpg(p.pid, signal.SIGINT)
    out, err = p.communicate(timeout=60)
    assert p.returncode == 130, (p.returncode, err)
    assert 'interrupted; finished trials are kept: run the same command again to resume tutorial-seeds' in err and 'Traceback' not in err, err
    # at once: the command joined its workers and multiprocessing's resource tracker before it exited,
    # so nothing of its process group is left, not even a zombie (pgrep lists those too)
    left = subprocess.run(['pgrep', '-g', str(p.pid)], capture_output=True, text=True).stdout.split()
    assert not left, subprocess.run(['ps', '-o', 'pid,ppid,stat,args', '-p', ','.join(left)],
                                    capture_output=True, text=True).stdout
    assert not study.get_trials(states=(TrialState.RUNNING,)), "a trial was left running"
    r = subprocess.run(args, capture_output=True, text=True, timeout=600)  # the same command again: resumes
    assert r.returncode == 0, r.stderr
    complete = [seed(t) for t in study.get_trials(states=(TrialState.COMPLETE,))]
    assert sorted(complete) == [0, 1, 2, 3], by_seed(study)

def test_pruned_trials_are_recorded(tmp_path):
    "A search over two workers: the budget is kept exactly, and pruned trials say so."
    needs_data()
    import optuna
    storage = sweep_storage(folder=tmp_path, workers=2)
    open_study(storage, 'fast-search', make_plan('fast', search=4, epochs=2, limit=2560, space={'lr': [0.02, 0.2]}))
    study = run_sweep('fast-search', folder=tmp_path, workers=2, device='cpu', pruner=optuna.pruners.ThresholdPruner(lower=1.1))
    trials = study.get_trials()
    assert [t.state for t in trials] == [TrialState.COMPLETE] + [TrialState.PRUNED] * 3, [t.state for t in trials]
    assert trials[0].user_attrs['baseline'] and trials[0].params == {'lr': 0.1}, "the first trial is the recipe as it is"
    assert [len(t.user_attrs['record']['history']) for t in trials] == [2, 1, 1, 1], "the baseline runs to its end, the others are pruned after their first epoch"
    assert len({t.user_attrs['worker'] for t in trials}) == 2

# --- a real PostgreSQL server, started here and stopped at the end ---

def _free_port():
    with socket.socket() as s: s.bind(('127.0.0.1', 0)); return s.getsockname()[1]

@pytest.fixture(scope='module')
def postgres():
    "A throwaway PostgreSQL server on 127.0.0.1 (initdb + pg_ctl in a temp folder); its URL."
    bins = sorted(Path('/usr/lib/postgresql').glob('*/bin/initdb'))
    if not bins:
        msg = "PostgreSQL binaries not found (apt-get install postgresql)"
        if os.environ.get('LENET5_STRICT') == '1': pytest.fail(msg + ": LENET5_STRICT=1")
        pytest.skip(msg)
    bin_dir = bins[-1].parent
    as_pg = ['runuser', '-u', 'postgres', '--'] if os.geteuid() == 0 else []  # initdb refuses root
    d = Path(tempfile.mkdtemp(prefix='lenet5-pg-'))
    if as_pg: shutil.chown(d, 'postgres')
    port = _free_port()
    pg = lambda *a, **kw: subprocess.run([*as_pg, str(bin_dir/a[0]), *a[1:]], check=True, capture_output=True, text=True, **kw)
    pg('initdb', '-D', str(d/'data'), '-A', 'trust', '-U', 'postgres')
    pg('pg_ctl', '-D', str(d/'data'), '-l', str(d/'log'), '-w', '-o', f'-h 127.0.0.1 -p {port} -k {d}', 'start')
    try:
        pg('createdb', '-h', '127.0.0.1', '-p', str(port), '-U', 'postgres', 'sweeps')
        yield f'postgresql://postgres@127.0.0.1:{port}/sweeps'
    finally:
        pg('pg_ctl', '-D', str(d/'data'), '-m', 'immediate', '-w', 'stop')
        shutil.rmtree(d, ignore_errors=True)

def test_postgres_worker_killed(postgres):
    "Three workers join a study in PostgreSQL; one is killed (SIGKILL) mid-trial: its trial is re-run, every seed completes once."
    needs_data()
    seeds = ['--recipe', 'tutorial', '--seeds', '0-5', '--epochs', '1', '--limit', '12800', '--device', 'cpu']
    r = sweep(*seeds, '--storage', postgres, '--study', 'killed', '--show')  # make the study and queue its seeds
    assert r.returncode == 0, r.stderr
    join = [script('lenet5_sweep'), '--storage', postgres, '--study', 'killed', '--heartbeat', '1', '--device', 'cpu']
    env = os.environ | {'OMP_NUM_THREADS': '1'}
    procs = [subprocess.Popen(join, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True, env=env) for _ in range(3)]
    study = open_study(sweep_storage(postgres, heartbeat=1), 'killed')
    victim, killed = procs[0], None
    deadline = time.time() + 300
    while killed is None and time.time() < deadline:
        for t in study.get_trials(states=(TrialState.RUNNING,)):
            pid = int(t.user_attrs.get('worker', ':0').rpartition(':')[2])
            try: mine = pid and os.getpgid(pid) == victim.pid
            except ProcessLookupError: mine = False
            if mine: os.killpg(victim.pid, signal.SIGKILL); killed = t.number; break
        time.sleep(0.05)
    assert killed is not None, "the victim never ran a trial"
    for p in procs[1:]:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    victim.wait()
    states = by_seed(study)
    assert all(s.count(TrialState.COMPLETE) == 1 for s in states.values()) and sorted(states) == list(range(6)), states
    failed = [t for t in study.get_trials() if t.state == TrialState.FAIL]
    assert [t.number for t in failed] == [killed], failed
    retry = [t for t in study.get_trials() if t.system_attrs.get('failed_trial') == killed]
    assert len(retry) == 1 and retry[0].state == TrialState.COMPLETE, [t.system_attrs for t in study.get_trials()]
    print(f"\nkilled worker's trial {killed} (seed {seed(failed[0])}) failed by the heartbeat and re-run as trial {retry[0].number}; "
          f"{sum(s.count(TrialState.COMPLETE) for s in states.values())} seeds complete, each once")
