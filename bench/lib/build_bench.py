# The build half of bench/ (issue 18): `berth-image build` against `podman build` of the same
# Dockerfile, from the same base image, interleaved. Cold: `--no-cache` (the base image is in
# both stores, nothing else is reused). Warm: the same build again with nothing changed (the
# cache primed by one untimed build). bench/run makes the base rootfs and the 20,000-file
# context, mounts the filesystem and cleans up.
import argparse
import os
import shutil

import benchlib as bl
from benchlib import CommandFailed

PART = "build"
BASE = "localhost/bench-base:1"

STEPS = """\
ARG N=1
ENV APP=/srv/app
WORKDIR /srv/app
RUN mkdir -p data && for i in $(seq 1 200); do echo "$N $i" >data/$i; done
RUN echo built >stamp && ls data | wc -l >count
COPY srv/small /srv/small
RUN find /srv/small -type f | wc -l >files
LABEL bench=build
CMD ["/bin/sh"]
"""

SINGLE = f"FROM {BASE}\n" + STEPS

# Used when berth-image builds multi-stage files (probed below); both tools get the same file.
MULTI = (f"FROM {BASE} AS gen\n"
         "RUN mkdir /out && for i in $(seq 1 500); do echo \"$i\" >/out/f$i; done\n"
         f"FROM {BASE}\n" + STEPS + "COPY --from=gen /out /srv/gen\n")


def rm_rf(path):
    if os.path.lexists(path):
        shutil.rmtree(path, ignore_errors=True)


class Bench:
    def __init__(self, a):
        self.a = a
        self.res = bl.Results(a.results)
        self.n = 0
        d = a.dir
        self.store = os.path.join(d, "berth-store")
        self.pm_dir = os.path.join(d, "podman")
        conf = os.path.join(self.pm_dir, "containers.conf")
        os.makedirs(os.path.join(self.pm_dir, "tmp"), exist_ok=True)
        # podman 4.3 cannot raise the hard limits here (DESIGN.md): lower defaults for RUN.
        with open(conf, "w") as f:
            f.write('[containers]\ndefault_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]\n'
                    '[engine]\ncgroup_manager = "cgroupfs"\nevents_logger = "file"\n')
        os.environ["CONTAINERS_CONF"] = conf
        self.driver = a.podman_driver

    def bi(self, *args):
        return [self.a.berth_image, "--store", self.store, *args]

    def pm(self, *args):
        p = self.pm_dir
        return ["podman", "--root", f"{p}/root", "--runroot", f"{p}/runroot", "--storage-driver",
                self.driver, "--tmpdir", f"{p}/tmp", "--cgroup-manager", "cgroupfs",
                "--events-backend", "file", "--runtime", "runc", *args]

    def setup(self):
        """Base image in both stores (berth-image import; skopeo copies it to podman's), and
        the Dockerfile: multi-stage when berth-image builds one (probed), else single-stage."""
        bl.run(self.bi("import", self.a.rootfs, BASE, "--", "/bin/sh"))
        dest = f"containers-storage:[{self.driver}@{self.pm_dir}/root+{self.pm_dir}/runroot]{BASE}"
        try:
            bl.run(["skopeo", "copy", "-q", f"oci:{self.store}:{BASE}", dest])
        except CommandFailed as e:
            if self.driver == "vfs":
                raise
            # Overlay storage refused (e.g. on this filesystem): podman on vfs instead.
            self.res.note(PART, f"podman overlay storage failed ({e}); vfs used")
            self.driver = "vfs"
            rm_rf(os.path.join(self.pm_dir, "root"))
            dest = f"containers-storage:[vfs@{self.pm_dir}/root+{self.pm_dir}/runroot]{BASE}"
            bl.run(["skopeo", "copy", "-q", f"oci:{self.store}:{BASE}", dest])
        probe = os.path.join(self.a.dir, "probe")
        os.makedirs(probe, exist_ok=True)
        with open(os.path.join(probe, "Dockerfile"), "w") as f:
            f.write(f"FROM {BASE} AS a\nRUN echo x >/x\nFROM {BASE}\nCOPY --from=a /x /x\n")
        try:
            bl.run(self.bi("build", "-q", probe))
            text, kind = MULTI, "multi-stage (a generator stage, COPY --from)"
        except CommandFailed:
            text, kind = SINGLE, "single-stage (berth-image does not build multi-stage files yet)"
        rm_rf(probe)
        with open(os.path.join(self.a.context, "Dockerfile"), "w") as f:
            f.write(text)
        self.res.note(PART, f"bench Dockerfile, {kind}: " + "; ".join(text.strip().splitlines()))
        self.res.note(PART, f"podman build: Debian's podman/buildah with runc, {self.driver} "
                      f"storage in a private --root, --network none; berth-image build: berth "
                      f"as the runtime. Cold = --no-cache with the base image present; warm = "
                      f"the same build again, nothing changed, after one untimed build")

    def tag(self, tool):
        self.n += 1
        return f"localhost/bench-build-{tool}:{self.n}"

    def berth_build(self, *flags):
        def once():
            s = bl.run(self.bi("build", "-q", *flags, "-t", self.tag("berth"), self.a.context))
            return {"wall": ("s", s.wall), "cpu": ("s", s.cpu), "peak RSS": ("MiB", s.rss / 1024)}
        return once

    def podman_build(self, *flags):
        def once():
            s = bl.run(self.pm("build", "-q", "--network", "none", *flags, "-t", self.tag("podman"),
                               self.a.context))
            return {"wall": ("s", s.wall), "cpu": ("s", s.cpu), "peak RSS": ("MiB", s.rss / 1024)}
        return once

    def interleave(self, bench, contenders, iterations):
        dropped, samples = {}, {name: {} for name, _ in contenders}
        bl.log(f"{bench} ...")
        for i in range(iterations):
            k = i % len(contenders)
            for name, once in contenders[k:] + contenders[:k]:
                if name in dropped:
                    continue
                os.sync()
                try:
                    metrics = once()
                except CommandFailed as e:
                    dropped[name] = bl.na_reason(name, e)
                    bl.log(f"  {dropped[name]}")
                    continue
                for metric, (unit, value) in metrics.items():
                    samples[name].setdefault(metric, (unit, []))[1].append(value)
        for name, _ in contenders:
            if name in dropped:
                self.res.na(PART, "build", bench, name, dropped[name])
            else:
                for metric, (unit, vals) in samples[name].items():
                    self.res.samples(PART, "build", bench, name, metric, unit, vals)

    def main(self):
        fs = self.a.fs_name
        try:
            self.setup()
        except CommandFailed as e:
            for bench in (f"cold build ({fs})", f"warm build, nothing changed ({fs})"):
                self.res.na(PART, "build", bench, "berth-image", bl.na_reason("setup", e))
            return
        try:
            self.interleave(f"cold build ({fs})",
                            [("berth-image", self.berth_build("--no-cache")),
                             ("podman build", self.podman_build("--no-cache"))],
                            self.a.cold_iterations)
            # Prime both caches with the file as it is now (untimed), then rebuild unchanged.
            for once in (self.berth_build(), self.podman_build()):
                try:
                    once()
                except CommandFailed:
                    pass  # reported as n/a by the warm rounds
            self.interleave(f"warm build, nothing changed ({fs})",
                            [("berth-image", self.berth_build()),
                             ("podman build", self.podman_build())],
                            self.a.warm_iterations)
        finally:
            bl.quiet(self.pm("rmi", "-a", "-f"))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--results", required=True)
    p.add_argument("--tmp", required=True)
    p.add_argument("--dir", required=True, help="where the stores go (a fresh filesystem)")
    p.add_argument("--fs-name", required=True)
    p.add_argument("--rootfs", required=True)
    p.add_argument("--context", required=True)
    p.add_argument("--berth-image", required=True)
    p.add_argument("--podman-driver", default="overlay")
    p.add_argument("--cold-iterations", type=int, default=3)
    p.add_argument("--warm-iterations", type=int, default=5)
    a = p.parse_args()
    bl.exit_on_term()
    os.environ["BENCH_TMP"] = a.tmp
    Bench(a).main()


if __name__ == "__main__":
    main()
