# Turns bench/'s raw records (JSON lines from runtime_bench.py / image_bench.py / bench/run)
# into the terminal table and the results file bench/results/<date>.md: machine, versions,
# notes, every figure as min/median/max, ratios against the peers, and the targets.
import argparse
import json
import os
import platform
import statistics
import subprocess

SUBJECTS = ("berth", "berth-image", "berth-image unpack", "berth-image push", "berth-image copy",
            "berth-image commit", "berth-image commit, snapshot")


def sh(argv):
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        text = (out.stdout or out.stderr).strip()
        return text if out.returncode == 0 or text else f"(exit {out.returncode})"
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"(not available: {e.__class__.__name__})"


def first_line(text):
    return text.splitlines()[0] if text else ""


def machine(args):
    info = {}
    model = ""
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    info["cores"] = f"{os.cpu_count()} ({model})"
    info["kernel"] = f"{platform.release()} {platform.machine()}"
    with open("/proc/meminfo") as f:
        mem = next(l for l in f if l.startswith("MemTotal")).split()[1]
    info["memory"] = f"{int(mem) // 1024} MiB"
    src = sh(["findmnt", "-n", "-o", "SOURCE,FSTYPE,OPTIONS", "/"])
    dev = src.split()[0] if src else "?"
    base = os.path.basename(dev)
    rot = "?"
    for cand in (base, base.rstrip("0123456789")):
        p = f"/sys/block/{cand}/queue/rotational"
        if os.path.exists(p):
            rot = "sysfs rotational=" + open(p).read().strip()
            break
    kind = "virtio" if base.startswith("vd") else ("nvme" if base.startswith("nvme") else "block")
    info["root disk"] = f"{dev} ({kind}, {rot}), mounted `{src}`"
    if args.image_ran:
        info["image benchmark filesystems"] = ("fresh 20 GiB ext4 on a loop device backed by a file on the "
                                               "root disk (mkfs.ext4 -q, default mount options), and tmpfs")
    info["cgroups"] = cgroup_layout()
    for k, path in (("load average at start", args.load_start), ("load average at end", args.load_end)):
        if path and os.path.exists(path):
            info[k] = open(path).read().strip()
    return info


def cgroup_layout():
    fs = sh(["stat", "-f", "-c", "%T", "/sys/fs/cgroup"])
    if fs == "cgroup2fs":
        return "unified (cgroup v2 only)"
    if os.path.isdir("/sys/fs/cgroup/unified"):
        return "hybrid (v1 controllers, cgroup2 at /sys/fs/cgroup/unified)"
    return "legacy (cgroup v1)"


def versions(args):
    v = {}
    if args.berth:
        v["berth"] = first_line(sh([args.berth, "--version"])) if os.path.exists(args.berth) else "not built"
    if args.berth_image:
        v["berth-image"] = first_line(sh([args.berth_image, "--version"])) if os.path.exists(args.berth_image) else "not built"
    # "-dirty" when the source differs from the commit; the results this run is writing (the
    # chart is saved before this file) are not source.
    changed = sh(["git", "-C", args.src, "status", "--porcelain", "--untracked-files=no", "--",
                  ".", ":(exclude)bench/results"])
    v["berth source"] = sh(["git", "-C", args.src, "rev-parse", "--short", "HEAD"]) + \
        ("-dirty" if changed.strip() else "") + \
        " (branch " + sh(["git", "-C", args.src, "rev-parse", "--abbrev-ref", "HEAD"]) + ")"
    v["crun"] = first_line(sh(["crun", "--version"]))
    v["runc"] = first_line(sh(["runc", "--version"]))
    v["skopeo"] = first_line(sh(["skopeo", "--version"]))
    v["umoci"] = first_line(sh(["umoci", "--version"]))
    v["docker-registry"] = first_line(sh(["docker-registry", "--version"]))
    v["busybox (rootfs)"] = first_line(sh(["busybox"])).split(" multi-call")[0]
    v["unshare (floor)"] = first_line(sh(["unshare", "--version"]))
    v["gzip (floor)"] = first_line(sh(["gzip", "--version"]))
    v["tar (floor)"] = first_line(sh(["tar", "--version"]))
    v["GNU time"] = sh(["dpkg-query", "-W", "-f", "${Version}", "time"])
    v["python3 (harness)"] = platform.python_version()
    return v


def load(path):
    recs = []
    if os.path.exists(path):
        with open(path) as f:
            for line in f:
                if line.strip():
                    recs.append(json.loads(line))
    return recs


def cell(text):
    """A markdown table cell: a literal | would end the cell."""
    return str(text).replace("|", "\\|")


def fmt(v, unit):
    if unit in ("KiB",):
        return f"{v:,.0f}"
    if abs(v) >= 100:
        return f"{v:,.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}" if abs(v) >= 1 else f"{v:.3f}"


class Table:
    def __init__(self, recs):
        self.benches = []  # ordered (part, group, bench)
        self.rows = {}     # (part, group, bench) -> list of (tool, metric, unit, values | None, na)
        self.notes = []
        self.sanity = []   # shell-loop checks (runtime_bench.py Bench.sanity)
        for r in recs:
            if r["kind"] == "sanity":
                self.sanity.append(r)
                continue
            if r["kind"] == "note":
                self.notes.append((r["part"], r["text"]))
                continue
            key = (r["part"], r["group"], r["bench"])
            if key not in self.rows:
                self.benches.append(key)
                self.rows[key] = []
            if r["kind"] == "samples":
                self.rows[key].append((r["tool"], r["metric"], r["unit"], r["values"], None))
            else:
                self.rows[key].append((r["tool"], None, None, None, r["reason"]))

    def median(self, key, tool, metric):
        for t, m, u, vals, na in self.rows.get(key, []):
            if t == tool and m == metric and vals:
                return statistics.median(vals), u
        return None, None

    def na_of(self, key, tool):
        for t, m, u, vals, na in self.rows.get(key, []):
            if t == tool and na:
                return na
        return None

    def find(self, part, group, contains):
        for key in self.benches:
            if key[0] == part and key[1] == group and contains in key[2]:
                return key
        return None

    def sorted_rows(self, key):
        order = ["berth", "berth-image", "berth-image unpack", "berth-image push",
                 "berth-image copy", "crun", "runc", "skopeo",
                 "skopeo+umoci", "umoci unpack"]
        rank = lambda tool: order.index(tool) if tool in order else len(order)
        return sorted(self.rows[key], key=lambda r: rank(r[0]))

    def figures_md(self, part):
        out = []
        for key in self.benches:
            if key[0] != part:
                continue
            out.append(f"\n#### {cell(key[2])}\n")
            out.append("| tool | metric | n | min | median | max | unit |")
            out.append("|---|---|---:|---:|---:|---:|---|")
            for tool, metric, unit, vals, na in self.sorted_rows(key):
                if na:
                    out.append(f"| {cell(tool)} | all | – | n/a | n/a ({cell(na)}) | n/a | |")
                else:
                    out.append(f"| {cell(tool)} | {metric} | {len(vals)} | {fmt(min(vals), unit)} | "
                               f"**{fmt(statistics.median(vals), unit)}** | {fmt(max(vals), unit)} | {unit} |")
        return out

    def ratios(self, part):
        """(bench, metric, subject, peer, ratio text) for every bench with a subject."""
        out = []
        for key in self.benches:
            if key[0] != part:
                continue
            tools = []
            for tool, *_ in self.sorted_rows(key):
                if tool not in tools:
                    tools.append(tool)
            subjects = [t for t in tools if t in SUBJECTS]
            peers = [t for t in tools if t not in SUBJECTS]
            if not subjects or not peers:
                continue
            metrics = []
            for tool, metric, unit, vals, na in self.rows[key]:
                if metric and metric not in metrics and tool in peers:
                    metrics.append(metric)
            for subject in subjects:
                na = self.na_of(key, subject)
                if na:
                    out.append((key[2], "all", subject, "/".join(peers), f"n/a ({na})"))
                    continue
                for peer in peers:
                    for metric in metrics:
                        pm, _ = self.median(key, peer, metric)
                        if pm is None:
                            continue
                        sm, _ = self.median(key, subject, metric)
                        if sm is None:
                            continue
                        text = f"{sm / pm:.2f}" if pm else "n/a (peer median 0)"
                        out.append((key[2], metric, subject, peer, text))
        return out


def targets(t):
    rows = []

    def ratio(key, a, b, metric):
        if not key:
            return None, "n/a (not measured)"
        na = t.na_of(key, a)
        if na:
            return None, f"n/a ({na})"
        ma, _ = t.median(key, a, metric)
        mb, _ = t.median(key, b, metric)
        if ma is None or mb is None:
            nb = t.na_of(key, b)
            return None, f"n/a ({nb})" if nb else "n/a (not measured)"
        return ma / mb, f"{ma / mb:.2f}×"

    def judge(value, ok):
        return "n/a" if value is None else ("met" if ok else "not met")

    # Issue 20's runtime targets (medians, one interleaved run).
    k = t.find("runtime", "run", "(default)")
    for metric in ("wall", "cpu"):
        r, text = ratio(k, "berth", "crun", metric)
        rows.append((f"berth `run` ≤ 0.75× crun ({metric}, median)", text,
                     judge(r, r is not None and r <= 0.75)))
    r, text = ratio(k, "berth", "floor", "wall")
    rows.append(("berth `run` ≤ 3× the unshare+chroot floor (wall)", text, judge(r, r is not None and r <= 3.0)))
    k = t.find("runtime", "lifecycle", "(default)")
    r, text = ratio(k, "berth", "crun", "wall")
    rows.append(("create+start+wait+delete ≤ 0.75× crun (wall)", text, judge(r, r is not None and r <= 0.75)))
    k = t.find("runtime", "parallel", "(default)")
    r, text = ratio(k, "berth", "crun", "throughput")
    rows.append(("parallel `run` throughput ≥ 1.3× crun's", text, judge(r, r is not None and r >= 1.3)))
    for cmd in ("run", "create"):
        k = t.find("runtime", "rss", f"`{cmd}`")
        r, text = ratio(k, "berth", "crun", "peak RSS")
        rows.append((f"peak RSS of `{cmd}` ≤ 0.9× crun's", text, judge(r, r is not None and r <= 0.9)))
    for engine in ("podman", "ctr", "docker"):
        k = t.find("engines", engine, "run --rm")
        if k:
            r, text = ratio(k, "berth", "crun", "wall")
            rows.append((f"`{engine} run --rm` faster with berth than with crun (wall)", text,
                         judge(r, r is not None and r < 1.0)))
    def find_fs(group, prefix=""):
        for fs in ("ext4", "tmpfs"):
            k = t.find("image", group, prefix + fs)
            if k:
                return k, fs
        return None, "ext4"

    k, fs = find_fs("pull")
    r, text = ratio(k, "berth-image", "skopeo", "wall")
    rows.append((f"pull ≤ 1.0× skopeo ({fs}, wall)", text, judge(r, r is not None and r <= 1.0)))
    k, fs = find_fs("pull+unpack")
    r, text = ratio(k, "berth-image", "skopeo+umoci", "wall")
    rows.append((f"pull + unpack ≤ 0.3× skopeo+umoci ({fs}, wall)", text, judge(r, r is not None and r <= 0.3)))
    k, fs = find_fs("snapshot", "layers cached (")
    if not k:
        fs = find_fs("bundle")[1]
    snap = f"snapshot bundle under 50 ms ({fs}, layers cached)"
    if k and t.na_of(k, "berth-image"):
        rows.append((snap, f"n/a ({t.na_of(k, 'berth-image')})", "n/a"))
    else:
        m, _ = t.median(k, "berth-image", "wall") if k else (None, None)
        if m is None:
            na = None
            kb, _ = find_fs("bundle")
            if kb:
                na = t.na_of(kb, "berth-image unpack") or t.na_of(kb, "berth-image")
            rows.append((snap, f"n/a ({na or 'not measured'})", "n/a"))
        else:
            rows.append((snap, f"{m:.1f} ms", judge(m, m < 50)))
    # Issue 17: commit of a 20,000-file change ≤ 0.5× umoci repack.
    k, fs = find_fs("commit")
    r, text = ratio(k, "berth-image commit", "umoci repack", "wall")
    rows.append((f"commit of a 20,000-file change ≤ 0.5× umoci repack ({fs}, wall)", text,
                 judge(r, r is not None and r <= 0.5)))
    # Issue 18: berth-image build against podman build of the same Dockerfile.
    for what, bench, goal in (("cold", "cold build", 0.5), ("warm (nothing changed)", "warm build", 0.1)):
        k = t.find("build", "build", bench)
        if not k and not any(b[0] == "build" for b in t.benches):
            continue
        r, text = ratio(k, "berth-image", "podman build", "wall")
        rows.append((f"{what} build ≤ {goal}× podman build (wall)", text,
                     judge(r, r is not None and r <= goal)))
    # Issue 17: push (and copy from an OCI layout) ≤ 1.0× skopeo copy to the same registry.
    for contains, what in (("push to a new repository", "new repository, blobs on the registry"),
                           ("push to an empty registry", "empty registry"),
                           ("push again", "blobs present")):
        k = t.find("image", "push", contains)
        fs = "ext4" if k and "ext4" in k[2] else "tmpfs" if k else "ext4"
        for tool in ("berth-image push", "berth-image copy"):
            r, text = ratio(k, tool, "skopeo", "wall")
            rows.append((f"`{tool.split()[-1]}` ≤ 1.0× skopeo copy, {what} ({fs}, wall)", text,
                         judge(r, r is not None and r <= 1.0)))
    # Issues 7 and 8: peak memory under 64 MiB whatever the image size. The worst berth-image
    # command of the run counts: the largest max (not median) over every image benchmark.
    worst = None
    for key in t.benches:
        if key[0] != "image":
            continue
        for tool, metric, unit, vals, na in t.rows[key]:
            if tool.startswith("berth-image") and metric == "peak RSS" and vals:
                if worst is None or max(vals) > worst[0]:
                    worst = (max(vals), key[2])
    if worst is None:
        rows.append(("berth-image peak RSS under 64 MiB (every command)", "n/a (not measured)", "n/a"))
    else:
        rows.append(("berth-image peak RSS under 64 MiB (every command)",
                     f"{worst[0]:.1f} MiB ({worst[1]})", judge(worst[0], worst[0] < 64)))
    return rows


SANITY_LIMIT = 1.5


def sanity_lines(t):
    """One line per runtime: the harness's `run` median against a plain shell loop of the same
    command (issue 20: a crun figure of 36 ms where a loop gives 10 ms was a broken measurement)."""
    out = []
    k = t.find("runtime", "run", "(default)")
    for r in t.sanity:
        tool = r["tool"]
        if r.get("loop_ms") is None:
            out.append(f"{tool}: shell loop failed ({r.get('error')}): harness figure unchecked — FLAG")
            continue
        m, _ = t.median(k, tool, "wall") if k else (None, None)
        if m is None:
            out.append(f"{tool}: shell loop {r['loop_ms']:.1f} ms per container ({r['n']} runs); no harness figure")
            continue
        ratio = m / r["loop_ms"]
        verdict = (f"FLAG: the harness measures {tool} more than {SANITY_LIMIT}× slower than a shell loop"
                   if ratio > SANITY_LIMIT else "ok")
        out.append(f"{tool}: harness median {m:.1f} ms vs shell loop {r['loop_ms']:.1f} ms per container "
                   f"({r['n']} sequential runs, CPU {r.get('loop_cpu_ms', 0):.1f} ms): {ratio:.2f}× — {verdict}")
    return out


def plot(t, path):
    """Medians with min–max bars, one panel per benchmark (its first metric), one bar per tool.
    Returns None, or why there is no chart (matplotlib missing)."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        return f"no chart: {e}"
    panels = []
    for key in t.benches:
        rows = [r for r in t.sorted_rows(key) if not r[4]]
        if not rows:
            continue
        metric, unit = rows[0][1], rows[0][2]
        bars = [(tool, vals) for tool, m, u, vals, na in rows if m == metric and vals]
        panels.append((key, metric, unit, bars))
    if not panels:
        return "no chart: nothing measured"
    colors = {"berth": "#1f77b4", "berth-image": "#1f77b4", "crun": "#ff7f0e", "runc": "#2ca02c",
              "floor": "#7f7f7f"}
    fig, axes = plt.subplots(len(panels), 1, figsize=(8, 1.1 + 0.45 * sum(len(p[3]) for p in panels)
                                                       + 0.6 * len(panels)), squeeze=False)
    for ax, (key, metric, unit, bars) in zip(axes[:, 0], panels):
        names = [b[0] for b in bars]
        med = [statistics.median(b[1]) for b in bars]
        lo = [m - min(b[1]) for m, b in zip(med, bars)]
        hi = [max(b[1]) - m for m, b in zip(med, bars)]
        y = range(len(bars))
        ax.barh(list(y), med, xerr=[lo, hi], capsize=3,
                color=[colors.get(n, "#9467bd") for n in names])
        ax.set_yticks(list(y))
        ax.set_yticklabels(names, fontsize=8)
        ax.invert_yaxis()
        ax.set_title(f"{key[2]} — {metric}", fontsize=9, loc="left")
        ax.set_xlabel(f"{unit} (median, bar = min–max)", fontsize=8)
        ax.tick_params(axis="x", labelsize=8)
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)
    return None


def terminal(t):
    lines = []
    for key in t.benches:
        lines.append(f"\n{key[0]}: {key[2]}")
        for tool, metric, unit, vals, na in t.sorted_rows(key):
            if na:
                lines.append(f"  {tool:<34} n/a ({na})")
            else:
                lines.append(f"  {tool:<34} {metric:<18} median {fmt(statistics.median(vals), unit):>9} {unit:<13}"
                             f" (min {fmt(min(vals), unit)}, max {fmt(max(vals), unit)}, n={len(vals)})")
    for part in ("runtime", "engines", "image", "build"):
        rs = t.ratios(part)
        if rs:
            lines.append(f"\n{part} ratios (median / median; < 1 means berth is lower):")
            for bench, metric, s, p, text in rs:
                lines.append(f"  {s}/{p:<26} {metric:<18} {text:<10} {bench}")
    if t.sanity:
        lines.append("\nsanity (harness vs a plain shell loop of the same `run`):")
        lines.extend(f"  {l}" for l in sanity_lines(t))
    lines.append("\ntargets:")
    for what, value, verdict in targets(t):
        lines.append(f"  {what:<52} {value:<12} {verdict}")
    return "\n".join(lines)


def markdown(t, args):
    md = [f"# bench results, {args.date}", ""]
    md.append(f"Command: `{args.command}`  ")
    md.append(f"Total run time: {args.elapsed}")
    md.append("\n## Machine\n")
    for k, v in machine(args).items():
        md.append(f"- {k}: {v}")
    md.append("\n## Versions\n")
    for k, v in versions(args).items():
        md.append(f"- {k}: {v}")
    if t.notes:
        md.append("\n## Notes\n")
        for part, text in t.notes:
            md.append(f"- ({part}) {text}")
    if args.chart:
        md.append(f"\nChart (medians, min–max bars): [{os.path.basename(args.chart)}]"
                  f"({os.path.basename(args.chart)})")
    if t.sanity:
        md.append("\n## Sanity: harness against a plain shell loop\n")
        md.append(f"Each runtime's `run /bin/true` (default bundle, same --root) timed in a plain `sh` "
                  f"loop; a harness median more than {SANITY_LIMIT}× the loop's per-container time is "
                  f"flagged as a broken measurement.\n")
        md.extend(f"- {cell(l)}" for l in sanity_lines(t))
    md.append("\n## Targets (issues 10, 18 and 20)\n")
    md.append("| target | measured | |")
    md.append("|---|---|---|")
    for what, value, verdict in targets(t):
        md.append(f"| {cell(what)} | {cell(value)} | {verdict} |")
    for part, title in (("runtime", "Runtime"), ("engines", "Engines (run --rm through podman, ctr, docker)"),
                        ("image", "Image tool"), ("build", "Build (berth-image build vs podman build)")):
        if not any(k[0] == part for k in t.benches):
            continue
        md.append(f"\n## {title}: ratios\n")
        md.append("Median over median; below 1 means berth is lower (faster, less CPU, less "
                  "memory) — except `throughput`, where above 1 means berth is faster.\n")
        md.append("| benchmark | metric | ratio | value |")
        md.append("|---|---|---|---:|")
        for bench, metric, s, p, text in t.ratios(part):
            md.append(f"| {cell(bench)} | {metric} | {cell(s + '/' + p)} | {cell(text)} |")
        md.append(f"\n## {title}: figures\n")
        md.extend(t.figures_md(part))
    return "\n".join(md) + "\n"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--records", required=True)
    p.add_argument("--out")
    p.add_argument("--src", required=True)
    p.add_argument("--berth")
    p.add_argument("--berth-image")
    p.add_argument("--load-start")
    p.add_argument("--load-end")
    p.add_argument("--date", required=True)
    p.add_argument("--command", default="bench/run")
    p.add_argument("--elapsed", default="?")
    p.add_argument("--image-ran", action="store_true")
    args = p.parse_args()
    t = Table(load(args.records))
    print(terminal(t))
    args.chart = None
    if args.out:
        chart = os.path.splitext(args.out)[0] + ".svg"
        why = plot(t, chart)
        if why:
            t.notes.append(("all", why))
        else:
            args.chart = chart
            print(f"wrote {chart}")
        os.makedirs(os.path.dirname(args.out) or ".", exist_ok=True)
        with open(args.out, "w") as f:
            f.write(markdown(t, args))
        print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
