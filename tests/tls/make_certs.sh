#!/bin/sh
# Makes the test PKI for the TLS tests in directory $1 (created if needed):
#   ca.pem/ca.key                 a test CA
#   server.pem/server.key         signed by it, for localhost, 127.0.0.1 and ::1
#   chain.pem                     server.pem followed by ca.pem
#   client.pem/client.key         a client certificate signed by the CA (CN=client)
#   other-ca.pem, other.pem/.key  an unrelated CA and a localhost server it signed
#   expired.pem/expired.key       signed by the CA, valid only in January 2020
#   wrongname.pem/wrongname.key   signed by the CA, for "elsewhere.invalid" only
# EC P-256 keys: quick to make and to use. Needs the openssl command.
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
[ -f done ] && exit 0

key() { openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null; }

ca() { # name subject
    key "$1.key"
    openssl req -x509 -new -key "$1.key" -subj "$2" -days 3650 -out "$1.pem" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign"
}

leaf() { # name subject san signer extra-ext
    key "$1.key"
    openssl req -new -key "$1.key" -subj "$2" -out "$1.csr"
    printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nextendedKeyUsage=%s\n' "$3" "$5" > "$1.ext"
    openssl x509 -req -in "$1.csr" -CA "$4.pem" -CAkey "$4.key" -CAcreateserial \
        -days 825 -extfile "$1.ext" -out "$1.pem" 2>/dev/null
}

ca ca "/O=sockrt test/CN=sockrt test CA"
ca other-ca "/O=somebody else/CN=unrelated CA"
leaf server "/O=sockrt test/CN=localhost" "DNS:localhost,IP:127.0.0.1,IP:::1" ca serverAuth
leaf client "/O=sockrt test/CN=client" "DNS:client" ca clientAuth
leaf other "/O=somebody else/CN=localhost" "DNS:localhost,IP:127.0.0.1" other-ca serverAuth
leaf wrongname "/O=sockrt test/CN=elsewhere.invalid" "DNS:elsewhere.invalid" ca serverAuth
cat server.pem ca.pem > chain.pem

# An expired certificate: `openssl ca` can set the validity dates.
key expired.key
openssl req -new -key expired.key -subj "/O=sockrt test/CN=localhost" -out expired.csr
mkdir -p ca.db
: > ca.db/index.txt
echo 1000 > ca.db/serial
cat > ca.cnf <<CNF
[ca]
default_ca = test
[test]
dir = ca.db
database = ca.db/index.txt
serial = ca.db/serial
new_certs_dir = ca.db
default_md = sha256
policy = any
copy_extensions = none
x509_extensions = leaf
[any]
commonName = supplied
organizationName = optional
[leaf]
subjectAltName = DNS:localhost,IP:127.0.0.1
basicConstraints = CA:FALSE
extendedKeyUsage = serverAuth
CNF
openssl ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in expired.csr \
    -startdate 20200101000000Z -enddate 20200131000000Z -out expired.pem 2>/dev/null
touch done
