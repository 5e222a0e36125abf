"""The local cloud's certificate authority: it stands in for the public CAs behind ACM.

A client trusts the local CA (`tls/ca.pem`, as MLFLOW_TRACKING_SERVER_CERT_PATH) the way a client on
AWS trusts Amazon's roots. A front door serves a certificate from this CA for exactly the names of
the ACM certificate its HTTPS listener is configured with, so a client verifying the hostname
succeeds only where it would on AWS: for a name the listener's certificate covers.
"""

import datetime
import ipaddress

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

# The name a front door without an HTTPS listener certificate presents: it matches no hostname.
NO_NAME = "no-listener-certificate.invalid"


def _key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _write_key(key, path):
    path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL, serialization.NoEncryption()))
    path.chmod(0o600)


def _now():
    return datetime.datetime.now(datetime.timezone.utc)


def make_ca(folder):
    """The CA's certificate and key under `folder` (made once); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = folder / "ca.pem", folder / "ca-key.pem"
    if cert_path.exists() and key_path.exists():
        return cert_path, key_path
    key = _key()
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localcloud CA")])
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5)).not_valid_after(_now() + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False,
                                     key_encipherment=False, data_encipherment=False, key_agreement=False,
                                     encipher_only=False, decipher_only=False), critical=True)
        .sign(key, hashes.SHA256())
    )
    _write_key(key, key_path)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def issue(ca_cert_path, ca_key_path, names, cert_path, key_path, addresses=()):
    """A server certificate from the CA for these DNS names (wildcards kept as given) and IP
    `addresses` (only the AWS API and RDS endpoints, which are reached by address here)."""
    ca_cert = x509.load_pem_x509_certificate(ca_cert_path.read_bytes())
    ca_key = serialization.load_pem_private_key(ca_key_path.read_bytes(), password=None)
    names = list(dict.fromkeys(names)) or [NO_NAME]
    for name in names:
        try:
            ipaddress.ip_address(name)
        except ValueError:
            continue
        raise ValueError("the local CA issues certificates for DNS names only, not %s" % name)
    key = _key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_cert.subject).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(_now() - datetime.timedelta(minutes=5)).not_valid_after(_now() + datetime.timedelta(days=30))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(name) for name in names]
                                                   + [x509.IPAddress(ipaddress.ip_address(address)) for address in addresses]), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    cert_path.parent.mkdir(parents=True, exist_ok=True)
    _write_key(key, key_path)
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return cert_path, key_path


def localhost_certificate(folder):
    """A CA under `folder` and a certificate from it for `localhost`, for a front door on its own."""
    ca_cert, ca_key = make_ca(folder)
    return issue(ca_cert, ca_key, ["localhost"], folder / "cert.pem", folder / "key.pem")
