#!/usr/bin/env bash
# Regenerates every fixture in TestCerts/ (the directory this script lives in).
#
#   bash TestCerts/regenerate.sh            # after `swift build`
#   TRUSTGATE=/path/to/trustgate bash TestCerts/regenerate.sh
#
# Needs: OpenSSL 3.x ($OPENSSL, default openssl), GnuTLS certtool ($CERTTOOL,
# default certtool; package gnutls-bin) and a built trustgate binary
# ($TRUSTGATE, default .build/debug/trustgate in the repo root).
#
# File names are fixed; file contents (keys, serials, dates) change on every run.
# Everything except testpki/ is valid for 7300 days (20 years). testpki/ is made
# by `trustgate cert testpki`, whose leaf certificates last 397 days: regenerate
# it at least yearly. See README.md.
set -euo pipefail
# Tool chatter is sent to /dev/null below, so say where a failure happened
# (errtrace: the trap also fires inside functions).
set -o errtrace
trap 'echo "regenerate.sh: command failed at line $LINENO" >&2' ERR

# Private keys must never be group/world readable, so everything is created
# under umask 077; public files are relaxed to 0644 at the end.
umask 077

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO="$(cd "$HERE/.." && pwd)"
DAYS=7300

# Tools may be given as a relative path or a bare command name; make them
# absolute because the script changes directory below.
resolve_tool() {
    case "$1" in
        /*) echo "$1" ;;
        */*) echo "$PWD/$1" ;;
        *) command -v "$1" || echo "$1" ;;
    esac
}

TRUSTGATE="$(resolve_tool "${TRUSTGATE:-$REPO/.build/debug/trustgate}")"
if [[ ! -x "$TRUSTGATE" ]]; then
    echo "regenerate.sh: trustgate binary not found at $TRUSTGATE (run 'swift build' or set TRUSTGATE)" >&2
    exit 1
fi
# openssl must be OpenSSL 3.x (macOS's /usr/bin/openssl is LibreSSL: point
# $OPENSSL at Homebrew's openssl@3). certtool is in gnutls-bin / brew gnutls.
OPENSSL="$(resolve_tool "${OPENSSL:-openssl}")"
CERTTOOL="$(resolve_tool "${CERTTOOL:-certtool}")"
if ! "$OPENSSL" version 2>/dev/null | grep -q '^OpenSSL [3-9]'; then
    echo "regenerate.sh: OpenSSL 3.x is required (got: $("$OPENSSL" version 2>&1 || true)); set OPENSSL" >&2
    exit 1
fi
if ! command -v "$CERTTOOL" >/dev/null 2>&1; then
    echo "regenerate.sh: GnuTLS certtool is required (package gnutls-bin); set CERTTOOL" >&2
    exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# All work below uses paths relative to TestCerts/, so nothing absolute ends up
# in any generated file.
cd "$HERE"
rm -rf openssl certtool testpki
mkdir -p openssl certtool

# A minimal OpenSSL config so the host's openssl.cnf (which may add default
# extensions such as CA:TRUE to every `req -x509`) cannot change the fixtures.
# Every extension is given explicitly with -addext / -extfile.
OSSL_CNF="$TMP/openssl.cnf"
cat >"$OSSL_CNF" <<'EOF'
[ req ]
distinguished_name = req_dn
[ req_dn ]
EOF

# selfsigned NAME CN KEYUSAGE [extra openssl req args...]
# A self-signed end-entity (server) certificate: CN is also the DNS SAN.
selfsigned() {
    local name="$1" cn="$2" ku="$3"
    shift 3
    "$OPENSSL" req -x509 -config "$OSSL_CNF" -nodes "$@" \
        -subj "/CN=$cn" \
        -addext "subjectAltName=DNS:$cn" \
        -addext "basicConstraints=critical,CA:FALSE" \
        -addext "keyUsage=critical,$ku" \
        -addext "extendedKeyUsage=serverAuth" \
        -addext "subjectKeyIdentifier=hash" \
        -days "$DAYS" \
        -keyout "openssl/$name.key" -out "openssl/$name.pem" 2>/dev/null
}

# CRLF line endings (awk rather than sed: BSD sed has no \r in replacements)
crlf() { awk '{ printf "%s\r\n", $0 }' "$1"; }

# random positive 64-bit serial
serial() { echo "0x$("$OPENSSL" rand -hex 8 | sed 's/^./4/')"; }

########################################################################
# openssl/
########################################################################
echo "== openssl fixtures"

# RSA-2048, PKCS#8 key
selfsigned rsa2048 openssl-rsa.test digitalSignature,keyEncipherment \
    -newkey rsa:2048 -sha256
"$OPENSSL" x509 -in openssl/rsa2048.pem -outform DER -out openssl/rsa2048.der
# Same certificate, PEM armour with CRLF line endings (.cer as Windows writes it)
crlf openssl/rsa2048.pem >openssl/rsa2048.cer
# Base64 body only, no BEGIN/END lines
grep -v -- '^-----' openssl/rsa2048.pem >openssl/rsa2048-noarmour.cer
# UTF-8 byte-order mark + CRLF PEM
{ printf '\357\273\277'; crlf openssl/rsa2048.pem; } >openssl/rsa2048-bom.pem
# Same key as traditional PKCS#1 "RSA PRIVATE KEY"
"$OPENSSL" rsa -in openssl/rsa2048.key -traditional -out openssl/rsa2048-pkcs1.key 2>/dev/null
# Same certificate with `openssl x509 -text` output before the PEM block
"$OPENSSL" x509 -in openssl/rsa2048.pem -text >openssl/with-text.pem

# EC P-256 (PKCS#8 key) + the same key as SEC1 "EC PRIVATE KEY"
selfsigned ec-p256 openssl-ec.test digitalSignature \
    -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256
"$OPENSSL" x509 -in openssl/ec-p256.pem -outform DER -out openssl/ec-p256.der
"$OPENSSL" ec -in openssl/ec-p256.key -out openssl/ec-p256-sec1.key 2>/dev/null
if ! grep -q -- '-----BEGIN EC PRIVATE KEY-----' openssl/ec-p256-sec1.key; then
    # some OpenSSL builds default to PKCS#8 here; force the traditional form
    "$OPENSSL" pkey -in openssl/ec-p256.key -traditional -out openssl/ec-p256-sec1.key
fi

# EC P-384
selfsigned ec-p384 openssl-ec384.test digitalSignature \
    -newkey ec -pkeyopt ec_paramgen_curve:P-384 -sha384

# Ed25519 (no digest option: Ed25519 signs the message itself)
selfsigned ed25519 openssl-ed25519.test digitalSignature -newkey ed25519
"$OPENSSL" x509 -in openssl/ed25519.pem -outform DER -out openssl/ed25519.der

# Weak key: RSA-1024
selfsigned rsa1024 openssl-rsa1024.test digitalSignature,keyEncipherment \
    -newkey rsa:1024 -sha256

# SHA-1 signature on an RSA-2048 certificate (key is not kept)
"$OPENSSL" req -x509 -config "$OSSL_CNF" -nodes -newkey rsa:2048 -sha1 \
    -subj "/CN=openssl-sha1.test" \
    -addext "subjectAltName=DNS:openssl-sha1.test" \
    -addext "basicConstraints=critical,CA:FALSE" \
    -days "$DAYS" -keyout "$TMP/sha1-rsa.key" -out openssl/sha1-rsa.pem 2>/dev/null

# Small chain: root CA -> leaf for openssl-leaf.test
"$OPENSSL" req -x509 -config "$OSSL_CNF" -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -sha256 \
    -subj "/CN=TrustGate OpenSSL Test Root CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -addext "subjectKeyIdentifier=hash" \
    -set_serial "$(serial)" -days "$DAYS" \
    -keyout openssl/ca.key -out openssl/ca.pem 2>/dev/null

"$OPENSSL" req -new -config "$OSSL_CNF" -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -subj "/CN=openssl-leaf.test" \
    -keyout openssl/leaf.key -out "$TMP/leaf.csr" 2>/dev/null
cat >"$TMP/leaf.ext" <<'EOF'
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = DNS:openssl-leaf.test
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
"$OPENSSL" x509 -req -in "$TMP/leaf.csr" -CA openssl/ca.pem -CAkey openssl/ca.key \
    -set_serial "$(serial)" -days "$DAYS" -sha256 -extfile "$TMP/leaf.ext" \
    -out openssl/leaf.pem 2>/dev/null
cat openssl/leaf.pem openssl/ca.pem >openssl/leaf-chain.pem

########################################################################
# certtool/
########################################################################
echo "== certtool fixtures"

# template NAME CN KEYUSAGE-LINES...
certtool_template() {
    local name="$1" cn="$2"
    shift 2
    {
        echo "cn = \"$cn\""
        echo "dns_name = \"$cn\""
        echo "expiration_days = $DAYS"
        echo "tls_www_server"
        printf '%s\n' "$@"
    } >"$TMP/$name.tmpl"
}

certtool_template rsa certtool-rsa.test signing_key encryption_key
certtool_template ec certtool-ec.test signing_key
certtool_template ed25519 certtool-ed25519.test signing_key

"$CERTTOOL" --generate-privkey --key-type rsa --bits 2048 --outfile certtool/rsa.key 2>/dev/null
# GnuTLS writes the SEC1 privateKey like an INTEGER: when the scalar's top bit
# is set (about half of all keys) it is 33 bytes with a leading 0x00 instead of
# the fixed 32 bytes RFC 5915 asks for. OpenSSL and GnuTLS read both. So that
# ec.key does not flip between the two forms from one regeneration to the next,
# keep generating until we get the 33-byte form (the real-world quirk a reader
# must accept). If this certtool never writes it, the last key is kept.
sec1_len() {
    sed -n '/-----BEGIN/,/-----END/p' "$1" | "$OPENSSL" asn1parse 2>/dev/null |
        sed -n 's/.*l= *\([0-9][0-9]*\) prim: OCTET STRING.*/\1/p' | head -n 1
}
for _ in $(seq 1 64); do
    "$CERTTOOL" --generate-privkey --key-type ecdsa --curve secp256r1 --outfile certtool/ec.key 2>/dev/null
    [[ "$(sec1_len certtool/ec.key)" == 33 ]] && break
done
if [[ "$(sec1_len certtool/ec.key)" != 33 ]]; then
    echo "note: certtool did not write a 33-byte SEC1 key in 64 tries; certtool/ec.key is $(sec1_len certtool/ec.key) bytes" >&2
fi
"$CERTTOOL" --generate-privkey --key-type ed25519 --outfile certtool/ed25519.key 2>/dev/null

for name in rsa ec ed25519; do
    "$CERTTOOL" --generate-self-signed --load-privkey "certtool/$name.key" \
        --template "$TMP/$name.tmpl" --outfile "certtool/$name.pem" 2>/dev/null
    "$CERTTOOL" --certificate-info --infile "certtool/$name.pem" \
        --outder --outfile "certtool/$name.der" >/dev/null 2>&1
done

########################################################################
# testpki/ (trustgate's own test PKI; leafs last 397 days)
########################################################################
echo "== trustgate testpki"
(cd "$REPO" && "$TRUSTGATE" cert testpki TestCerts/testpki --force >/dev/null)

########################################################################
# permissions: keys 0600, everything else 0644
########################################################################
find openssl certtool testpki -type f -name '*.key' -exec chmod 0600 {} +
find openssl certtool testpki -type f ! -name '*.key' -exec chmod 0644 {} +
chmod 0755 openssl certtool testpki

echo "== done: fixtures written to TestCerts/{openssl,certtool,testpki}"
