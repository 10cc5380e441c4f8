# The throwaway unprivileged user of rootless.bats and rootless_image.bats: made in
# setup_file, removed in teardown_file, with copies of the binaries it can reach.

# as_user CMD...: CMD as $RL_USER with a clean environment (XDG_DATA_HOME when RL_DATA is set).
as_user() {
	runuser -u "$RL_USER" -- env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
		HOME="$RL_HOME" USER="$RL_USER" XDG_RUNTIME_DIR="$RL_XDG" ${RL_DATA:+XDG_DATA_HOME=$RL_DATA} "$@"
}

# rootless_user_create: useradd $RL_USER; exports RL_UID, RL_GID, RL_HOME, and RL_DIR holding
# RL_BERTH and RL_BIMG (copies: the build tree may be under a private directory) and RL_XDG.
rootless_user_create() {
	export RL_USER RL_UID RL_GID RL_HOME RL_DIR RL_XDG RL_BERTH RL_BIMG
	useradd -m -s /bin/sh "$RL_USER"
	RL_UID=$(id -u "$RL_USER")
	RL_GID=$(id -g "$RL_USER")
	RL_HOME=$(getent passwd "$RL_USER" | cut -d: -f6)
	RL_DIR=$(mktemp -d /tmp/berth-rootless.XXXXXX)
	chmod 755 "$RL_DIR"
	RL_BERTH=$RL_DIR/berth RL_BIMG=$RL_DIR/berth-image
	cp "$BERTH" "$RL_BERTH"
	cp "$BERTH_IMAGE" "$RL_BIMG"
	chmod 755 "$RL_BERTH" "$RL_BIMG"
	RL_XDG=$RL_DIR/xdg
	mkdir -m 700 "$RL_XDG"
	chown "$RL_USER:" "$RL_XDG"
}

# rootless_user_remove: the user's processes (the user was made by this file, so everything it
# runs was started here), the user, subordinate ranges added for it (RL_SUB_ADDED), RL_DIR.
rootless_user_remove() {
	[ -n "${RL_USER:-}" ] && id "$RL_USER" >/dev/null 2>&1 || return 0
	local pids
	pids=$(ps -u "$RL_USER" -o pid= 2>/dev/null || true)
	[ -n "$pids" ] && kill -KILL $pids 2>/dev/null || true
	sleep 0.2
	userdel -r "$RL_USER" >/dev/null 2>&1 || true
	if [ -n "${RL_SUB_ADDED:-}" ]; then
		sed -i "/^$RL_USER:/d" /etc/subuid /etc/subgid
	fi
	[ -n "${RL_DIR:-}" ] && rm -rf "$RL_DIR"
}
