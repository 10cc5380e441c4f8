# Measurement primitives for bench/: spawn a command, time it, read its rusage, keep samples.
#
# Why our own harness and not hyperfine: the issue asks for the tools to be interleaved
# (berth crun runc floor berth crun runc floor ...) so that a load spike from the other jobs
# on this machine hits every tool alike; hyperfine runs all of one command before the next.
# Commands are started with posix_spawn (vfork, no Python fork cost) and reaped with wait4,
# whose rusage is exactly what GNU time's %U %S %M report: CPU of the process and of the
# descendants it reaped, and the peak RSS of the largest of them.
import json
import os
import statistics
import sys
import time
import ctypes
import re
import signal

DEVNULL = "/dev/null"


class CommandFailed(Exception):
    def __init__(self, argv, rc, err):
        self.argv, self.rc, self.err = argv, rc, err
        # Tools print progress before the error: the last line is the one that says why.
        lines = [l.strip() for l in err.splitlines() if l.strip()]
        last = lines[-1] if lines else "(no message)"
        super().__init__(f"{os.path.basename(argv[0])} exited {rc}: {last}")


def log(msg):
    print(f"bench: {msg}", file=sys.stderr, flush=True)


def _stderr_file():
    path = os.path.join(os.environ.get("BENCH_TMP", "/tmp"), f"stderr.{os.getpid()}")
    return path


def spawn(argv, cwd=None, stdout=DEVNULL, env=None):
    """Starts argv with stdin/stdout on /dev/null and stderr captured; returns (pid, errpath)."""
    errpath = _stderr_file() + f".{time.monotonic_ns()}"
    fa = [
        (os.POSIX_SPAWN_OPEN, 0, DEVNULL, os.O_RDONLY, 0),
        (os.POSIX_SPAWN_OPEN, 1, stdout, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
        (os.POSIX_SPAWN_OPEN, 2, errpath, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
    ]
    if cwd:
        # posix_spawn has no chdir action before Python 3.13: go through env(1)-free sh.
        argv = ["/bin/sh", "-c", 'cd "$0" && exec "$@"', cwd] + list(argv)
    spawner = os.posix_spawn if argv[0].startswith("/") else os.posix_spawnp
    try:
        pid = spawner(argv[0], list(argv), env if env is not None else os.environ, file_actions=fa)
    except OSError as e:
        # A missing or half-written binary is that tool's failure, not the harness's.
        raise CommandFailed(argv, 127, f"cannot execute {argv[0]}: {e.strerror}")
    return pid, errpath


class _Timeout(Exception):
    pass


def _alarm(signum, frame):
    raise _Timeout()


# A hung tool must fail its benchmark, not hang the run: every wait has a deadline.
TIMEOUT = float(os.environ.get("BENCH_TIMEOUT", "600"))


def reap(pid, errpath, argv, timeout=None):
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout or TIMEOUT)
    timed_out = False
    try:
        _, status, ru = os.wait4(pid, 0)
    except _Timeout:
        timed_out = True
        os.kill(pid, signal.SIGKILL)
        _, status, ru = os.wait4(pid, 0)
    except BaseException:
        # Interrupted (SIGTERM/SIGINT): do not leave the tool running behind us.
        os.kill(pid, signal.SIGKILL)
        os.wait4(pid, 0)
        raise
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    rc = os.waitstatus_to_exitcode(status)
    if timed_out:
        try:
            os.unlink(errpath)
        except OSError:
            pass
        return 124, ru, f"timed out after {timeout or TIMEOUT:.0f} s (killed)"
    try:
        with open(errpath, errors="replace") as f:
            err = f.read(65536)
        os.unlink(errpath)
    except OSError:
        err = ""
    return rc, ru, err


class Sample:
    """One measured unit of work: wall seconds, CPU seconds (user+sys), peak RSS in KiB."""

    def __init__(self, wall=0.0, cpu=0.0, rss=0):
        self.wall, self.cpu, self.rss = wall, cpu, rss

    def add(self, other):
        self.wall += other.wall
        self.cpu += other.cpu
        self.rss = max(self.rss, other.rss)
        return self


def run(argv, cwd=None, stdout=DEVNULL, check=True):
    """Runs argv to completion; returns a Sample. Raises CommandFailed on non-zero exit."""
    t0 = time.perf_counter()
    pid, errpath = spawn(argv, cwd=cwd, stdout=stdout)
    rc, ru, err = reap(pid, errpath, argv)
    wall = time.perf_counter() - t0
    if check and rc != 0:
        raise CommandFailed(argv, rc, err)
    return Sample(wall, ru.ru_utime + ru.ru_stime, ru.ru_maxrss)


def run_seq(steps):
    """Runs several commands one after another as one sample (sum of wall and CPU, max RSS)."""
    total = Sample()
    for argv in steps:
        total.add(run(argv))
    return total


def quiet(argv):
    """Runs a setup/cleanup command, ignoring its status; returns the exit code."""
    pid, errpath = spawn(argv)
    rc, _, _ = reap(pid, errpath, argv)
    return rc


def reap_orphans():
    """Reaps zombies re-parented to us while we are a child subreaper."""
    while True:
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            return
        if pid == 0:
            return


def set_subreaper(on):
    libc = ctypes.CDLL(None, use_errno=True)
    PR_SET_CHILD_SUBREAPER = 36
    if libc.prctl(PR_SET_CHILD_SUBREAPER, 1 if on else 0, 0, 0, 0) != 0:
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def na_reason(tool, exc):
    """The n/a text for a tool whose command failed: 'not implemented' is said as such."""
    text = str(exc)
    err = getattr(exc, "err", "") or text
    if "not implemented" in err:
        m = re.search(r"command '([\w-]+)' is not implemented", err)
        return f"{tool}: not implemented" + (f" (`{m.group(1)}`)" if m else "")
    return f"{tool}: failed ({text[:160]})"


class Results:
    """Appends records to a JSON-lines file that report.py turns into tables."""

    def __init__(self, path):
        self.path = path

    def write(self, **rec):
        with open(self.path, "a") as f:
            f.write(json.dumps(rec) + "\n")

    def samples(self, part, group, bench, tool, metric, unit, values, note=None):
        self.write(kind="samples", part=part, group=group, bench=bench, tool=tool, metric=metric,
                   unit=unit, values=values, note=note)

    def na(self, part, group, bench, tool, reason, metrics=None):
        self.write(kind="na", part=part, group=group, bench=bench, tool=tool, reason=reason,
                   metrics=metrics)

    def note(self, part, text):
        self.write(kind="note", part=part, text=text)


def exit_on_term():
    """SIGTERM (bench/run's trap) unwinds through the finally blocks that delete containers
    and unmount snapshots, instead of killing us in the middle."""
    def handler(signum, frame):
        raise SystemExit(128 + signum)
    signal.signal(signal.SIGTERM, handler)
    signal.signal(signal.SIGINT, handler)


def summary(values):
    return min(values), statistics.median(values), max(values)
