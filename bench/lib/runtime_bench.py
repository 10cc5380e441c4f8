# The runtime half of bench/: berth, crun and runc on the same bundles, interleaved, plus the
# floor (unshare + chroot, the kernel work alone). Called by bench/run, which prepares the
# bundles, the per-runtime --root directories and the crun hugetlb mount, and cleans up.
import argparse
import os
import signal
import time

import benchlib as bl
from benchlib import CommandFailed

PART = "runtime"
FLOOR = "floor"


class Runtime:
    def __init__(self, name, binary, root):
        self.name, self.binary, self.root = name, binary, root
        os.makedirs(root, exist_ok=True)

    def argv(self, *args):
        return [self.binary, "--root", self.root, *args]

    def cleanup(self, cid):
        """Removes a container left behind (a failed run, an implementation that keeps state)."""
        if os.path.exists(os.path.join(self.root, cid)):
            bl.quiet(self.argv("delete", "--force", cid))

    def sweep(self):
        try:
            ids = os.listdir(self.root)
        except OSError:
            return
        for cid in ids:
            if os.path.isdir(os.path.join(self.root, cid)):
                bl.quiet(self.argv("delete", "--force", cid))


class Bench:
    def __init__(self, args):
        self.a = args
        self.res = bl.Results(args.results)
        self.runtimes = []
        for spec in args.runtime:
            name, _, path = spec.partition("=")
            self.runtimes.append(Runtime(name, path, os.path.join(args.roots or args.tmp,
                                                                  f"root-{name}")))
        self.na = {}  # runtime name -> reason it is out of the run for good (e.g. not built)
        for spec in args.unavailable or []:
            name, _, reason = spec.partition("=")
            self.na[name] = reason
        self.seq = 0

    def cid(self, tag):
        self.seq += 1
        return f"bench-{tag}-{os.getpid()}-{self.seq}"

    # --- one unit of work per benchmark -------------------------------------------------
    def run_one(self, rt, bundle):
        if rt is None:
            return bl.run(["unshare", "-mpuin", "--fork", "chroot", self.a.rootfs, "/bin/true"])
        cid = self.cid("run")
        try:
            return bl.run(rt.argv("run", "--bundle", bundle, cid))
        finally:
            rt.cleanup(cid)

    def lifecycle_one(self, rt, bundle):
        """create --pid-file, start, wait for the init to exit (we are its subreaper, as the
        containerd shim is), delete: the calls containerd's runc shim makes."""
        cid = self.cid("lc")
        pidfile = os.path.join(self.a.tmp, f"{cid}.pid")
        steps = {}
        t0 = time.perf_counter()
        try:
            s = bl.run(rt.argv("create", "--bundle", bundle, "--pid-file", pidfile, cid))
            steps["create"] = s.wall
            with open(pidfile) as f:
                pid = int(f.read().strip())
            s2 = bl.run(rt.argv("start", cid))
            steps["start"] = s2.wall
            tw = time.perf_counter()
            wait_exit(pid)
            steps["wait"] = time.perf_counter() - tw
            s3 = bl.run(rt.argv("delete", cid))
            steps["delete"] = s3.wall
        except BaseException:
            rt.cleanup(cid)
            raise
        finally:
            bl.reap_orphans()
            if os.path.exists(pidfile):
                os.unlink(pidfile)
        total = bl.Sample(time.perf_counter() - t0, s.cpu + s2.cpu + s3.cpu, max(s.rss, s2.rss, s3.rss))
        return total, steps

    def parallel_one(self, rt, bundle, n):
        t0 = time.perf_counter()
        procs = []
        ids = []
        for _ in range(n):
            if rt is None:
                argv = ["unshare", "-mpuin", "--fork", "chroot", self.a.rootfs, "/bin/true"]
            else:
                cid = self.cid("par")
                ids.append(cid)
                argv = rt.argv("run", "--bundle", bundle, cid)
            procs.append((bl.spawn(argv), argv))
        cpu = 0.0
        failure = None
        for (pid, errpath), argv in procs:
            rc, ru, err = bl.reap(pid, errpath, argv)
            cpu += ru.ru_utime + ru.ru_stime
            if rc != 0 and failure is None:
                failure = CommandFailed(argv, rc, err)
        wall = time.perf_counter() - t0
        if rt is not None:
            for cid in ids:
                rt.cleanup(cid)
        if failure:
            raise failure
        return wall, cpu / n

    def rss_one(self, rt, bundle, command):
        """Peak RSS of the runtime invocation, as GNU time -f %M reports it."""
        out = os.path.join(self.a.tmp, "time.out")
        cid = self.cid("rss")
        timed = ["/usr/bin/time", "-f", "%M", "-o", out]
        try:
            if rt is None:
                bl.run(timed + ["unshare", "-mpuin", "--fork", "chroot", self.a.rootfs, "/bin/true"])
            elif command == "run":
                bl.run(timed + rt.argv("run", "--bundle", bundle, cid))
            else:
                pidfile = os.path.join(self.a.tmp, f"{cid}.pid")
                bl.run(timed + rt.argv("create", "--bundle", bundle, "--pid-file", pidfile, cid))
                with open(pidfile) as f:
                    pid = int(f.read().strip())
                os.unlink(pidfile)
                bl.run(rt.argv("start", cid))
                wait_exit(pid)
                bl.run(rt.argv("delete", cid))
        finally:
            if rt is not None:
                rt.cleanup(cid)
            bl.reap_orphans()
        with open(out) as f:
            return int(f.read().strip().splitlines()[-1])

    # --- drivers -------------------------------------------------------------------------
    def contenders(self, with_floor):
        c = [rt for rt in self.runtimes if rt.name not in self.na]
        return c + ([None] if with_floor else [])

    @staticmethod
    def label(rt):
        return FLOOR if rt is None else rt.name

    def interleave(self, group, bench, with_floor, once, iterations, warmup, record):
        """Runs once(rt) for every contender, rotating the order each round. A contender whose
        command fails is reported n/a with the reason and dropped from this benchmark."""
        active = self.contenders(with_floor)
        dropped = dict(self.na)
        samples = {self.label(rt): [] for rt in active}
        for i in range(warmup + iterations):
            order = active[i % len(active):] + active[:i % len(active)] if active else []
            for rt in order:
                if self.label(rt) in dropped:
                    continue
                try:
                    r = once(rt)
                except CommandFailed as e:
                    dropped[self.label(rt)] = bl.na_reason(self.label(rt), e)
                    bl.log(f"{bench}: {dropped[self.label(rt)]}")
                    continue
                if i >= warmup:
                    samples[self.label(rt)].append(r)
        for name, reason in dropped.items():
            self.res.na(PART, group, bench, name, reason)
        for name, vals in samples.items():
            if name not in dropped and vals:
                record(name, vals)

    def bench_run(self, variant, bundle):
        group = "run"
        bench = f"run /bin/true, {self.a.seq} in sequence ({variant})"
        bl.log(f"{bench} ...")

        def record(name, vals):
            self.res.samples(PART, group, bench, name, "wall", "ms", [v.wall * 1e3 for v in vals])
            self.res.samples(PART, group, bench, name, "cpu", "ms", [v.cpu * 1e3 for v in vals])

        self.interleave(group, bench, True, lambda rt: self.run_one(rt, bundle), self.a.seq,
                        self.a.warmup, record)

    def bench_lifecycle(self, variant, bundle):
        group = "lifecycle"
        bench = f"create+start+wait+delete, {self.a.lifecycle} in sequence ({variant})"
        bl.log(f"{bench} ...")
        bl.set_subreaper(True)

        def record(name, vals):
            self.res.samples(PART, group, bench, name, "wall", "ms", [v[0].wall * 1e3 for v in vals])
            self.res.samples(PART, group, bench, name, "cpu", "ms", [v[0].cpu * 1e3 for v in vals])
            for step in ("create", "start", "wait", "delete"):
                self.res.samples(PART, group, bench, name, f"{step} wall", "ms",
                                 [v[1][step] * 1e3 for v in vals])
        try:
            self.interleave(group, bench, False, lambda rt: self.lifecycle_one(rt, bundle),
                            self.a.lifecycle, max(1, self.a.warmup // 2), record)
        finally:
            bl.set_subreaper(False)
            bl.reap_orphans()

    def bench_parallel(self, variant, bundle):
        group = "parallel"
        n = self.a.parallel
        bench = f"{n} x run /bin/true in parallel ({variant})"
        bl.log(f"{bench} ...")

        def record(name, vals):
            self.res.samples(PART, group, bench, name, "batch wall", "ms", [v[0] * 1e3 for v in vals])
            self.res.samples(PART, group, bench, name, "throughput", "containers/s",
                             [n / v[0] for v in vals])
            self.res.samples(PART, group, bench, name, "cpu per container", "ms",
                             [v[1] * 1e3 for v in vals])

        self.interleave(group, bench, True, lambda rt: self.parallel_one(rt, bundle, n),
                        self.a.parallel_reps, 1 if self.a.parallel_reps > 1 else 0, record)

    def bench_rss(self, variant, bundle):
        group = "rss"
        for command in ("run", "create"):
            bench = f"peak RSS of `{command}` (GNU time %M, {self.a.rss} runs, {variant})"
            bl.log(f"{bench} ...")
            bl.set_subreaper(command == "create")

            def record(name, vals):
                self.res.samples(PART, group, bench, name, "peak RSS", "KiB", vals)
            try:
                self.interleave(group, bench, command == "run",
                                lambda rt: self.rss_one(rt, bundle, command), self.a.rss, 1, record)
            finally:
                bl.set_subreaper(False)
                bl.reap_orphans()

    def sanity(self, bundle):
        """The same `run` as the harness measures, in a plain shell loop, per runtime: a
        harness figure far above the loop's is a broken measurement (the harness, not the
        tool, is slow), not a result. Recorded as kind "sanity"; report.py flags a tool whose
        harness median is more than 1.5x its loop's per-container time."""
        n = self.a.sanity
        if n <= 0:
            return
        bl.log(f"sanity: each runtime's `run` in a shell loop of {n} ...")
        for rt in self.contenders(False):
            prefix = self.cid("loop")
            script = ('for i in $(seq "$1"); do "$2" --root "$3" run --bundle "$4" "$5-$i" '
                      '>/dev/null 2>&1 </dev/null || exit 1; done')
            argv = ["/bin/sh", "-c", script, "sh", str(n), rt.binary, rt.root, bundle, prefix]
            try:
                s = bl.run(argv)
            except CommandFailed as e:
                self.res.write(kind="sanity", tool=rt.name, n=n, loop_ms=None, error=str(e)[:160])
            else:
                self.res.write(kind="sanity", tool=rt.name, n=n, loop_ms=s.wall * 1e3 / n,
                               loop_cpu_ms=s.cpu * 1e3 / n)
            finally:
                for i in range(1, n + 1):
                    rt.cleanup(f"{prefix}-{i}")

    def main(self):
        variants = [("default", self.a.bundle)]
        if self.a.bundle_seccomp:
            variants.append(("seccomp", self.a.bundle_seccomp))
        try:
            for variant, bundle in variants:
                self.bench_run(variant, bundle)
            self.sanity(self.a.bundle)
            for variant, bundle in variants:
                self.bench_lifecycle(variant, bundle)
            self.bench_parallel("default", self.a.bundle)
            self.bench_rss("default", self.a.bundle)
        finally:
            for rt in self.runtimes:
                rt.sweep()


def _alarm(signum, frame):
    raise TimeoutError()


def wait_exit(pid, timeout=30.0):
    """Waits for the container's init to exit: reaps it when it is our child (subreaper),
    else polls until it is gone."""
    old = signal.signal(signal.SIGALRM, _alarm)
    signal.setitimer(signal.ITIMER_REAL, timeout)
    try:
        os.waitpid(pid, 0)
        return
    except ChildProcessError:
        pass
    except TimeoutError:
        raise CommandFailed(["wait"], 1, f"container init {pid} still alive after {timeout}s")
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, old)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return
        time.sleep(0.0005)
    raise CommandFailed(["wait"], 1, f"container init {pid} still alive after {timeout}s")


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--results", required=True)
    p.add_argument("--tmp", required=True)
    p.add_argument("--roots", help="where the runtimes' --root directories go (default --tmp)")
    p.add_argument("--sanity", type=int, default=20, help="shell-loop iterations per runtime")
    p.add_argument("--rootfs", required=True)
    p.add_argument("--bundle", required=True)
    p.add_argument("--bundle-seccomp")
    p.add_argument("--runtime", action="append", default=[], help="name=binary")
    p.add_argument("--unavailable", action="append", help="name=reason")
    p.add_argument("--seq", type=int, default=100)
    p.add_argument("--warmup", type=int, default=5)
    p.add_argument("--lifecycle", type=int, default=50)
    p.add_argument("--parallel", type=int, default=50)
    p.add_argument("--parallel-reps", type=int, default=5)
    p.add_argument("--rss", type=int, default=10)
    args = p.parse_args()
    bl.exit_on_term()
    os.environ["BENCH_TMP"] = args.tmp
    bl.TIMEOUT = 60.0  # a runtime taking a minute for /bin/true is hung
    Bench(args).main()


if __name__ == "__main__":
    main()
