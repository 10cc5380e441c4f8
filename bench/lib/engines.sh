# Sourced by bench/run for --engines: private podman storage, a private containerd and (when
# docker.io is installed) a private dockerd, each with its own root, state, sockets and no
# network, all removed by engines_cleanup. Sets ENGINE_CASES (JSON lines for engine_bench.py).

ENGINE_IMAGE=localhost/berth-bench/busybox:1
ENGINE_DIR="" ENGINE_CD_PID="" ENGINE_DK_PID="" ENGINE_NS="berth-bench-$$"
ENGINE_CASES=()

# engine_case ENGINE RUNTIME ARGV...: one timed command ({id}: a fresh container name).
engine_case() {
	local engine=$1 runtime=$2
	shift 2
	# (Not jq: jq 1.6 reads an option such as --root even after --args.)
	ENGINE_CASES+=("$(python3 -c 'import json, sys; print(json.dumps({"engine": sys.argv[1], "runtime": sys.argv[2], "argv": sys.argv[3:]}))' "$engine" "$runtime" "$@")")
}

# engines_setup ROOTFS BERTH BERTH_IMAGE: WORK, note() come from bench/run.
engines_setup() {
	local rootfs=$1 berth=$2 berth_image=$3 d rt bin i
	ENGINE_DIR=$(mktemp -d /tmp/berth-bench-engines.XXXXXX)
	chmod 755 "$ENGINE_DIR"
	d=$ENGINE_DIR
	tar -C "$rootfs" -cf "$d/rootfs.tar" .
	local runtimes=("berth=$berth" "crun=$(command -v crun)" "runc=$(command -v runc)")

	# podman: its own storage; one runtime per case (--runtime PATH), no network.
	if command -v podman >/dev/null; then
		local pm=(podman --root "$d/pm/root" --runroot "$d/pm/runroot" --storage-driver overlay
			--tmpdir "$d/pm/tmp" --cgroup-manager cgroupfs --events-backend none)
		if "${pm[@]}" import -q "$d/rootfs.tar" "$ENGINE_IMAGE" >/dev/null 2>"$d/pm.err"; then
			for rt in "${runtimes[@]}"; do
				engine_case podman "${rt%%=*}" "${pm[@]}" --runtime "${rt#*=}" run --rm --net none \
					--cgroup-parent /berth-bench-podman --ulimit nofile=1024:1024 --ulimit nproc=4096:4096 --name "{id}" "$ENGINE_IMAGE" /bin/true
			done
			note engines "podman $(podman --version | awk '{print $3}'): private --root/--runroot (overlay), --cgroup-manager cgroupfs, --net none; image from \`podman import\` of the benchmark's busybox rootfs"
		else
			note engines "podman: n/a (import failed: $(tail -1 "$d/pm.err"))"
		fi
	fi

	# containerd: a private daemon (CRI plugin off), ctr run --runc-binary per case.
	if command -v containerd >/dev/null && command -v ctr >/dev/null; then
		mkdir -p "$d/cd"
		cat >"$d/cd/config.toml" <<-EOC
			version = 2
			root = "$d/cd/root"
			state = "/run/berth-bench-containerd-$$"
			disabled_plugins = ["io.containerd.grpc.v1.cri"]
			[grpc]
			  address = "$d/cd/containerd.sock"
			[ttrpc]
			  address = "$d/cd/containerd.sock.ttrpc"
			[debug]
			  address = "$d/cd/debug.sock"
		EOC
		containerd --config "$d/cd/config.toml" >"$d/cd/log" 2>&1 &
		ENGINE_CD_PID=$!
		for i in $(seq 100); do ctr -a "$d/cd/containerd.sock" version >/dev/null 2>&1 && break; sleep 0.1; done
		local ctr=(ctr -a "$d/cd/containerd.sock" -n "$ENGINE_NS")
		# The image as an oci-archive: podman's copy when podman imported it, else berth-image's.
		if { { [ -d "$d/pm" ] && podman --root "$d/pm/root" --runroot "$d/pm/runroot" --storage-driver overlay \
			--tmpdir "$d/pm/tmp" save -q --format oci-archive -o "$d/busybox.tar" "$ENGINE_IMAGE" 2>"$d/cd.err"; } ||
			{ "$berth_image" --store "$d/store" import -q "$rootfs" "$ENGINE_IMAGE" -- /bin/sh >/dev/null 2>>"$d/cd.err" &&
				skopeo copy -q "oci:$d/store:$ENGINE_IMAGE" "oci-archive:$d/busybox.tar:$ENGINE_IMAGE" 2>>"$d/cd.err"; }; } &&
			"${ctr[@]}" image import "$d/busybox.tar" >/dev/null 2>>"$d/cd.err"; then
			for rt in "${runtimes[@]}"; do
				engine_case ctr "${rt%%=*}" "${ctr[@]}" run --rm --runc-binary "${rt#*=}" "$ENGINE_IMAGE" "{id}" /bin/true
			done
			note engines "containerd $(containerd --version | awk '{print $3}'): a private daemon (state on /run), io.containerd.runc.v2 shim, \`ctr run --rm --runc-binary\`"
		else
			note engines "ctr: n/a (image import failed: $(tail -1 "$d/cd.err"))"
		fi
	fi

	# dockerd: a private daemon with its own data/exec roots, socket, no bridge, the three
	# runtimes registered by name (runc is Docker's built-in name for /usr/bin/runc).
	local dockerd
	dockerd=$(command -v dockerd || true)
	if [ -n "$dockerd" ] && [ -x /usr/bin/docker ]; then
		mkdir -p "$d/dk"
		setsid "$dockerd" --data-root "$d/dk/data" --exec-root "/run/berth-bench-docker-$$" \
			--pidfile "$d/dk/docker.pid" -H "unix://$d/dk/docker.sock" --bridge none \
			--iptables=false --ip-forward=false --ip-masq=false --storage-driver overlay2 \
			--add-runtime "berth=$berth" --add-runtime "crun=$(command -v crun)" \
			--cgroup-parent /berth-bench-docker --log-level warn >"$d/dk/log" 2>&1 &
		ENGINE_DK_PID=$!
		local dk=(/usr/bin/docker -H "unix://$d/dk/docker.sock")
		for i in $(seq 200); do "${dk[@]}" version >/dev/null 2>&1 && break; sleep 0.1; done
		if "${dk[@]}" import "$d/rootfs.tar" berth-bench/busybox:1 >/dev/null 2>"$d/dk.err"; then
			for rt in berth crun runc; do
				engine_case docker "$rt" "${dk[@]}" run --rm --runtime "$rt" --network none --name "{id}" berth-bench/busybox:1 /bin/true
			done
			note engines "docker $(/usr/bin/docker --version | awk '{print $3}' | tr -d ,): a private dockerd (own --data-root, --exec-root, socket; --bridge none), runtimes added with --add-runtime"
		else
			note engines "docker: n/a (dockerd did not start or import failed: $(tail -1 "$d/dk.err" "$d/dk/log" 2>/dev/null | tail -1))"
		fi
	fi
}

engines_cleanup() {
	# Best effort (a daemon may be gone already): bench/run's `set -e` must not stop it halfway.
	local - d=$ENGINE_DIR
	set +e
	[ -n "$d" ] || return 0
	if [ -n "$ENGINE_DK_PID" ]; then
		/usr/bin/docker -H "unix://$d/dk/docker.sock" ps -aq 2>/dev/null | xargs -r /usr/bin/docker -H "unix://$d/dk/docker.sock" rm -f >/dev/null 2>&1
		kill "$ENGINE_DK_PID" 2>/dev/null
		for _ in $(seq 100); do kill -0 "$ENGINE_DK_PID" 2>/dev/null || break; sleep 0.1; done
		# dockerd's own containerd
		[ -f "/run/berth-bench-docker-$$/containerd/containerd.pid" ] &&
			kill "$(cat "/run/berth-bench-docker-$$/containerd/containerd.pid")" 2>/dev/null
	fi
	if [ -n "$ENGINE_CD_PID" ]; then
		kill "$ENGINE_CD_PID" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$ENGINE_CD_PID" 2>/dev/null || break; sleep 0.1; done
	fi
	if [ -d "$d/pm" ]; then
		podman --root "$d/pm/root" --runroot "$d/pm/runroot" --storage-driver overlay \
			--tmpdir "$d/pm/tmp" rm -af >/dev/null 2>&1
	fi
	sleep 0.5
	findmnt -rn -o TARGET | grep -E "^($d/|/run/berth-bench-(docker|containerd)-$$)" | sort -r |
		while read -r m; do umount -l "$m" 2>/dev/null; done
	local c
	for c in /sys/fs/cgroup/*/"$ENGINE_NS" /sys/fs/cgroup/*/berth-bench-docker /sys/fs/cgroup/*/berth-bench-podman; do
		[ -d "$c" ] && find "$c" -depth -mindepth 0 -type d -exec rmdir {} \; 2>/dev/null
	done
	rm -rf "$d" "/run/berth-bench-docker-$$" "/run/berth-bench-containerd-$$"
	ENGINE_DIR=""
}
