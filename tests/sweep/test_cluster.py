"""A real multi-process Dask cluster on this machine: a `dask scheduler` and two
`dask worker` processes on 127.0.0.1, as a user would start them on several machines."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from sweep_helpers import EXAMPLE, computed_table, write_sweep

import neurocc
from neurocc.sweep import SweepSummary, expand, read_sweep, run_sweep
from neurocc.sweep.dataset import simulate_on_cluster

DASK = str(Path(sys.executable).parent / "dask")
START_TIMEOUT_S = 90


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Cluster:
    def __init__(self) -> None:
        port = _free_port()
        self.address = f"tcp://127.0.0.1:{port}"
        quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
        self.scheduler = subprocess.Popen([DASK, "scheduler", "--host", "127.0.0.1", "--port",
                                           str(port), "--no-dashboard"], **quiet)
        # No nanny: killing a worker process kills the worker, as a machine failure would.
        self.workers = [subprocess.Popen([DASK, "worker", self.address, "--nthreads", "1",
                                          "--no-nanny", "--no-dashboard", "--name", f"w{i}",
                                          "--death-timeout", "60"], **quiet) for i in range(2)]

    def wait_for_workers(self, count: int) -> None:
        from distributed import Client

        with Client(self.address, timeout=f"{START_TIMEOUT_S}s") as client:
            client.wait_for_workers(count, timeout=START_TIMEOUT_S)

    def close(self) -> None:
        for process in [*self.workers, self.scheduler]:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in [*self.workers, self.scheduler]:
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    running = Cluster()
    try:
        running.wait_for_workers(2)
        yield running
    finally:
        running.close()


def test_killing_a_worker_mid_sweep_loses_nothing(cluster: Cluster, tmp_path: Path) -> None:
    path = write_sweep(tmp_path, f"""
models: [{EXAMPLE / 'digits_lif.nir'}]
targets: [reference, loihi2, spinnaker2]
pipelines: [[], [prune.magnitude:fraction=0.5]]
weight_bits: [8, 6, 4]
input: {{path: {EXAMPLE / 'digits_test.npz'}, samples: 100}}
""")
    summary: list[SweepSummary] = []
    thread = threading.Thread(target=lambda: summary.append(
        run_sweep(path, tmp_path / "cluster", cluster.address, progress=False)))
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not list((tmp_path / "cluster" / "records").glob("*.json")):
        assert time.monotonic() < deadline and thread.is_alive(), "no task finished"
        time.sleep(0.02)
    victim = cluster.workers[0]
    os.kill(victim.pid, signal.SIGKILL)
    victim.wait(timeout=30)
    thread.join(timeout=300)
    assert summary and summary[0].lost == 0 and summary[0].failed == 0
    assert summary[0].ran == summary[0].total == len(expand(read_sweep(path)))
    serial = run_sweep(path, tmp_path / "serial", "none", progress=False)
    assert computed_table(summary[0].table) == computed_table(serial.table)


def test_dataset_evaluation_through_the_cluster_equals_a_local_run(cluster: Cluster) -> None:
    with np.load(EXAMPLE / "digits_test.npz") as data:
        spikes = data["spikes"][:97]  # an odd size: slices of unequal length
    for target in ("reference", "loihi2", "spinnaker2"):
        art = neurocc.compile(EXAMPLE / "digits_lif.nir", target)
        local = neurocc.simulate(art, spikes, record_states=True)
        remote = simulate_on_cluster(art, spikes, cluster.address, slices=5,
                                     record_states=True)
        assert local.spikes.keys() == remote.spikes.keys()
        for name in local.spikes:
            np.testing.assert_array_equal(local.spikes[name], remote.spikes[name])
        for name in local.states:
            np.testing.assert_array_equal(local.states[name], remote.states[name])
        assert dict(local.counters) == dict(remote.counters), target
