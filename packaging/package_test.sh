#!/usr/bin/env bash
# ctest package_deb: the Debian package of this build tree, without root.
#   1. cpack -G DEB (the install tree of the build directory as it is built)
#      into a temporary directory: dorado_VERSION_ARCH.deb;
#   2. dpkg-deb -I: the control fields, runtime Depends from dpkg-shlibdeps
#      (librte-*, libssl3, libpcap0.8, libsystemd0 when built with it) and
#      the DPDK plugins the example config needs (each one a package this
#      machine has), Recommends, the conffile and the maintainer
#      scripts; dpkg-deb -c: every file where Debian expects it, nothing
#      outside /usr and /etc;
#   3. dpkg -x into a fresh root, then the extracted programs run: dorado
#      --version and --check-config on the extracted /etc/dorado/dorado.toml,
#      every tool's --help, the hugepages helper with nothing to do, the man
#      pages render, and systemd-analyze verifies the extracted unit.
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
         /usr/sbin/dorado-setup-hugepages /usr/bin/dorado-decode \
         /usr/share/man/man8/dorado.8.gz /usr/share/man/man8/doradoctl.8.gz \
         /usr/share/man/man8/dorado-gen.8.gz /usr/share/man/man8/dorado-leases.8.gz \
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

# ---- 3. a fresh root: dpkg -x, run what it holds ----------------------------
root=$tmp/root
dpkg -x "$deb" "$root"
check "binaries stripped (file)" sh -c "file -L '$root/usr/sbin/dorado' '$root/usr/bin/dorado-decode' | grep -v ', stripped' | (! grep .)"
check "dorado --version says $version" has_line <("$root/usr/sbin/dorado" --version) "dorado $version"
check "dorado --check-config <root>/etc/dorado/dorado.toml" \
  has_line <("$root/usr/sbin/dorado" --check-config "$root/etc/dorado/dorado.toml") "$root/etc/dorado/dorado.toml: OK"
check "/etc/dorado/dorado.toml is the example config" cmp "$root/etc/dorado/dorado.toml" \
  "$root/usr/share/doc/dorado/examples/dorado.example.toml"
for tool in usr/sbin/doradoctl usr/sbin/dorado-gen usr/sbin/dorado-leases usr/bin/dorado-decode usr/sbin/dorado-setup-hugepages; do
  check "$tool --help" "$root/$tool" --help
done
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
            WantedBy=multi-user.target; do
  check "dorado.service: $line" has_line "$unit" "$line"
done
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
