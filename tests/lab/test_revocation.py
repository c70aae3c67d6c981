"""The lab's CA services: OCSP, CRLs and caIssuers tell one revocation story.

Most tests call :meth:`CaServices.respond` directly (it is a pure function of method,
target and body); the last ones follow a revoked certificate's own pointers over real
HTTP, as a client on the internet would.
"""

from __future__ import annotations

import base64
import socket
import ssl
import urllib.request
from datetime import datetime, timedelta, timezone
from urllib.parse import quote, urlsplit

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
from cryptography.x509 import ocsp
from cryptography.x509.oid import AuthorityInformationAccessOID, ExtensionOID

from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.pki import CA, IssuedCert
from tlsdoctor.lab.revocation import CaServices, ocsp_response_for
from tlsdoctor.lab.runner import running_lab

SERVICES = "http://127.0.0.1:8080"
REVOKED_AT = datetime.now(timezone.utc).replace(microsecond=0) - timedelta(hours=3)


# -- helpers -------------------------------------------------------------------------------


def ocsp_request(
    cert: x509.Certificate,
    issuer: x509.Certificate,
    algorithm: hashes.HashAlgorithm = hashes.SHA1(),
    nonce: bytes | None = None,
) -> bytes:
    builder = ocsp.OCSPRequestBuilder().add_certificate(cert, issuer, algorithm)
    if nonce is not None:
        builder = builder.add_extension(x509.OCSPNonce(nonce), critical=False)
    return builder.build().public_bytes(serialization.Encoding.DER)


def answered(reply: tuple[int, str, bytes]) -> ocsp.OCSPResponse:
    """The OCSP response in an HTTP reply of the services (always HTTP 200, RFC 6960 A.1)."""
    status, content_type, body = reply
    assert (status, content_type) == (200, "application/ocsp-response")
    return ocsp.load_der_ocsp_response(body)


def assert_signed_by(response: ocsp.OCSPResponse, ca_cert: x509.Certificate) -> None:
    """The response's signature verifies with the CA's own public key (issuer-signed responses)."""
    key = ca_cert.public_key()
    digest = response.signature_hash_algorithm
    assert digest is not None
    if isinstance(key, ec.EllipticCurvePublicKey):
        key.verify(response.signature, response.tbs_response_bytes, ec.ECDSA(digest))
    elif isinstance(key, rsa.RSAPublicKey):
        key.verify(response.signature, response.tbs_response_bytes, padding.PKCS1v15(), digest)
    else:  # pragma: no cover - the lab makes RSA and EC keys only
        raise AssertionError(f"unexpected CA key {key!r}")
    # ResponderID byKey: the SHA-1 of the CA's public key, i.e. its RFC 5280 key identifier.
    assert response.responder_key_hash == x509.SubjectKeyIdentifier.from_public_key(key).digest


def assert_current(response: ocsp.OCSPResponse) -> None:
    now = datetime.now(timezone.utc)
    assert response.this_update_utc <= now
    assert response.next_update_utc is not None and now < response.next_update_utc


# -- fixtures ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def lab_pki() -> LabAuthorities:
    return LabAuthorities.create(SERVICES)


@pytest.fixture(scope="module")
def services(lab_pki: LabAuthorities) -> CaServices:
    return CaServices(lab_pki.served())


@pytest.fixture(scope="module")
def good(lab_pki: LabAuthorities) -> IssuedCert:
    return lab_pki.intermediate.issue_cert("localhost")


@pytest.fixture(scope="module")
def revoked(lab_pki: LabAuthorities) -> IssuedCert:
    cert = lab_pki.intermediate.issue_cert("localhost")
    lab_pki.intermediate.revoke(cert.cert, REVOKED_AT)
    return cert


@pytest.fixture(scope="module", params=["intermediate", "legacy"], ids=["ECDSA intermediate", "RSA intermediate"])
def issuing_ca(request: pytest.FixtureRequest, lab_pki: LabAuthorities) -> tuple[str, CA]:
    """A served CA by its URL name: responses must verify whatever kind of key signs them."""
    return request.param, lab_pki.served()[request.param]


# -- ocsp_response_for: what a server staples ----------------------------------------------


def test_a_stapled_response_for_a_good_certificate_says_good(lab_pki: LabAuthorities, good: IssuedCert):
    response = ocsp.load_der_ocsp_response(ocsp_response_for(lab_pki.intermediate, good.cert))
    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == good.cert.serial_number
    assert response.revocation_time_utc is None
    assert_current(response)
    assert_signed_by(response, lab_pki.intermediate.cert)


def test_a_stapled_response_for_a_revoked_certificate_says_when(lab_pki: LabAuthorities, revoked: IssuedCert):
    response = ocsp.load_der_ocsp_response(ocsp_response_for(lab_pki.intermediate, revoked.cert))
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.serial_number == revoked.cert.serial_number
    assert response.revocation_time_utc == REVOKED_AT
    assert response.revocation_reason is x509.ReasonFlags.key_compromise
    assert_signed_by(response, lab_pki.intermediate.cert)


# -- POST /ocsp/NAME -----------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", [hashes.SHA1(), hashes.SHA256()], ids=["SHA1 CertID", "SHA256 CertID"])
def test_the_responder_answers_about_the_certificate_asked_for(services: CaServices, issuing_ca, algorithm):
    name, ca = issuing_ca
    cert = ca.issue_cert("localhost").cert
    request = ocsp.load_der_ocsp_request(ocsp_request(cert, ca.cert, algorithm))

    response = answered(services.respond("POST", f"/ocsp/{name}", request.public_bytes(serialization.Encoding.DER)))

    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == cert.serial_number
    # The CertID comes back as asked, so a client can match the answer to its question.
    assert isinstance(response.hash_algorithm, type(algorithm))
    assert (response.issuer_name_hash, response.issuer_key_hash) == (request.issuer_name_hash, request.issuer_key_hash)
    assert_current(response)
    assert_signed_by(response, ca.cert)


@pytest.mark.parametrize("algorithm", [hashes.SHA1(), hashes.SHA256()], ids=["SHA1 CertID", "SHA256 CertID"])
def test_the_responder_says_revoked_with_the_revocation_time(
    services: CaServices, lab_pki: LabAuthorities, revoked: IssuedCert, algorithm
):
    question = ocsp_request(revoked.cert, lab_pki.intermediate.cert, algorithm)
    response = answered(services.respond("POST", "/ocsp/intermediate", question))
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.serial_number == revoked.cert.serial_number
    assert response.revocation_time_utc == REVOKED_AT
    assert_signed_by(response, lab_pki.intermediate.cert)


def test_a_certificate_of_another_ca_is_unauthorized(services: CaServices, lab_pki: LabAuthorities):
    stranger = lab_pki.foreign_intermediate.issue_cert("localhost").cert
    question = ocsp_request(stranger, lab_pki.foreign_intermediate.cert)
    response = answered(services.respond("POST", "/ocsp/intermediate", question))
    assert response.response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED


def test_each_ca_answers_only_for_what_it_issued(services: CaServices, lab_pki: LabAuthorities):
    # The intermediate's own certificate was issued by the root: the root knows it, the intermediate does not.
    question = ocsp_request(lab_pki.intermediate.cert, lab_pki.root.cert)
    by_intermediate = answered(services.respond("POST", "/ocsp/intermediate", question))
    assert by_intermediate.response_status is ocsp.OCSPResponseStatus.UNAUTHORIZED
    by_root = answered(services.respond("POST", "/ocsp/root", question))
    assert by_root.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert_signed_by(by_root, lab_pki.root.cert)


@pytest.mark.parametrize(
    "body",
    [b"", b"garbage", b"\x30\x00", b"\x30\x03\x02\x01\x01"],
    ids=["empty", "text", "empty SEQUENCE", "wrong structure"],
)
def test_garbage_gets_malformed_request(services: CaServices, body: bytes):
    response = answered(services.respond("POST", "/ocsp/intermediate", body))
    assert response.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def test_a_truncated_request_gets_malformed_request(services: CaServices, lab_pki: LabAuthorities, good: IssuedCert):
    question = ocsp_request(good.cert, lab_pki.intermediate.cert)
    response = answered(services.respond("POST", "/ocsp/intermediate", question[:-3]))
    assert response.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


def _der(tag: int, content: bytes) -> bytes:
    """One DER TLV (definite length, short or long form)."""
    length = len(content)
    if length < 0x80:
        return bytes([tag, length]) + content
    size = length.to_bytes((length.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def test_a_request_about_two_certificates_gets_an_ocsp_error_not_an_exception(
    services: CaServices, lab_pki: LabAuthorities, good: IssuedCert
):
    # `openssl ocsp -issuer ... -cert a.pem -cert b.pem` sends one request with two CertIDs (RFC 6960 §4.1.1).
    single = ocsp_request(good.cert, lab_pki.intermediate.cert)
    one_request = single[6:]  # OCSPRequest(30 len) > TBSRequest(30 len) > requestList(30 len) > Request
    assert one_request[0] == 0x30 and one_request[1] == len(one_request) - 2
    two = _der(0x30, _der(0x30, _der(0x30, one_request + one_request)))
    response = answered(services.respond("POST", "/ocsp/intermediate", two))
    assert response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL


def test_a_certid_hashed_with_an_unknown_algorithm_gets_an_ocsp_error_not_an_exception(
    services: CaServices, lab_pki: LabAuthorities, good: IssuedCert
):
    sha1 = bytes.fromhex("06052b0e03021a")  # OID 1.3.14.3.2.26
    question = ocsp_request(good.cert, lab_pki.intermediate.cert)
    assert question.count(sha1) == 1
    odd = question.replace(sha1, bytes.fromhex("06052b0e03021b"))  # 1.3.14.3.2.27, not a hash
    response = answered(services.respond("POST", "/ocsp/intermediate", odd))
    assert response.response_status is not ocsp.OCSPResponseStatus.SUCCESSFUL


# -- GET /ocsp/NAME/BASE64 (RFC 6960 appendix A.1) -------------------------------------------


def _request_whose_base64_has(character: str, cert: x509.Certificate, issuer: x509.Certificate) -> bytes:
    """A request whose base64 contains ``character`` (varying a nonce until it does)."""
    for n in range(2000):
        question = ocsp_request(cert, issuer, nonce=n.to_bytes(16, "big"))
        if character in base64.b64encode(question).decode():
            return question
    raise AssertionError(f"no request with {character!r} in its base64")  # pragma: no cover


def test_get_with_the_request_in_the_path_works_even_with_slashes(
    services: CaServices, lab_pki: LabAuthorities, revoked: IssuedCert
):
    question = _request_whose_base64_has("/", revoked.cert, lab_pki.intermediate.cert)
    response = answered(services.respond("GET", f"/ocsp/intermediate/{base64.b64encode(question).decode()}", b""))
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.serial_number == revoked.cert.serial_number


def test_get_with_the_request_url_encoded_works(services: CaServices, lab_pki: LabAuthorities, good: IssuedCert):
    # What RFC 6960 A.1 literally asks for: url-encoding of the base64 ('+', '/', '=' escaped).
    question = _request_whose_base64_has("+", good.cert, lab_pki.intermediate.cert)
    target = f"/ocsp/intermediate/{quote(base64.b64encode(question).decode(), safe='')}"
    assert "%2B" in target
    response = answered(services.respond("GET", target, b""))
    assert response.certificate_status is ocsp.OCSPCertStatus.GOOD
    assert response.serial_number == good.cert.serial_number


def test_get_with_a_path_that_is_not_base64_gets_malformed_request(services: CaServices):
    response = answered(services.respond("GET", "/ocsp/intermediate/not-base64!", b""))
    assert response.response_status is ocsp.OCSPResponseStatus.MALFORMED_REQUEST


# -- GET /crl/NAME.crl and /ca/NAME.der ------------------------------------------------------


def test_the_crl_route_serves_a_der_crl_listing_the_revoked_serials(
    services: CaServices, lab_pki: LabAuthorities, good: IssuedCert, revoked: IssuedCert
):
    status, content_type, body = services.respond("GET", "/crl/intermediate.crl", b"")
    assert (status, content_type) == (200, "application/pkix-crl")
    crl = x509.load_der_x509_crl(body)
    entry = crl.get_revoked_certificate_by_serial_number(revoked.cert.serial_number)
    assert entry is not None and entry.revocation_date_utc == REVOKED_AT
    assert crl.get_revoked_certificate_by_serial_number(good.cert.serial_number) is None
    assert crl.issuer == lab_pki.intermediate.cert.subject
    assert crl.is_signature_valid(lab_pki.intermediate.cert.public_key())


def test_ocsp_and_crl_tell_the_same_story(services: CaServices, lab_pki: LabAuthorities, revoked: IssuedCert):
    crl = x509.load_der_x509_crl(services.respond("GET", "/crl/intermediate.crl", b"")[2])
    listed = {entry.serial_number for entry in crl}
    assert listed == set(lab_pki.intermediate.revoked)
    question = ocsp_request(revoked.cert, lab_pki.intermediate.cert)
    response = answered(services.respond("POST", "/ocsp/intermediate", question))
    assert (revoked.cert.serial_number in listed) == (response.certificate_status is ocsp.OCSPCertStatus.REVOKED)


@pytest.mark.parametrize("name", ["root", "intermediate", "legacy"])
def test_the_ca_route_serves_the_ca_certificate(services: CaServices, lab_pki: LabAuthorities, name: str):
    status, content_type, body = services.respond("GET", f"/ca/{name}.der", b"")
    assert (status, content_type) == (200, "application/pkix-cert")
    assert x509.load_der_x509_certificate(body) == lab_pki.served()[name].cert


def test_a_query_string_does_not_change_the_route(services: CaServices, lab_pki: LabAuthorities):
    status, _, body = services.respond("GET", "/ca/intermediate.der?cache-buster=1", b"")
    assert status == 200 and x509.load_der_x509_certificate(body) == lab_pki.intermediate.cert


@pytest.mark.parametrize(
    ("method", "target"),
    [
        ("GET", "/"),
        ("GET", "/ca/unknown.der"),
        ("GET", "/ca/intermediate.pem"),
        ("GET", "/ca/intermediate.der/more"),
        ("GET", "/ca/../ca/root.der"),
        ("GET", "/crl/foreign_root.crl"),  # a CA of the lab, but not one it serves
        ("GET", "/crl/intermediate"),
        ("GET", "/ocsp/unknown/MAo="),
        ("POST", "/ocsp/unknown"),
        ("GET", "/ocsp/intermediate"),  # a GET with no request in it
        ("POST", "/ocsp/intermediate/extra"),
        ("GET", "/favicon.ico"),
    ],
)
def test_unknown_paths_are_404(services: CaServices, method: str, target: str):
    assert services.respond(method, target, b"") == (404, "text/plain", b"not found\n")


# -- over real HTTP: follow a revoked certificate's own pointers ----------------------------

# Ignore any http_proxy in the environment: the lab is on the loopback, and must be asked directly.
_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def _fetch(url: str, body: bytes | None = None, content_type: str | None = None) -> bytes:
    assert urlsplit(url).hostname == "127.0.0.1", f"the lab serves on the loopback only, not {url}"
    headers = {"Content-Type": content_type} if content_type else {}
    with _DIRECT.open(urllib.request.Request(url, data=body, headers=headers), timeout=5) as reply:
        assert reply.status == 200
        return reply.read()


def _pointer(cert: x509.Certificate, method: x509.ObjectIdentifier) -> str:
    aia = cert.extensions.get_extension_for_oid(ExtensionOID.AUTHORITY_INFORMATION_ACCESS).value
    (url,) = [d.access_location.value for d in aia if d.access_method == method]
    return url


@pytest.fixture(scope="module")
def revoked_crl_lab():
    with running_lab(only=["revoked-crl"]) as lab:
        yield lab


@pytest.fixture(scope="module")
def presented_leaf(revoked_crl_lab) -> x509.Certificate:
    """The leaf the revoked-crl server presents, read off a verified handshake.

    The handshake succeeds: Python's ``ssl`` checks no CRL unless told to (VERIFY_CRL_CHECK_LEAF).
    """
    scenario = revoked_crl_lab["revoked-crl"]
    url = urlsplit(scenario.url)
    context = ssl.create_default_context(cafile=str(scenario.ca_file))
    with socket.create_connection((url.hostname, url.port), timeout=5) as raw:
        with context.wrap_socket(raw, server_hostname=url.hostname) as tls:
            der = tls.getpeercert(binary_form=True)
    assert der is not None
    return x509.load_der_x509_certificate(der)


def test_the_crl_at_the_leafs_distribution_point_lists_the_leaf(revoked_crl_lab, presented_leaf: x509.Certificate):
    (point,) = presented_leaf.extensions.get_extension_for_oid(ExtensionOID.CRL_DISTRIBUTION_POINTS).value
    (crl_url,) = [name.value for name in point.full_name]
    assert crl_url.startswith(revoked_crl_lab.services_url)

    crl = x509.load_der_x509_crl(_fetch(crl_url))

    assert crl.get_revoked_certificate_by_serial_number(presented_leaf.serial_number) is not None
    assert crl.is_signature_valid(revoked_crl_lab.authorities.intermediate.cert.public_key())


def test_the_ocsp_responder_in_the_leafs_aia_says_revoked(revoked_crl_lab, presented_leaf: x509.Certificate):
    issuer = x509.load_der_x509_certificate(_fetch(_pointer(presented_leaf, AuthorityInformationAccessOID.CA_ISSUERS)))
    presented_leaf.verify_directly_issued_by(issuer)
    assert issuer == revoked_crl_lab.authorities.intermediate.cert

    question = ocsp_request(presented_leaf, issuer, hashes.SHA256())
    ocsp_url = _pointer(presented_leaf, AuthorityInformationAccessOID.OCSP)
    response = ocsp.load_der_ocsp_response(_fetch(ocsp_url, question, "application/ocsp-request"))

    assert response.response_status is ocsp.OCSPResponseStatus.SUCCESSFUL
    assert response.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert response.serial_number == presented_leaf.serial_number
    assert response.revocation_time_utc is not None and response.revocation_time_utc < datetime.now(timezone.utc)
    assert_signed_by(response, issuer)

    # The GET form of the same question, as a caching client sends it, gives the same answer.
    by_get = ocsp.load_der_ocsp_response(_fetch(f"{ocsp_url}/{quote(base64.b64encode(question).decode(), safe='')}"))
    assert by_get.certificate_status is ocsp.OCSPCertStatus.REVOKED
    assert by_get.serial_number == presented_leaf.serial_number
