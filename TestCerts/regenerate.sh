#!/usr/bin/env bash
# Regenerates every fixture in TestCerts/ (the directory this script lives in).
#
#   bash TestCerts/regenerate.sh            # after `swift build`
#   TRUSTGATE=/path/to/trustgate bash TestCerts/regenerate.sh
#
# Needs: OpenSSL 3.x with the legacy provider ($OPENSSL, default openssl),
# GnuTLS certtool ($CERTTOOL, default certtool; package gnutls-bin), Java's
# keytool from JDK 11.0.12+/17+ ($KEYTOOL, default keytool) and a built
# trustgate binary ($TRUSTGATE, default .build/debug/trustgate in the repo root).
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
# pkcs12/openssl-legacy.pfx needs OpenSSL's legacy provider (RC2-40)
if ! "$OPENSSL" list -providers -provider legacy >/dev/null 2>&1; then
    echo "regenerate.sh: OpenSSL's legacy provider is required (legacy.so / legacy.dylib)" >&2
    exit 1
fi
# keytool: a JDK whose PKCS#12 default is AES-256 + HmacSHA256 and which knows
# keystore.pkcs12.legacy (8u301+, 11.0.12+, 17+); checked on its output below.
# (-J-version rather than `command -v`: macOS has a /usr/bin/keytool stub
# even when no Java is installed.)
KEYTOOL="$(resolve_tool "${KEYTOOL:-keytool}")"
if ! "$KEYTOOL" -J-version >/dev/null 2>&1; then
    echo "regenerate.sh: Java keytool is required (JDK 17, e.g. package openjdk-17-jdk-headless); set KEYTOOL" >&2
    exit 1
fi

TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT

# All work below uses paths relative to TestCerts/, so nothing absolute ends up
# in any generated file.
cd "$HERE"
rm -rf openssl certtool pkcs12 testpki
mkdir -p openssl certtool pkcs12

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
# pkcs12/ (PFX files from openssl/leaf.pem + leaf.key + ca.pem)
########################################################################
echo "== pkcs12 fixtures"

# The password of every password-protected file, WITH a trailing newline:
# readers of password files must strip it (openssl's file: does).
PASSWORD=trustgate-test
printf '%s\n' "$PASSWORD" >pkcs12/password.txt
PASSIN=file:pkcs12/password.txt

# p12export OUT [openssl pkcs12 args...]: leaf + key + CA, friendly name "leaf"
p12export() {
    local out="$1"
    shift
    "$OPENSSL" pkcs12 -export -in openssl/leaf.pem -inkey openssl/leaf.key \
        -certfile openssl/ca.pem -name leaf -out "pkcs12/$out" "$@" 2>/dev/null
}
p12export openssl-default.pfx -passout "$PASSIN"
p12export openssl-legacy.pfx -legacy -passout "$PASSIN"
p12export openssl-3des.pfx -keypbe PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 -passout "$PASSIN"
p12export openssl-empty-password.pfx -passout pass:
# OpenSSL 3.0's -nomac also leaves the certificates unencrypted (see README)
p12export openssl-no-mac.pfx -nomac -passout "$PASSIN"
"$OPENSSL" pkcs12 -export -nokeys -in openssl/leaf.pem -certfile openssl/ca.pem \
    -passout "$PASSIN" -out pkcs12/openssl-cert-only.pfx 2>/dev/null
"$OPENSSL" pkcs12 -export -nocerts -inkey openssl/leaf.key -name leaf \
    -passout "$PASSIN" -out pkcs12/openssl-key-only.pfx 2>/dev/null

# openssl-chain-reordered.pfx: the CA certificate before the leaf.
# `openssl pkcs12 -export` always writes the certificate that matches -inkey
# first, whatever the order of -in, so the file is assembled from two
# openssl-made parts (openssl still does all the encryption):
#  1. the certificate safe of `-export -nokeys` on "ca.pem, leaf", where the
#     leaf is a TRUSTED CERTIFICATE whose alias and key id openssl copies into
#     the bag's friendlyName and localKeyID, exactly as -export sets them;
#  2. the key safe of an ordinary `-export` of leaf + key;
# then wrapped in a new PFX with a fresh SHA-256 MAC (PKCS#12 KDF + HMAC).

# bytes HEX...: write the bytes (octal escapes: portable printf)
bytes() {
    local hex out=""
    hex="$(printf '%s' "$*" | tr -d ' ')"
    while [[ -n "$hex" ]]; do
        out="$out\\$(printf '%03o' "0x${hex:0:2}")"
        hex="${hex:2}"
    done
    printf "$out"
}
# der_tlv TAG FILE: FILE's bytes as the contents of a DER element (TAG in hex)
der_tlv() {
    local len
    len="$(wc -c <"$2" | tr -d ' ')"
    if ((len < 128)); then
        bytes "$1" "$(printf '%02x' "$len")"
    elif ((len < 256)); then
        bytes "$1" 81 "$(printf '%02x' "$len")"
    elif ((len < 65536)); then
        bytes "$1" 82 "$(printf '%04x' "$len")"
    else
        echo "regenerate.sh: der_tlv: $2 is too large" >&2
        return 1
    fi
    cat "$2"
}
# der_element FILE DEPTH N: "offset header-length length" of the Nth element at DEPTH
der_element() {
    "$OPENSSL" asn1parse -inform DER -in "$1" |
        sed -n "s/^ *\([0-9][0-9]*\):d=$2 *hl= *\([0-9][0-9]*\) l= *\([0-9][0-9]*\).*/\1 \2 \3/p" |
        sed -n "$3p"
}
# der_slice FILE OFFSET LENGTH
der_slice() { tail -c "+$(($2 + 1))" "$1" | head -c "$3"; }
# pfx_safe PFX N: the Nth ContentInfo of the PFX's AuthenticatedSafe
pfx_safe() {
    local off hl len
    read -r off hl len <<EOF
$(der_element "$1" 3 1)
EOF
    der_slice "$1" $((off + hl)) "$len" >"$TMP/safes.in.der"
    read -r off hl len <<EOF
$(der_element "$TMP/safes.in.der" 1 "$2")
EOF
    der_slice "$TMP/safes.in.der" "$off" $((hl + len))
}

leaf_keyid="$("$OPENSSL" x509 -in openssl/leaf.pem -noout -fingerprint -sha1 | sed 's/.*=//; s/://g')"
cat >"$TMP/aux.cnf" <<EOF
asn1 = SEQUENCE:aux
[ aux ]
alias = UTF8:leaf
keyid = FORMAT:HEX,OCTETSTRING:$leaf_keyid
EOF
"$OPENSSL" asn1parse -genconf "$TMP/aux.cnf" -noout -out "$TMP/aux.der" >/dev/null
{
    cat openssl/ca.pem
    echo "-----BEGIN TRUSTED CERTIFICATE-----"
    { "$OPENSSL" x509 -in openssl/leaf.pem -outform DER; cat "$TMP/aux.der"; } | "$OPENSSL" base64
    echo "-----END TRUSTED CERTIFICATE-----"
} >"$TMP/ca-then-leaf.pem"
"$OPENSSL" pkcs12 -export -nokeys -in "$TMP/ca-then-leaf.pem" \
    -passout "$PASSIN" -out "$TMP/certs.pfx" 2>/dev/null
"$OPENSSL" pkcs12 -export -in openssl/leaf.pem -inkey openssl/leaf.key -name leaf \
    -passout "$PASSIN" -out "$TMP/key.pfx" 2>/dev/null
{ pfx_safe "$TMP/certs.pfx" 1; pfx_safe "$TMP/key.pfx" 2; } >"$TMP/safes.der"
der_tlv 30 "$TMP/safes.der" >"$TMP/authsafe.der"
# MAC key: PKCS#12 KDF (id 3) over the password as a NUL-terminated BMPString
mac_salt="$("$OPENSSL" rand -hex 8)"
bmp_pass="$(printf '%s' "$PASSWORD" | od -An -v -tx1 | tr -d ' \n' | sed 's/../00&/g')0000"
mac_key="$("$OPENSSL" kdf -keylen 32 -kdfopt digest:SHA256 -kdfopt "hexpass:$bmp_pass" \
    -kdfopt "hexsalt:$mac_salt" -kdfopt iter:2048 -kdfopt id:3 PKCS12KDF | tr -d ':')"
mac="$("$OPENSSL" mac -digest SHA256 -macopt "hexkey:$mac_key" -in "$TMP/authsafe.der" HMAC)"
der_tlv 04 "$TMP/authsafe.der" >"$TMP/octets.der"
{ bytes 06092a864886f70d010701; der_tlv a0 "$TMP/octets.der"; } >"$TMP/contentinfo.der"
# MacData: DigestInfo(sha256, mac), salt, iterations 2048
bytes 3031300d060960864801650304020105000420 "$mac" 0408 "$mac_salt" 02020800 >"$TMP/macdata.der"
{ bytes 020103; der_tlv 30 "$TMP/contentinfo.der"; der_tlv 30 "$TMP/macdata.der"; } >"$TMP/pfx.der"
der_tlv 30 "$TMP/pfx.der" >pkcs12/openssl-chain-reordered.pfx

# GnuTLS certtool (leaf only; one encrypted safe per certificate)
for cipher in aes-128:aes128 3des-pkcs12:3des rc2-40:rc2-40; do
    "$CERTTOOL" --to-p12 --load-certificate openssl/leaf.pem --load-privkey openssl/leaf.key \
        --p12-name leaf --password "$PASSWORD" --outder --pkcs-cipher "${cipher%%:*}" \
        --outfile "pkcs12/certtool-${cipher#*:}.p12" >/dev/null 2>&1
done

# Java keytool (its own EC key pair and self-signed certificate, CN=keytool.test)
keytool_genkey() {
    local out="$1"
    shift
    "$KEYTOOL" "$@" -genkeypair -alias leaf -keyalg EC -groupname secp256r1 \
        -dname CN=keytool.test -validity "$DAYS" -storetype PKCS12 \
        -keystore "pkcs12/$out" -storepass "$PASSWORD" -keypass "$PASSWORD" >/dev/null 2>&1
}
keytool_genkey keytool.p12
keytool_genkey keytool-legacy.p12 -J-Dkeystore.pkcs12.legacy

# Not PFX files: 300 bytes of AES-128-CTR keystream (fixed all-zero key and IV,
# so always the same bytes, starting 66 e9 4b d4), and half of openssl-default.pfx
head -c 300 /dev/zero |
    "$OPENSSL" enc -aes-128-ctr -K 00000000000000000000000000000000 \
        -iv 00000000000000000000000000000000 >pkcs12/not-a-pfx.pfx
head -c $(($(wc -c <pkcs12/openssl-default.pfx) / 2)) pkcs12/openssl-default.pfx >pkcs12/truncated.pfx

# expected.txt, computed with openssl: per file, whether it holds a key and the
# SHA-256 fingerprint of each certificate in file order; "error" if openssl
# cannot read it.
PKCS12_FILES="openssl-default.pfx openssl-legacy.pfx openssl-3des.pfx
openssl-empty-password.pfx openssl-no-mac.pfx openssl-cert-only.pfx
openssl-key-only.pfx openssl-chain-reordered.pfx certtool-aes128.p12
certtool-3des.p12 certtool-rc2-40.p12 keytool.p12 keytool-legacy.p12
not-a-pfx.pfx truncated.pfx"

# p12read FILE OUT [openssl pkcs12 args...]: without, then with, the legacy provider
p12read() {
    local file="$1" out="$2" pass="$PASSIN"
    shift 2
    [[ "$file" == openssl-empty-password.pfx ]] && pass=pass:
    "$OPENSSL" pkcs12 -in "pkcs12/$file" -passin "$pass" -out "$out" "$@" 2>/dev/null ||
        "$OPENSSL" pkcs12 -legacy -in "pkcs12/$file" -passin "$pass" -out "$out" "$@" 2>/dev/null
}
sha256_fp() {
    "$OPENSSL" x509 -in "$1" -noout -fingerprint -sha256 | sed 's/.*=//; s/://g' | tr 'A-F' 'a-f'
}
expected_line() {
    local file="$1" key=no certs="" n=0
    if ! p12read "$file" "$TMP/p12.pem" -nokeys; then
        echo "$file error"
        return
    fi
    rm -f "$TMP"/p12cert.*.pem
    awk -v dir="$TMP" '
        /-----BEGIN CERTIFICATE-----/ { n++; on = 1 }
        on { print > (dir "/p12cert." n ".pem") }
        /-----END CERTIFICATE-----/ { on = 0; close(dir "/p12cert." n ".pem") }
    ' "$TMP/p12.pem"
    while [[ -f "$TMP/p12cert.$((n + 1)).pem" ]]; do
        n=$((n + 1))
        certs="$certs${certs:+,}$(sha256_fp "$TMP/p12cert.$n.pem")"
    done
    p12read "$file" "$TMP/p12.key" -nocerts -nodes
    grep -q -- '-----BEGIN PRIVATE KEY-----' "$TMP/p12.key" && key=yes
    rm -f "$TMP/p12.key"
    echo "$file key=$key certs=$certs"
}
for file in $PKCS12_FILES; do
    expected_line "$file"
done >pkcs12/expected.txt

# Fail loudly if a tool did not write what README.md says.
p12check() { # p12check FILE PATTERN WHAT TOOL (-info writes to stderr)
    "$OPENSSL" pkcs12 -legacy -in "pkcs12/$1" -passin "$PASSIN" -info -noout >"$TMP/p12.info" 2>&1
    if ! grep -q -- "$2" "$TMP/p12.info"; then
        echo "regenerate.sh: pkcs12/$1 is not $3 (this $(basename "$4") writes something else)" >&2
        exit 1
    fi
}
p12check keytool.p12 'MAC: sha256' "AES-256 + HmacSHA256" "$KEYTOOL"
p12check keytool-legacy.p12 'MAC: sha1' "RC2-40/3DES + SHA-1 MAC (keystore.pkcs12.legacy)" "$KEYTOOL"
p12check openssl-no-mac.pfx 'MAC is absent' "MAC-less" "$OPENSSL"
ca_fp="$(sha256_fp openssl/ca.pem)"
leaf_fp="$(sha256_fp openssl/leaf.pem)"
if ! grep -qx "openssl-chain-reordered.pfx key=yes certs=$ca_fp,$leaf_fp" pkcs12/expected.txt ||
    ! grep -qx "openssl-default.pfx key=yes certs=$leaf_fp,$ca_fp" pkcs12/expected.txt; then
    echo "regenerate.sh: pkcs12/openssl-chain-reordered.pfx or openssl-default.pfx has the wrong certificate order" >&2
    exit 1
fi
# ... and its leaf and key bags carry the same localKeyID (so readers pair them)
"$OPENSSL" pkcs12 -in pkcs12/openssl-chain-reordered.pfx -passin "$PASSIN" -nodes \
    -out "$TMP/reordered.pem" 2>/dev/null
if [[ "$(grep -c 'localKeyID:' "$TMP/reordered.pem")" != 2 ||
    "$(grep 'localKeyID:' "$TMP/reordered.pem" | sort -u | wc -l | tr -d ' ')" != 1 ]]; then
    echo "regenerate.sh: pkcs12/openssl-chain-reordered.pfx: leaf and key bags lack a common localKeyID" >&2
    exit 1
fi
rm -f "$TMP/reordered.pem"

########################################################################
# testpki/ (trustgate's own test PKI; leafs last 397 days)
########################################################################
echo "== trustgate testpki"
(cd "$REPO" && "$TRUSTGATE" cert testpki TestCerts/testpki --force >/dev/null)

########################################################################
# permissions: keys, PFX files and the PFX password 0600, everything else 0644
########################################################################
find openssl certtool testpki -type f -name '*.key' -exec chmod 0600 {} +
find openssl certtool testpki -type f ! -name '*.key' -exec chmod 0644 {} +
chmod 0600 pkcs12/*.pfx pkcs12/*.p12 pkcs12/password.txt
chmod 0644 pkcs12/expected.txt
chmod 0755 openssl certtool pkcs12 testpki

echo "== done: fixtures written to TestCerts/{openssl,certtool,pkcs12,testpki}"
