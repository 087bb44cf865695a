#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Data-parallel training over real MPI (issue 27), under mpirun -np 2 on
this machine (shared memory and loopback only):
1. equal: LeNet-5, a small ResNet with synchronised batch norm and EC2T
   phase A (target sparsity) + B end, on both ranks, with the weights of one
   process on the global batch (mpi-train checks; tolerance in
   test-collective.c);
2. kill: SIGKILL to one training rank makes mpirun end the other, with a
   non-zero status, within seconds;
3. fail: a rank whose epoch fails calls the hook's abort, and every rank
   stops with an error and the failing rank's message.
Skipped (77) when MPI or mpirun is absent."""
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

SKIP = 77


def mpirun_cmd(mpirun, exe, args):
    cmd = [mpirun, '-np', '2', '--mca', 'btl', 'self,vader', '--oversubscribe']
    if os.geteuid() == 0:
        cmd.append('--allow-run-as-root')
    return cmd + [exe] + args


def main():
    exe = sys.argv[1] if len(sys.argv) > 1 else ''
    mpirun = shutil.which('mpirun')
    if not exe or not os.path.exists(exe):
        print('SKIP: libec2t was built without MPI (meson found no mpi dependency; '
              'install libopenmpi-dev)')
        return SKIP
    if not mpirun:
        print('SKIP: mpirun is absent (install openmpi-bin)')
        return SKIP
    env = dict(os.environ, OMPI_MCA_rmaps_base_oversubscribe='1')

    # 1. the same weights as one process
    t0 = time.time()
    r = subprocess.run(mpirun_cmd(mpirun, exe, ['equal']), capture_output=True, text=True,
                       timeout=240, env=env)
    print(r.stdout, r.stderr, sep='\n')
    assert r.returncode == 0, 'equal: exit status %d' % r.returncode
    assert r.stdout.count('max relative difference') == 3, r.stdout
    print('equal: %.1f s' % (time.time() - t0))

    # 2. a killed rank ends the job
    with tempfile.TemporaryDirectory() as d:
        p = subprocess.Popen(mpirun_cmd(mpirun, exe, ['hang', d]), stdout=subprocess.PIPE,
                             stderr=subprocess.STDOUT, text=True, env=env)
        pidfile = os.path.join(d, 'rank-1.pid')
        deadline = time.time() + 60
        while not (os.path.exists(pidfile) and os.path.exists(os.path.join(d, 'rank-0.pid'))):
            assert p.poll() is None, 'hang: the job ended before training'
            assert time.time() < deadline, 'hang: the ranks never started'
            time.sleep(0.1)
        time.sleep(1.0)  # both ranks are inside training now
        assert p.poll() is None, 'hang: the job ended by itself'
        with open(pidfile) as f:
            os.kill(int(f.read()), signal.SIGKILL)
        t0 = time.time()
        try:
            out, _ = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            p.kill()
            raise AssertionError('kill: the other rank still ran 20 s after rank 1 was killed')
        waited = time.time() - t0
        print(out)
        assert p.returncode != 0, 'kill: mpirun exited 0'
        print('kill: the job ended %.1f s after rank 1 was killed, status %d' %
              (waited, p.returncode))
        assert waited < 10, 'kill: took %.1f s' % waited

    # 3. a failing rank stops every rank through the hook's abort
    t0 = time.time()
    r = subprocess.run(mpirun_cmd(mpirun, exe, ['fail']), capture_output=True, text=True,
                       timeout=60, env=env)
    waited = time.time() - t0
    print(r.stdout, r.stderr, sep='\n')
    assert r.returncode != 0, 'fail: exit status 0'
    assert 'rank 1 of 2 failed' in r.stderr, 'fail: no message from the failing rank'
    print('fail: every rank stopped after %.1f s, status %d' % (waited, r.returncode))
    assert waited < 30
    return 0


if __name__ == '__main__':
    sys.exit(main())
