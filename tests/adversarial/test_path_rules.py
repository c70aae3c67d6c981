"""Chains whose root the client trusts, refused for a rule of path validation (RFC 5280 §6).

A name-constrained issuing CA (enterprise PKIs constrain theirs to their own domains and
networks) and a path length a sub-CA exceeds: OpenSSL refuses both (verify results 47 and
25) while the root is in the client's CA file. The diagnosis once said the chain ended at
"a CA that no trust source on this machine holds" for both, which is false. Real TLS on
127.0.0.1 with certificates from the lab's PKI.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.pki import CA, IssuedCert
from tlsdoctor.lab.tls import TlsServerConfig

from .conftest import TIMEOUT, assert_honest_and_in_time
from .servers import serving


def _constrained(ca: CA, root: CA, permitted: list[x509.GeneralName]) -> x509.Certificate:
    """``ca``'s certificate re-signed by ``root`` with a NameConstraints extension (critical)."""
    builder = (x509.CertificateBuilder().subject_name(ca.cert.subject).issuer_name(root.cert.subject)
               .public_key(ca.key.private_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(ca.cert.not_valid_before_utc).not_valid_after(ca.cert.not_valid_after_utc))
    for extension in ca.cert.extensions:
        builder = builder.add_extension(extension.value, extension.critical)
    builder = builder.add_extension(x509.NameConstraints(permitted_subtrees=permitted, excluded_subtrees=None),
                                    critical=True)
    return builder.sign(root.key.private_key, hashes.SHA256())


def _diagnose(served: IssuedCert, root: CA, tmp_path: Path):  # type: ignore[no-untyped-def]
    ca_file = tmp_path / "root.pem"
    ca_file.write_bytes(root.cert_pem)
    with serving(HttpsOrigin(TlsServerConfig(certificate=served, alpn=("http/1.1",)))) as port:
        d = diagnose(f"https://127.0.0.1:{port}/", ca_bundle=ca_file, timeout=TIMEOUT, env={},
                     os_store_env={"SSL_CERT_FILE": str(ca_file), "SSL_CERT_DIR": ""})
    assert_honest_and_in_time(d)
    return d


def test_a_name_outside_the_issuing_cas_constraints_is_named(tmp_path: Path) -> None:
    root = CA("Corp Root", organization="corp")
    issuing = root.intermediate("Corp Issuing CA")
    issuing.cert = _constrained(issuing, root, [x509.IPAddress(ipaddress.ip_network("192.0.2.0/24")),
                                                x509.DNSName("corp.example")])
    leaf = issuing.issue_cert("127.0.0.1", issuer_pointers=False)
    d = _diagnose(IssuedCert(leaf.cert, leaf.key, (issuing.cert,)), root, tmp_path)
    assert d.observations.curl is not None and d.observations.curl.verify_result == 47  # permitted subtree violation
    assert d.verdict.code == "cert.hostname_mismatch", (d.verdict.code, d.verdict.summary)
    assert d.verdict.evidence["permitted"] == "192.0.2.0/24, corp.example"
    assert "Corp Issuing CA" in d.verdict.summary and "no trust source" not in d.verdict.summary


def test_a_path_length_the_chain_exceeds_is_said_with_the_root_held(tmp_path: Path) -> None:
    root = CA("Corp Root", organization="corp")
    policy = root.intermediate("Corp Policy CA")  # pathLenConstraint 0: no CA below it
    issuing = CA("Corp Issuing CA", organization="corp", parent=policy, path_length=0)
    leaf = issuing.issue_cert("127.0.0.1", issuer_pointers=False)
    d = _diagnose(IssuedCert(leaf.cert, leaf.key, (issuing.cert, policy.cert)), root, tmp_path)
    assert d.observations.curl is not None and d.observations.curl.verify_result == 25  # path length exceeded
    assert "no trust source" not in d.verdict.summary, d.verdict.summary
    assert "which the client's CA file holds" in d.verdict.summary and "path length" in d.verdict.summary
    assert d.verdict.evidence["anchor"] == "CN=Corp Root,O=corp"


def test_an_unknown_root_is_still_called_unknown(tmp_path: Path) -> None:
    # The honest readings above must not take the plain case: a root the CA file lacks.
    root, other = CA("Corp Root", organization="corp"), CA("Other Root", organization="other")
    leaf = root.intermediate("Corp Issuing CA").issue_cert("127.0.0.1", issuer_pointers=False)
    d = _diagnose(leaf, other, tmp_path)
    assert d.verdict.code == "cert.untrusted_root" and "no trust source" in d.verdict.summary, d.verdict.summary


def test_the_intermediate_of_a_previous_certificate_is_an_incomplete_chain(tmp_path: Path) -> None:
    # Renewed from another intermediate of the same CA, the old intermediate left in the server's
    # chain file: nothing it sends issued its certificate, and no CAIssuers URL says where to look.
    root = CA("Corp Root", organization="corp")
    old, new = root.intermediate("Corp CA 2023"), root.intermediate("Corp CA 2026")
    leaf = new.issue_cert("127.0.0.1", issuer_pointers=False)
    d = _diagnose(IssuedCert(leaf.cert, leaf.key, (old.cert,)), root, tmp_path)
    assert d.observations.curl is not None and d.observations.curl.verify_result == 20
    assert d.verdict.code == "cert.incomplete_chain", (d.verdict.code, d.verdict.summary)
    assert d.verdict.evidence["missing_issuer"] == "CN=Corp CA 2026,O=corp"
    assert d.verdict.evidence["sent_instead"] == ["CN=Corp CA 2023,O=corp"]
