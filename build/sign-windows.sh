#!/usr/bin/env bash
# Signs a Windows executable with Authenticode and verifies the signature.
# The certificate and key come from PULT_SIGN_CERT and PULT_SIGN_KEY (PEM files). Without them a throw-away
# self-signed code-signing certificate is made for this run only, so CI proves the signing step works.
set -euo pipefail
in=$1
out=$2
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cert=${PULT_SIGN_CERT:-}
key=${PULT_SIGN_KEY:-}
if [ -z "$cert" ] || [ -z "$key" ]; then
  cert=$work/cert.pem
  key=$work/key.pem
  openssl req -x509 -newkey rsa:2048 -nodes -days 1 -keyout "$key" -out "$cert" \
    -subj "/CN=Pult Test Signing" -addext extendedKeyUsage=codeSigning 2>/dev/null
  echo "No PULT_SIGN_CERT/PULT_SIGN_KEY: signing with a throw-away test certificate."
fi
rm -f "$out"
osslsigncode sign -certs "$cert" -key "$key" -n Pult -h sha256 -in "$in" -out "$out" >/dev/null
osslsigncode verify -CAfile "$cert" "$out" | grep -E "^(Signature verification|Number of verified signatures)"
