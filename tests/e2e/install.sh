#!/usr/bin/env bash
# `make install` of the PKCS#11 module, in the guest (whose root is a RAM
# overlay, so the host is not changed): the module lands in the multiarch
# PKCS#11 directory with a p11-kit module file, p11-kit lists it, GnuTLS
# p11tool and the p11-kit proxy reach the token through that registration
# alone, and `make uninstall-pkcs11` removes it again.
#
#   scripts/vm --cards 3 -- tests/e2e/install.sh
set -uo pipefail
E2E_NAME=install
# shellcheck source=tests/e2e/lib.sh
. "$(dirname "$0")/lib.sh"
need_guest
[ -n "${E2E_MODULE:-}" ] && skip "tests this project's make install only"
[ "$(id -u)" = 0 ] || skip "needs root (run in the guest)"
for c in p11-kit p11tool pkcs11-tool; do
	command -v "$c" >/dev/null || skip "$c missing (scripts/install-deps)"
done
[ ! -e /usr/share/p11-kit/modules/hsmgroup.module ] ||
	skip "an hsmgroup module is installed already; this test installs its own"
cd "$WORK" || exit 1

multiarch=$(gcc -print-multiarch)
lib=/usr/lib/$multiarch/pkcs11/hsmgroup-pkcs11.so
modfile=/usr/share/p11-kit/modules/hsmgroup.module
proxy=/usr/lib/$multiarch/p11-kit-proxy.so
TOKEN=e2e-install

log "DESTDIR install lays out the files"
dest=$WORK/dest
check "make install-pkcs11 DESTDIR=..." make -s -C "$repo" install-pkcs11 DESTDIR="$dest"
check "DESTDIR tree has the module" test -f "$dest$lib"
check "DESTDIR tree has the p11-kit module file" grep -q "^module: $lib\$" "$dest$modfile"
check "DESTDIR tree has the man page" test -f "$dest/usr/share/man/man7/hsmgroup-pkcs11.7"
check "DESTDIR tree has the example configuration" test -f "$dest/etc/hsmgroup/pkcs11.conf"
check "the installed module exports only the three entry points" \
	bash -c "[ \"\$(nm -D --defined-only '$dest$lib' | awk '\$2 == \"T\" {print \$3}' | sort | tr '\n' ' ')\" = 'C_GetFunctionList C_GetInterface C_GetInterfaceList ' ]"

log "system install, found by p11-kit and GnuTLS"
check "make install-pkcs11" make -s -C "$repo" install-pkcs11
check "p11-kit list-modules shows hsmgroup" bash -c "p11-kit list-modules | grep -q '^hsmgroup:'"
check "init a token through the installed module" \
	bash -c "pkcs11-tool --module '$lib' --init-token --label $TOKEN --so-pin $SO_PIN &&
		pkcs11-tool --module '$lib' --login --login-type so --so-pin $SO_PIN --init-pin --pin $USER_PIN"
check "p11tool --list-tokens finds the token by its registration alone" \
	bash -c "p11tool --list-tokens | grep -q 'token=$TOKEN'"
check "the p11-kit proxy module shows the token" \
	bash -c "pkcs11-tool --module '$proxy' -L | grep -q '$TOKEN'"
check "generate a key through the proxy" \
	pkcs11-tool --module "$proxy" --token-label "$TOKEN" --login --pin "$USER_PIN" \
	--keypairgen --key-type EC:prime256v1 --label inst-ec --id 51
echo "hsmgroup install" >data.txt
check "sign through the proxy" \
	pkcs11-tool --module "$proxy" --token-label "$TOKEN" --login --pin "$USER_PIN" \
	--sign -m ECDSA-SHA256 --id 51 -i data.txt -o data.sig
check "the signature is 64 bytes (r||s, P-256)" test "$(stat -c %s data.sig)" = 64

log "uninstall"
check "make uninstall-pkcs11" make -s -C "$repo" uninstall-pkcs11
check "the module is gone" test ! -e "$lib"
check "the registration is gone" test ! -e "$modfile"
check "p11-kit no longer lists hsmgroup" lists "" '^hsmgroup:' p11-kit list-modules
finish
