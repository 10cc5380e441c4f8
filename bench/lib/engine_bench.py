# The engines' view (issue 20 item 4): `podman run --rm`, `ctr run --rm` and `docker run --rm`
# of one busybox image, each with berth, crun and runc as the OCI runtime, interleaved the way
# runtime_bench.py interleaves runtimes. bench/lib/engines.sh starts the private engines and
# loads the image; this only times the commands it is given.
import argparse
import json

import benchlib as bl
from benchlib import CommandFailed

PART = "engines"


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--results", required=True)
    p.add_argument("--case", action="append", default=[],
                   help='JSON {"engine":..., "runtime":..., "argv":[...]}; "{id}" in argv is '
                        "replaced by a fresh container name")
    p.add_argument("--iterations", type=int, default=10)
    p.add_argument("--warmup", type=int, default=2)
    args = p.parse_args()
    bl.exit_on_term()
    bl.TIMEOUT = 120.0
    res = bl.Results(args.results)
    cases = [json.loads(c) for c in args.case]
    engines = []
    for c in cases:
        if c["engine"] not in engines:
            engines.append(c["engine"])
    seq = 0
    for engine in engines:
        mine = [c for c in cases if c["engine"] == engine]
        bench = f"{engine} run --rm busybox /bin/true ({args.iterations} in sequence)"
        bl.log(f"{bench} ...")
        samples = {c["runtime"]: [] for c in mine}
        dropped = {}
        for i in range(args.warmup + args.iterations):
            order = mine[i % len(mine):] + mine[:i % len(mine)]
            for c in order:
                if c["runtime"] in dropped:
                    continue
                seq += 1
                argv = [a.replace("{id}", f"bench-eng-{seq}") for a in c["argv"]]
                try:
                    s = bl.run(argv)
                except CommandFailed as e:
                    dropped[c["runtime"]] = bl.na_reason(c["runtime"], e)
                    bl.log(f"{bench}: {dropped[c['runtime']]}")
                    continue
                if i >= args.warmup:
                    samples[c["runtime"]].append(s)
        for name, reason in dropped.items():
            res.na(PART, engine, bench, name, reason)
        for name, vals in samples.items():
            if name in dropped or not vals:
                continue
            # Wall only: the runtime runs under conmon / the shim / containerd, not as a child
            # of the timed client, so the client's rusage would not include it.
            res.samples(PART, engine, bench, name, "wall", "ms", [v.wall * 1e3 for v in vals])


if __name__ == "__main__":
    main()
