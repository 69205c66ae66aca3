#!/bin/sh
# Rebuilds data/imds-trust.pem from the Microsoft CA files in
# tests/data/vectors/imds/ca and Debian's DigiCert roots. Run from the repo root.
set -eu
ca=${1:-tests/data/vectors/imds/ca}
mozilla=/usr/share/ca-certificates/mozilla
out=data/imds-trust.pem
emit() {
        echo
        openssl x509 -in "$1" -noout -subject -enddate | sed 's/^/# /'
        openssl x509 -in "$1"
}
{
        echo "# hostenc: trust anchors and intermediates for the IMDS attested document."
        echo "# Self-signed certificates are trust anchors; the others are untrusted"
        echo "# intermediates that help build the chain (a document embeds only its leaf)."
        echo "# Sources: Microsoft PKI repository (via taskcluster/taskcluster, MPL-2.0 data"
        echo "# files, see tests/data/vectors/imds/README.md) and Debian ca-certificates"
        echo "# (DigiCert Global Root G2 and Global Root CA). Regenerate with"
        echo "# scripts/make-trust-bundle.sh; --imds-trust FILE replaces this bundle."
        for f in microsoft_rsa_root_certificate_authority_2017 microsoft_tls_rsa_root_g2 \
                 microsoft_azure_rsa_tls_issuing_ca_04 microsoft_azure_rsa_tls_issuing_ca_04_xsign \
                 microsoft_azure_rsa_tls_issuing_ca_07 microsoft_azure_rsa_tls_issuing_ca_07_xsign \
                 microsoft_tls_g2_rsa_ca_ocsp_02 microsoft_tls_g2_rsa_ca_ocsp_04; do
                emit "$ca/$f.pem"
        done
        for f in DigiCert_Global_Root_G2 DigiCert_Global_Root_CA; do
                emit "$mozilla/$f.crt"
        done
} > "$out.tmp"
mv "$out.tmp" "$out"
