# The image half of bench/: berth-image against skopeo (pull) and skopeo + umoci (pull and
# unpack), on a fresh loop-mounted ext4 and on tmpfs, plus the floor (gzip -dc | tar -x of
# the same layers). bench/run starts the registry, mounts the filesystems and cleans up.
import argparse
import os
import shutil
import time

import benchlib as bl
from benchlib import CommandFailed

PART = "image"


def rm_rf(path):
    if os.path.lexists(path):
        if os.path.isdir(path) and not os.path.islink(path):
            umount_below(path)
            shutil.rmtree(path)
        else:
            os.unlink(path)


def umount_below(path):
    """Unmounts anything mounted at or below path (a snapshot bundle's overlay rootfs)."""
    real = os.path.realpath(path)
    with open("/proc/self/mountinfo") as f:
        points = [line.split()[4] for line in f]
    for mp in sorted((p for p in points if p == real or p.startswith(real + "/")), reverse=True):
        bl.quiet(["umount", "-l", mp])


def sync():
    os.sync()


class Bench:
    def __init__(self, a):
        self.a = a
        self.res = bl.Results(a.results)
        self.remote = f"{a.registry}/{a.repo}"
        self.bi = a.berth_image
        self.berth_na = a.berth_image_na
        self.n = 0

    def fresh(self, fs, tag):
        self.n += 1
        return os.path.join(fs, f"{tag}-{self.n}")

    # --- commands ------------------------------------------------------------------------
    def berth_pull(self, store):
        return [self.bi, "--store", store, "pull", *self.a.berth_pull_flag, self.remote]

    def berth_unpack(self, store, dest, snapshot=False, read_ahead=True):
        # BERTH_IMAGE_READAHEAD=0 turns off the decompression thread (docs/layers.md): the
        # bundle benchmark runs both, so the run shows what the second thread buys.
        env = [] if read_ahead else ["env", "BERTH_IMAGE_READAHEAD=0"]
        return [*env, self.bi, "--store", store, "unpack", *(["--snapshot"] if snapshot else []),
                self.remote, dest]

    def skopeo_copy(self, layout):
        return ["skopeo", "copy", "--quiet", "--src-tls-verify=false", f"docker://{self.remote}",
                f"oci:{layout}:{self.a.tag}"]

    def umoci_unpack(self, layout, dest):
        return ["umoci", "unpack", "--image", f"{layout}:{self.a.tag}", dest]

    def floor(self, dest):
        script = 'set -e; d=$1; shift; mkdir -p "$d"; for l; do gzip -dc "$l" | tar -x -C "$d"; done'
        return ["/bin/sh", "-c", script, "floor", dest, *self.a.layer]

    def berth_snapshot_cleanup(self, store, dest):
        bl.quiet([self.bi, "--store", store, "umount", dest])
        umount_below(dest)

    # --- drivers -------------------------------------------------------------------------
    def interleave(self, group, bench, contenders, iterations, warmup=0):
        """contenders: list of (tool, once) where once() returns a dict metric -> (unit, value)
        or raises CommandFailed. Rotates the order each round; a failing tool is n/a."""
        dropped = {}
        samples = {name: {} for name, _ in contenders}
        bl.log(f"{bench} ...")
        for i in range(warmup + iterations):
            k = i % len(contenders)
            for name, once in contenders[k:] + contenders[:k]:
                if name in dropped:
                    continue
                sync()
                try:
                    metrics = once()
                except CommandFailed as e:
                    dropped[name] = bl.na_reason(name, e)
                    bl.log(f"  {dropped[name]}")
                    continue
                if i >= warmup:
                    for metric, (unit, value) in metrics.items():
                        samples[name].setdefault(metric, (unit, []))[1].append(value)
        for name, _ in contenders:
            if name in dropped:
                self.res.na(PART, group, bench, name, dropped[name])
            else:
                for metric, (unit, vals) in samples[name].items():
                    self.res.samples(PART, group, bench, name, metric, unit, vals)

    def berth_or_na(self, group, bench):
        if self.berth_na:
            self.res.na(PART, group, bench, "berth-image", self.berth_na)
            return False
        return True

    def pull(self, fsname, fs):
        group, bench = "pull", f"pull into an empty store ({fsname})"

        def berth():
            store = self.fresh(fs, "bstore")
            try:
                s = bl.run(self.berth_pull(store))
            finally:
                rm_rf(store)
            return {"wall": ("s", s.wall), "cpu": ("s", s.cpu), "peak RSS": ("MiB", s.rss / 1024)}

        def skopeo():
            lay = self.fresh(fs, "oci")
            try:
                s = bl.run(self.skopeo_copy(lay))
            finally:
                rm_rf(lay)
            return {"wall": ("s", s.wall), "cpu": ("s", s.cpu), "peak RSS": ("MiB", s.rss / 1024)}

        c = [("skopeo", skopeo)]
        if self.berth_or_na(group, bench):
            c.insert(0, ("berth-image", berth))
        self.interleave(group, bench, c, self.a.pull_iterations, self.a.warmup)

    def pull_unpack(self, fsname, fs):
        group, bench = "pull+unpack", f"pull + full unpack ({fsname})"

        def berth():
            store, dest = self.fresh(fs, "bstore"), self.fresh(fs, "bbundle")
            try:
                p = bl.run(self.berth_pull(store))
                u = bl.run(self.berth_unpack(store, dest))
            finally:
                rm_rf(dest)
                rm_rf(store)
            return {"wall": ("s", p.wall + u.wall), "cpu": ("s", p.cpu + u.cpu),
                    "pull wall": ("s", p.wall), "unpack wall": ("s", u.wall),
                    "peak RSS": ("MiB", max(p.rss, u.rss) / 1024)}

        def peers():
            lay, dest = self.fresh(fs, "oci"), self.fresh(fs, "ubundle")
            try:
                p = bl.run(self.skopeo_copy(lay))
                u = bl.run(self.umoci_unpack(lay, dest))
            finally:
                rm_rf(dest)
                rm_rf(lay)
            return {"wall": ("s", p.wall + u.wall), "cpu": ("s", p.cpu + u.cpu),
                    "pull wall": ("s", p.wall), "unpack wall": ("s", u.wall),
                    "peak RSS": ("MiB", max(p.rss, u.rss) / 1024)}

        c = [("skopeo+umoci", peers)]
        if self.berth_or_na(group, bench):
            c.insert(0, ("berth-image", berth))
        self.interleave(group, bench, c, self.a.unpack_iterations)

    def bundle(self, fsname, fs):
        """Bundles of an image already in the store / layout, and the tar floor."""
        group = "bundle"
        bench = f"bundle of an already-pulled image ({fsname})"
        lay = os.path.join(fs, "pulled-oci")
        bl.run(self.skopeo_copy(lay))
        store = os.path.join(fs, "pulled-berth")
        berth_ok = self.berth_or_na(group, bench)
        prep_err = None
        if berth_ok:
            try:
                bl.run(self.berth_pull(store))
            except CommandFailed as e:
                prep_err = bl.na_reason("berth-image", e)
                self.res.na(PART, group, bench, "berth-image", prep_err)
                berth_ok = False

        def one(argv_fn, dest_tag, cleanup=None):
            def once():
                dest = self.fresh(fs, dest_tag)
                try:
                    s = bl.run(argv_fn(dest))
                finally:
                    if cleanup:
                        cleanup(dest)
                    rm_rf(dest)
                return {"wall": ("s", s.wall), "cpu": ("s", s.cpu), "peak RSS": ("MiB", s.rss / 1024)}
            return once

        c = [("umoci unpack", one(lambda d: self.umoci_unpack(lay, d), "ub")),
             ("floor (gzip -dc | tar -x)", one(self.floor, "floor"))]
        if berth_ok:
            c.insert(0, ("berth-image unpack", one(lambda d: self.berth_unpack(store, d), "bb")))
            c.append(("berth-image unpack, no read-ahead",
                      one(lambda d: self.berth_unpack(store, d, read_ahead=False), "bn")))
        self.interleave(group, bench, c, self.a.unpack_iterations)

        if berth_ok:
            self.snapshot(fsname, fs, store)
            self.commit(fsname, fs, store, lay)
        rm_rf(lay)
        rm_rf(store)

    def snapshot(self, fsname, fs, store):
        group = "snapshot"
        cleanup = self.berth_snapshot_cleanup

        def cold():
            # A copy of the pulled store whose layer cache is empty (copy not timed).
            s2 = self.fresh(fs, "coldstore")
            bl.run(["cp", "-a", store, s2])
            dest = self.fresh(fs, "snap")
            try:
                s = bl.run(self.berth_unpack(s2, dest, snapshot=True))
            finally:
                cleanup(s2, dest)
                rm_rf(dest)
                rm_rf(s2)
            return {"wall": ("ms", s.wall * 1e3), "cpu": ("ms", s.cpu * 1e3),
                    "peak RSS": ("MiB", s.rss / 1024)}

        def warm():
            dest = self.fresh(fs, "snap")
            try:
                s = bl.run(self.berth_unpack(store, dest, snapshot=True))
            finally:
                cleanup(store, dest)
                rm_rf(dest)
            return {"wall": ("ms", s.wall * 1e3), "cpu": ("ms", s.cpu * 1e3),
                    "peak RSS": ("MiB", s.rss / 1024)}

        self.interleave(group, f"unpack --snapshot, layer cache empty ({fsname})",
                        [("berth-image", cold)], max(1, self.a.unpack_iterations // 2))
        # Prime the layer cache once; a failure here shows up as n/a in the cold row already.
        dest = self.fresh(fs, "snap")
        try:
            bl.run(self.berth_unpack(store, dest, snapshot=True))
        except CommandFailed:
            pass
        finally:
            cleanup(store, dest)
            rm_rf(dest)
        self.interleave(group, f"unpack --snapshot, layers cached ({fsname})",
                        [("berth-image", warm)], self.a.unpack_iterations * 2)

    @staticmethod
    def make_change(rootfs, files=20000, per_dir=100):
        """The container's change: FILES new 1 KiB files in directories of PER_DIR (the same
        bytes in every bundle, so every tool archives the same amount)."""
        block = bytes(range(256)) * 4
        for d in range(files // per_dir):
            p = os.path.join(rootfs, "bench-change", f"d{d:03d}")
            os.makedirs(p)
            for f in range(per_dir):
                with open(os.path.join(p, f"f{f:03d}"), "wb") as fh:
                    fh.write(block)

    def commit(self, fsname, fs, store, lay):
        """Issue 17: commit of a 20,000-file change against `umoci repack` of the same change
        (unpack and the change itself untimed; each round a fresh bundle)."""
        group, bench = "commit", f"commit of a 20,000-file change ({fsname})"
        cleanup = self.berth_snapshot_cleanup

        def berth(snapshot):
            def once():
                dest = self.fresh(fs, "cb")
                try:
                    bl.run(self.berth_unpack(store, dest, snapshot=snapshot))
                    self.make_change(os.path.join(dest, "rootfs"))
                    sync()
                    s = bl.run([self.bi, "--store", store, "commit", "-q", dest,
                                f"localhost/bench-commit:{self.n}"])
                finally:
                    if snapshot:
                        cleanup(store, dest)
                    rm_rf(dest)
                return {"wall": ("s", s.wall), "cpu": ("s", s.cpu), "peak RSS": ("MiB", s.rss / 1024)}
            return once

        def umoci():
            dest = self.fresh(fs, "cu")
            try:
                bl.run(self.umoci_unpack(lay, dest))
                self.make_change(os.path.join(dest, "rootfs"))
                sync()
                s = bl.run(["umoci", "repack", "--image", f"{lay}:commit-{self.n}", dest])
            finally:
                rm_rf(dest)
            return {"wall": ("s", s.wall), "cpu": ("s", s.cpu), "peak RSS": ("MiB", s.rss / 1024)}

        c = [("berth-image commit", berth(False)), ("berth-image commit, snapshot", berth(True)),
             ("umoci repack", umoci)]
        self.interleave(group, bench, c, self.a.unpack_iterations)

    def fresh_registry(self):
        """A new, empty docker-registry on a free loopback port (started untimed); returns
        (address, stop)."""
        import socket
        import subprocess
        import urllib.request
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
        sock.close()
        d = self.fresh(self.a.tmp, "emptyreg")
        os.makedirs(os.path.join(d, "data"))
        cfg = os.path.join(d, "config.yml")
        with open(cfg, "w") as f:
            f.write("version: 0.1\nlog:\n  level: error\n  accesslog:\n    disabled: true\n"
                    f"storage:\n  filesystem:\n    rootdirectory: {d}/data\n"
                    f"http:\n  addr: 127.0.0.1:{port}\n")
        log = open(os.path.join(d, "log"), "w")
        p = subprocess.Popen(["docker-registry", "serve", cfg], stdout=log, stderr=log)

        def stop():
            p.terminate()
            p.wait()
            log.close()
            rm_rf(d)

        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/", timeout=1).read()
                return f"127.0.0.1:{port}", stop
            except OSError:
                if p.poll() is not None:
                    break
                time.sleep(0.1)
        stop()
        raise CommandFailed(["docker-registry", "serve", cfg], 1, "registry did not start")

    def push(self, fsname, fs):
        """berth-image push (from its store) and copy (from the OCI layout skopeo reads) vs
        skopeo copy oci: -> docker:// of the same image: into a new repository of the
        registry that holds the image (each round a new one: blobs mounted from `bench`,
        which skopeo knows from its blob-info cache and berth from its store's names), into
        a registry with no blobs at all (each round a fresh one: every blob sent), and again
        into the same repository (every blob answered by HEAD)."""
        group = "push"
        benches = (f"push to a new repository, blobs on the registry ({fsname})",
                   f"push to an empty registry ({fsname})",
                   f"push again, blobs present ({fsname})")
        store, lay = self.fresh(fs, "pstore"), self.fresh(fs, "playout")
        try:
            bl.run(self.berth_pull(store))
            bl.run(self.skopeo_copy(lay))
        except CommandFailed as e:
            for bench in benches:
                self.res.na(PART, group, bench, "berth-image push", bl.na_reason("berth-image", e))
            rm_rf(store)
            rm_rf(lay)
            return
        base = self.a.repo.split(":")[0]

        def metrics(s):
            return {"wall": ("s", s.wall), "cpu": ("s", s.cpu), "peak RSS": ("MiB", s.rss / 1024)}

        def berth_push(reg, repo):
            return metrics(bl.run([self.bi, "--store", store, "push", "-q", "--tls-verify=false",
                                   self.remote, f"docker://{reg}/{repo}"]))

        def berth_copy(reg, repo):
            return metrics(bl.run([self.bi, "--store", store, "copy", "-q", "--dest-tls-verify=false",
                                   f"oci:{lay}:{self.a.tag}", f"docker://{reg}/{repo}"]))

        def skopeo_to(reg, repo):
            return metrics(bl.run(["skopeo", "copy", "--quiet", "--dest-tls-verify=false",
                                   f"oci:{lay}:{self.a.tag}", f"docker://{reg}/{repo}"]))

        def fresh_repo(tool):
            self.n += 1
            return f"{base}-push-{tool}-{self.n}:{self.a.tag}"

        def on_empty(fn):
            def once():
                reg, stop = self.fresh_registry()
                try:
                    return fn(reg, f"{base}:{self.a.tag}")
                finally:
                    stop()
            return once

        reg = self.a.registry
        tools = [("berth-image push", berth_push, "bpush"), ("berth-image copy", berth_copy, "bcopy"),
                 ("skopeo", skopeo_to, "skopeo")]
        try:
            for bench, make in (
                    (benches[0], lambda fn, tag: (lambda: fn(reg, fresh_repo(tag)))),
                    (benches[1], lambda fn, tag: on_empty(fn)),
                    (benches[2], lambda fn, tag: (lambda: fn(reg, f"{base}-push-warm-{tag}:{self.a.tag}")))):
                berth_ok = self.berth_or_na(group, bench)
                c = [(name, make(fn, tag)) for name, fn, tag in tools
                     if berth_ok or fn is skopeo_to]
                warm = max(1, self.a.warmup) if bench == benches[2] else self.a.warmup
                self.interleave(group, bench, c, self.a.pull_iterations, warm)
        finally:
            rm_rf(store)
            rm_rf(lay)

    def main(self):
        filesystems = []
        if self.a.disk:
            filesystems.append(("ext4 on loop", self.a.disk))
        if self.a.tmpfs:
            filesystems.append(("tmpfs", self.a.tmpfs))
        # The issue asks for pull + unpack on both filesystems; pull alone and bundles run on
        # the first (the disk) unless --all-fs, to keep a full run near 15 minutes.
        some = filesystems if self.a.all_fs else filesystems[:1]
        for fsname, fs in some:
            self.pull(fsname, fs)
        for fsname, fs in filesystems:
            self.pull_unpack(fsname, fs)
        for fsname, fs in some:
            self.bundle(fsname, fs)
        for fsname, fs in filesystems[:1]:
            self.push(fsname, fs)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--results", required=True)
    p.add_argument("--tmp", required=True)
    p.add_argument("--registry", required=True)
    p.add_argument("--repo", default="bench:1")
    p.add_argument("--tag", default="1")
    p.add_argument("--disk")
    p.add_argument("--tmpfs")
    p.add_argument("--berth-image")
    p.add_argument("--berth-image-na")
    p.add_argument("--berth-pull-flag", action="append", default=[])
    p.add_argument("--layer", action="append", default=[])
    p.add_argument("--pull-iterations", type=int, default=5)
    p.add_argument("--unpack-iterations", type=int, default=3)
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--all-fs", action="store_true")
    a = p.parse_args()
    bl.exit_on_term()
    os.environ["BENCH_TMP"] = a.tmp
    Bench(a).main()


if __name__ == "__main__":
    main()
