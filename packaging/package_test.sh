#!/usr/bin/env bash
# ctest package_deb: the Debian package of this build tree, without root.
#   1. cpack -G DEB (the install tree of the build directory as it is built)
#      into a temporary directory: dorado_VERSION_ARCH.deb;
#   2. dpkg-deb -I: the control fields, runtime Depends from dpkg-shlibdeps
#      (librte-*, libssl3, libpcap0.8, libsystemd0 when built with it) and
#      the DPDK plugins the example config needs (each one a package this
#      machine has), adduser, Recommends, the conffile and the maintainer
#      scripts; dpkg-deb -c: every file where Debian expects it, nothing
#      outside /usr and /etc;
#   2b. the maintainer scripts against a fresh root (DPKG_ROOT, with
#      adduser, getent, chown, systemctl... as stubs that log their
#      arguments): postinst configure creates the system user dorado once
#      (run again, it makes none) and /var/lib/dorado (0700, chowned to
#      dorado); postrm purge keeps both;
#   3. dpkg -x into a fresh root, then the extracted programs run: dorado
#      --version and --check-config on the extracted /etc/dorado/dorado.toml,
#      every tool's --help, dorado-migrate converts a Kea config that the
#      extracted dorado accepts, the hugepages helper with nothing to do,
#      the man pages render, the unit runs dorado as the user dorado with
#      the same ambient and bounding capabilities, and systemd-analyze
#      verifies the extracted unit.
# Usage: package_test.sh BUILD_DIR. Environment: DORADO_VERSION,
# DORADO_HAVE_SYSTEMD (1 when dorado links libsystemd).
set -euo pipefail
build=${1:?usage: package_test.sh BUILD_DIR}
version=${DORADO_VERSION:?}
arch=$(dpkg --print-architecture)
tmp=$(mktemp -d /tmp/dorado-package.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

failed=0
checks=0
check() {   # check DESCRIPTION COMMAND...
  local what=$1
  shift
  checks=$((checks + 1))
  if "$@" >"$tmp/check.out" 2>&1; then
    echo "ok   - $what"
  else
    echo "FAIL - $what"
    sed 's/^/       /' "$tmp/check.out" | head -n 20
    failed=$((failed + 1))
  fi
}
has_line() { grep -qxF -- "$2" "$1"; }   # has_line FILE LINE
has() { grep -qE -- "$2" "$1"; }          # has FILE REGEX

# ---- 1. cpack ---------------------------------------------------------------
t0=$SECONDS
if ! (cd "$build" && cpack -G DEB -B "$tmp/out") >"$tmp/cpack.log" 2>&1; then
  cat "$tmp/cpack.log"
  echo "FAIL - cpack -G DEB"
  exit 1
fi
deb=$tmp/out/dorado_${version}_${arch}.deb
check "cpack made $(basename "$deb") ($((SECONDS - t0)) s)" test -f "$deb"
[[ -f $deb ]] || { ls -l "$tmp/out"; exit 1; }

# ---- 2. control fields, conffiles, scripts, contents -----------------------
dpkg-deb -I "$deb" >"$tmp/info"
field() { dpkg-deb -f "$deb" "$1"; }
check "Package: dorado" test "$(field Package)" = dorado
check "Version: $version" test "$(field Version)" = "$version"
check "Architecture: $arch" test "$(field Architecture)" = "$arch"
check "Maintainer, Section net, Description" \
  test -n "$(field Maintainer)" -a "$(field Section)" = net -a -n "$(field Description)"
depends=$(field Depends)
echo "       Depends: $depends"
tr ',' '\n' <<<"$depends" | sed -E 's/^ +//; s/ .*//' | sed '/^$/d' >"$tmp/depends"
for lib in 'librte-ethdev[0-9.]*' 'librte-eal[0-9.]*' 'librte-mbuf[0-9.]*' \
           libc6 'libstdc\+\+6' libssl3 'libpcap0.8' 'libgcc-s1'; do
  check "Depends on $lib (dpkg-shlibdeps)" grep -qE "^($lib)\$" "$tmp/depends"
done
# DPDK's drivers are plugins, not linked: those the example config needs.
for plugin in 'librte-bus-vdev[0-9]+' 'librte-bus-pci[0-9]+' 'librte-mempool-ring[0-9]+' 'librte-net-af-packet[0-9]+'; do
  check "Depends on the DPDK plugin $plugin" grep -qE "^($plugin)\$" "$tmp/depends"
done
check "Depends on adduser (postinst creates the user dorado)" grep -qx adduser "$tmp/depends"
check "Recommends: dpdk, librte-meta-net (every NIC driver)" \
  test "$(field Recommends)" = "dpdk, librte-meta-net"
if [[ ${DORADO_HAVE_SYSTEMD:-} =~ ^(1|ON|TRUE|YES)$ ]]; then
  check "Depends on libsystemd0 (sd_notify)" grep -qx libsystemd0 "$tmp/depends"
fi
missing=()
while read -r p; do dpkg-query -W "$p" >/dev/null 2>&1 || missing+=("$p"); done <"$tmp/depends"
check "every dependency is a package this machine has (${missing[*]:-none missing})" test ${#missing[@]} -eq 0

dpkg-deb -e "$deb" "$tmp/control"
check "conffiles: /etc/dorado/dorado.toml" test "$(cat "$tmp/control/conffiles")" = /etc/dorado/dorado.toml
for s in postinst prerm postrm; do
  check "$s: executable, sh -n" sh -c "test -x '$tmp/control/$s' && sh -n '$tmp/control/$s'"
done

dpkg-deb -c "$deb" | awk '{print $6}' | sed 's|^\./|/|; s|/$||' | sed '/^$/d' | sort >"$tmp/files"
for f in /usr/sbin/dorado /usr/sbin/doradoctl /usr/sbin/dorado-gen /usr/sbin/dorado-leases \
         /usr/sbin/dorado-setup-hugepages /usr/bin/dorado-decode /usr/bin/dorado-migrate \
         /usr/share/man/man8/dorado.8.gz /usr/share/man/man8/doradoctl.8.gz \
         /usr/share/man/man8/dorado-gen.8.gz /usr/share/man/man8/dorado-leases.8.gz \
         /usr/share/man/man8/dorado-migrate.8.gz /usr/share/doc/dorado/docs/tools/migrate.md \
         /usr/share/man/man1/dorado-decode.1.gz /usr/share/man/man5/dorado.toml.5.gz \
         /usr/lib/systemd/system/dorado.service /etc/dorado/dorado.toml \
         /usr/share/doc/dorado/copyright /usr/share/doc/dorado/README.md \
         /usr/share/doc/dorado/docs/configuration.md /usr/share/doc/dorado/docs/ha.md \
         /usr/share/doc/dorado/docs/operations.md /usr/share/doc/dorado/docs/control-api.md \
         /usr/share/doc/dorado/examples/dorado.example.toml; do
  check "contains $f" has_line "$tmp/files" "$f"
done
check "nothing outside /usr and /etc, no /usr/etc, no man page sources" \
  sh -c "! grep -vE '^/(usr|etc)(/|\$)|^/\$' '$tmp/files' && ! grep -E '^/usr/etc|/docs/man(/|\$)|/usr/local' '$tmp/files'"

# ---- 2b. the maintainer scripts against a fresh root -------------------------
# dpkg runs them as root with DPKG_ROOT set for `dpkg --root`; here the
# commands that would change this machine are stubs that log "NAME ARGS"
# to $log. adduser adds the user to a fake passwd that getent reads.
stubs=$tmp/stubs scripts_root=$tmp/scripts-root log=$tmp/stubs.log
mkdir -p "$stubs" "$scripts_root"
: >"$log"
: >"$tmp/passwd"
stub() { printf '#!/bin/sh\necho "%s $*" >>"%s"\n%s\n' "$1" "$log" "${2:-exit 0}" >"$stubs/$1"; chmod +x "$stubs/$1"; }
stub adduser "for a; do u=\$a; done; echo \"\$u:x:999:999::/var/lib/dorado:/usr/sbin/nologin\" >>'$tmp/passwd'"
stub getent "grep -q \"^\$2:\" '$tmp/passwd'"
stub dpkg-statoverride 'exit 1'
for c in chown deluser delgroup addgroup useradd userdel systemctl deb-systemd-helper; do stub "$c"; done
run_script() {   # run_script SCRIPT ARGS...: as dpkg does, with sh
  env DPKG_ROOT="$scripts_root" PATH="$stubs:$PATH" sh "$tmp/control/$1" "${@:2}"
}
check "postinst configure (fresh root) exits 0" run_script postinst configure ""
check "... creates the system user dorado: adduser --system --group --home /var/lib/dorado --no-create-home" \
  sh -c "grep -E '^adduser ' '$log' | grep -- '--system' | grep -- '--group' | grep -- '--home /var/lib/dorado' |
         grep -- '--no-create-home' | grep -qE ' dorado\$'"
check "... creates /var/lib/dorado, mode 0700, owned by dorado:dorado" sh -c \
  "test \"\$(stat -c %a '$scripts_root/var/lib/dorado')\" = 700 &&
   grep -qx 'chown dorado:dorado $scripts_root/var/lib/dorado' '$log'"
: >"$log"
check "postinst configure again (dpkg-reconfigure, upgrade) exits 0" run_script postinst configure "$version"
check "... creates no second user (idempotent)" sh -c "! grep -qE '^(adduser|useradd|addgroup) ' '$log'"
# The stub chown changes nothing: the directory still looks root-owned, as
# the store of a package that ran dorado as root does.
check "... hands a store not owned by dorado over: chown -R dorado:dorado" \
  grep -qx "chown -R dorado:dorado $scripts_root/var/lib/dorado" "$log"
: >"$log"
check "postrm remove exits 0" run_script postrm remove
check "postrm purge exits 0" run_script postrm purge
check "... purge keeps the user dorado and /var/lib/dorado (Debian keeps system users)" sh -c \
  "! grep -qE '^(deluser|delgroup|userdel) ' '$log' && test -d '$scripts_root/var/lib/dorado'"
# As root, once more with the real adduser, getent and chown, in a mount
# namespace of its own whose /etc is a copy: this machine's users are left
# as they are.
if [[ $(id -u) -eq 0 ]] && unshare -m true 2>/dev/null; then
  real_root=$tmp/real-root
  mkdir -p "$real_root/root"
  cp -a /etc "$real_root/etc"
  cat >"$tmp/real-postinst.sh" <<SCRIPT
set -e
mount --bind '$real_root/etc' /etc
export DPKG_ROOT='$real_root/root'
sh '$tmp/control/postinst' configure ''
sh '$tmp/control/postinst' configure '$version'
getent passwd dorado
getent group dorado
stat -c '%U:%G %a' "\$DPKG_ROOT/var/lib/dorado"
SCRIPT
  passwd_before=$(md5sum /etc/passwd /etc/group)
  check "postinst with the real adduser (root, a private /etc), twice: user and group dorado, /var/lib/dorado dorado:dorado 0700" \
    sh -c "unshare -m sh '$tmp/real-postinst.sh' >'$tmp/real.out' 2>&1; rc=\$?; cat '$tmp/real.out'; test \$rc -eq 0 &&
           grep -qE '^dorado:x:[0-9]+:[0-9]+::/var/lib/dorado:/usr/sbin/nologin\$' '$tmp/real.out' &&
           grep -qE '^dorado:x:[0-9]+:\$' '$tmp/real.out' && grep -qx 'dorado:dorado 700' '$tmp/real.out'"
  check "... this machine's /etc/passwd and /etc/group unchanged" test "$(md5sum /etc/passwd /etc/group)" = "$passwd_before"
else
  echo "skip - postinst with the real adduser (needs root and unshare -m)"
fi

# ---- 3. a fresh root: dpkg -x, run what it holds ----------------------------
root=$tmp/root
dpkg -x "$deb" "$root"
check "binaries stripped (file)" sh -c "file -L '$root/usr/sbin/dorado' '$root/usr/bin/dorado-decode' '$root/usr/bin/dorado-migrate' | grep -v ', stripped' | (! grep .)"
check "dorado --version says $version" has_line <("$root/usr/sbin/dorado" --version) "dorado $version"
check "dorado --check-config <root>/etc/dorado/dorado.toml" \
  has_line <("$root/usr/sbin/dorado" --check-config "$root/etc/dorado/dorado.toml") "$root/etc/dorado/dorado.toml: OK"
check "/etc/dorado/dorado.toml is the example config" cmp "$root/etc/dorado/dorado.toml" \
  "$root/usr/share/doc/dorado/examples/dorado.example.toml"
for tool in usr/sbin/doradoctl usr/sbin/dorado-gen usr/sbin/dorado-leases usr/bin/dorado-decode \
            usr/bin/dorado-migrate usr/sbin/dorado-setup-hugepages; do
  check "$tool --help" "$root/$tool" --help
done
check "dorado-migrate --version says $version" has_line <("$root/usr/bin/dorado-migrate" --version) "dorado-migrate $version"
cat >"$tmp/kea-dhcp4.conf" <<'JSON'
// Kea's comments are allowed
{ "Dhcp4": { "valid-lifetime": 4000,
  "subnet4": [ { "id": 1, "subnet": "192.0.2.0/24", "pools": [ { "pool": "192.0.2.100 - 192.0.2.199" } ],
                 "option-data": [ { "name": "routers", "data": "192.0.2.1" } ] } ] } }
JSON
check "dorado-migrate kea-config converts a Kea config (exit 0)" \
  "$root/usr/bin/dorado-migrate" kea-config "$tmp/kea-dhcp4.conf" --server-address 192.0.2.2 -o "$tmp/migrated.toml"
check "... that the extracted dorado --check-config accepts" \
  has_line <("$root/usr/sbin/dorado" --check-config "$tmp/migrated.toml" 2>&1) "$tmp/migrated.toml: OK"
check "dorado-setup-hugepages with DORADO_HUGEPAGES=0 does nothing" \
  env DORADO_HUGEPAGES=0 DORADO_SYSFS=/nonexistent "$root/usr/sbin/dorado-setup-hugepages"
# doradoctl as is: its default socket is the example config's, in the
# unit's RuntimeDirectory; the store is in its StateDirectory.
check "doradoctl's default socket is /run/dorado/dorado.sock" has <("$root/usr/sbin/doradoctl" --help) \
  'default /run/dorado/dorado.sock'
check "the installed config: socket in /run/dorado, store in /var/lib/dorado" sh -c \
  "grep -qx 'socket = \"/run/dorado/dorado.sock\"' '$root/etc/dorado/dorado.toml' &&
   grep -qx 'dir = \"/var/lib/dorado\"' '$root/etc/dorado/dorado.toml'"
unit=$root/usr/lib/systemd/system/dorado.service
for line in Type=notify WatchdogSec=30s Restart=on-failure StateDirectory=dorado RuntimeDirectory=dorado \
            'ExecStart=/usr/sbin/dorado -c /etc/dorado/dorado.toml' \
            'ExecStartPre=+/usr/sbin/dorado-setup-hugepages' 'ExecReload=/bin/kill -HUP $MAINPID' \
            User=dorado Group=dorado Environment=XDG_RUNTIME_DIR=/run/dorado \
            WantedBy=multi-user.target; do
  check "dorado.service: $line" has_line "$unit" "$line"
done
# A non-root user has only its ambient capabilities: the same set as the
# bounding set, and none that would make it root again.
ambient=$(sed -n 's/^AmbientCapabilities=//p' "$unit")
bounding=$(sed -n 's/^CapabilityBoundingSet=//p' "$unit")
check "dorado.service: AmbientCapabilities= is CapabilityBoundingSet= ($ambient)" \
  test -n "$ambient" -a "$ambient" = "$bounding"
for cap in CAP_NET_RAW CAP_NET_ADMIN CAP_IPC_LOCK CAP_SYS_ADMIN; do
  check "dorado.service: keeps $cap (DPDK)" grep -qw "$cap" <<<"$ambient"
done
lacks() { ! grep -qwE -- "$2" <<<"$1"; }   # lacks TEXT REGEX
check "dorado.service: no CAP_SETUID, CAP_SETGID, CAP_CHOWN, CAP_FOWNER, CAP_SYS_MODULE, CAP_SYS_PTRACE" \
  lacks "$bounding" 'CAP_(SETUID|SETGID|CHOWN|FOWNER|SYS_MODULE|SYS_PTRACE)'
check "dorado.service: the hugepages helper runs as root (+), dorado as the user" \
  sh -c "grep -qx 'ExecStartPre=+/usr/sbin/dorado-setup-hugepages' '$unit' && ! grep -qx 'User=root' '$unit'"
if command -v systemd-analyze >/dev/null; then
  # Its programs under the fresh root; man: pages are checked above.
  sed "s|/usr/sbin/|$root/usr/sbin/|g" "$unit" >"$tmp/dorado.service"
  check "systemd-analyze verify dorado.service" systemd-analyze verify --man=no "$tmp/dorado.service"
fi
for page in "$root"/usr/share/man/man*/*.gz; do
  check "man -l $(basename "$page")" sh -c "MANWIDTH=80 man -l '$page' 2>&1 >/dev/null | (! grep .)"
done

echo "package: $checks checks, $failed failed ($((SECONDS)) s)"
[[ $failed -eq 0 ]]
