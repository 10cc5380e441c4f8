#!/usr/bin/env bats
# The Debian packages, end to end: scripts/package builds berth_*.deb and berth-image_*.deb from
# the committed tree, apt-get installs them on this machine, the autopkgtest smoke tests
# (debian/tests/smoke) run against the INSTALLED files (/usr/sbin/berth, /usr/bin/berth-image,
# podman's drop-in), and apt-get purge takes every file away again.
#
# The package build is a second full compile (Debian's flags); ccache makes a repeat cheap
# (docs/packaging.md has the figures). It runs once, in setup_file, outside the per-test bound.

load helpers

PKGS="berth berth-image"
# Where packages put files: compared before install and after purge.
WATCHED="/usr/sbin /usr/bin /usr/share/man/man1 /usr/share/man/man8 /usr/share/bash-completion/completions /usr/share/doc /etc/containers /usr/share/lintian/overrides"

installed() {
	dpkg-query -W -f='${db:Status-Status}\n' "$1" 2>/dev/null | grep -qx installed
}

snapshot() {
	# shellcheck disable=SC2086
	# Only names with berth in them: other packages may come and go meanwhile; dpkg -L covers
	# the rest.
	{ find $WATCHED -xdev 2>/dev/null | grep -i berth || true; } | sort
}

setup_file() {
	[ "$(id -u)" -eq 0 ] || skip "the package test installs packages (root)"
	command -v dpkg-buildpackage >/dev/null || command -v apt-get >/dev/null || skip "not a Debian system"
	local p
	for p in $PKGS; do
		installed "$p" && skip "package $p is installed here already: the test would replace it"
	done
	export DEB_OUT=$BATS_FILE_TMPDIR/deb
	"$BERTH_SRC/scripts/package" "$DEB_OUT" >"$BATS_FILE_TMPDIR/package.log" 2>&1 || {
		cat "$BATS_FILE_TMPDIR/package.log" >&2
		false
	}
	snapshot >"$BATS_FILE_TMPDIR/before"
}

teardown_file() {
	local p
	for p in $PKGS; do
		if installed "$p" || dpkg-query -W "$p" >/dev/null 2>&1; then
			apt-get purge -y -q -o DPkg::Lock::Timeout=600 $PKGS >/dev/null 2>&1 || true
			break
		fi
	done
}

@test "scripts/package: both .debs, with the files, paths and relations they promise" {
	ls "$DEB_OUT"/berth_*.deb "$DEB_OUT"/berth-image_*.deb
	local rt img
	rt=$(ls "$DEB_OUT"/berth_*.deb)
	img=$(ls "$DEB_OUT"/berth-image_*.deb)
	run dpkg-deb -c "$rt"
	for f in ./usr/sbin/berth ./usr/share/man/man8/berth.8.gz ./usr/share/man/man8/berth-run.8.gz \
		./usr/share/bash-completion/completions/berth ./etc/containers/containers.conf.d/berth.conf; do
		grep -q " $f\$" <<<"$output" || fail "berth.deb lacks $f"
	done
	! grep -q 'berth-image' <<<"$output" || fail "berth.deb carries berth-image files"
	run dpkg-deb -c "$img"
	for f in ./usr/bin/berth-image ./usr/share/man/man1/berth-image.1.gz \
		./usr/share/man/man1/berth-image-pull.1.gz ./usr/share/bash-completion/completions/berth-image; do
		grep -q " $f\$" <<<"$output" || fail "berth-image.deb lacks $f"
	done
	# The runtime is static: no shared library in its Depends. The image tool's come from shlibs.
	! dpkg-deb -f "$rt" Depends | grep -q 'lib' || fail "berth depends on: $(dpkg-deb -f "$rt" Depends)"
	dpkg-deb -f "$rt" Built-Using | grep -q 'libseccomp'
	dpkg-deb -f "$img" Depends | grep -q 'libssl3'
	dpkg-deb -f "$img" Suggests | grep -qw berth
	# The drop-in registers berth without making it podman's default.
	dpkg-deb --fsys-tarfile "$rt" | tar -xO ./etc/containers/containers.conf.d/berth.conf >"$BATS_TEST_TMPDIR/conf"
	grep -q '^berth = \["/usr/sbin/berth"\]' "$BATS_TEST_TMPDIR/conf"
	! grep -q '^runtime *=' "$BATS_TEST_TMPDIR/conf"
}

@test "installed: the smoke tests pass against /usr/sbin/berth; purge leaves the machine as it was" {
	apt-get install -y -q --no-install-recommends -o DPkg::Lock::Timeout=600 \
		"$DEB_OUT"/berth_*.deb "$DEB_OUT"/berth-image_*.deb >"$BATS_TEST_TMPDIR/apt.log" 2>&1 ||
		{ cat "$BATS_TEST_TMPDIR/apt.log" >&2; false; }
	[ -x /usr/sbin/berth ] && [ -x /usr/bin/berth-image ]
	dpkg -L $PKGS >"$BATS_TEST_TMPDIR/files"
	# The installed binaries name the commit the package was built from.
	if git -C "$BERTH_SRC" rev-parse HEAD >/dev/null 2>&1; then
		/usr/sbin/berth --version | grep -qx "commit: $(git -C "$BERTH_SRC" rev-parse HEAD)"
		/usr/bin/berth-image --version | grep -qx "commit: $(git -C "$BERTH_SRC" rev-parse HEAD)"
	fi
	run env BERTH=/usr/sbin/berth BERTH_IMAGE=/usr/bin/berth-image "$BERTH_SRC/debian/tests/smoke"
	echo "$output"
	[ "$status" -eq 0 ]
	[ "$(grep -c '^smoke: ok' <<<"$output")" -eq 4 ]

	apt-get purge -y -q -o DPkg::Lock::Timeout=600 $PKGS >>"$BATS_TEST_TMPDIR/apt.log" 2>&1 ||
		{ cat "$BATS_TEST_TMPDIR/apt.log" >&2; false; }
	! installed berth && ! installed berth-image
	local f
	while read -r f; do
		[ -d "$f" ] || [ ! -e "$f" ] || fail "purge left $f"
	done <"$BATS_TEST_TMPDIR/files"
	snapshot >"$BATS_TEST_TMPDIR/after"
	diff "$BATS_FILE_TMPDIR/before" "$BATS_TEST_TMPDIR/after"
}
