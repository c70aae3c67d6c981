"""Our own ClientHellos, read by a real OpenSSL server (in memory), and its answers read by us.

The proof that a hand-written hello is right is that OpenSSL answers it the way it
answers its own clients: a ServerHello choosing what we offered, a HelloRetryRequest for
a group we offered without a key share, an alert when we offer nothing it accepts.
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from OpenSSL import SSL

from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.pki import Key
from tlsdoctor.lab.tls import TlsServerConfig
from tlsdoctor.wire import (
    BY_NAME,
    CIPHER_SUITES,
    AlertDescription,
    ClientHello,
    NamedGroup,
    parse_client_hello,
    read_server_flight,
    server_flight_needs_more,
    suite_family,
)


@pytest.fixture(scope="module")
def authorities() -> LabAuthorities:
    return LabAuthorities.create("http://127.0.0.1:9")


def answer(authorities: LabAuthorities, hello: bytes, *, rsa: bool = False, client_ca: bool = False,
           **config: object) -> bytes:
    """What a real OpenSSL server (the lab's server set-up) writes back to ``hello``."""
    key = Key.rsa(2048) if rsa else None
    cert = authorities.intermediate.issue_cert("localhost", **({"key": key} if key else {}))
    ctx = TlsServerConfig(cert, **config).build_context()  # type: ignore[arg-type]
    if client_ca:
        ctx.set_verify(SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT, lambda *a: True)
    server = SSL.Connection(ctx, None)
    server.set_accept_state()
    server.bio_write(hello)
    try:
        server.do_handshake()
    except SSL.WantReadError:
        pass
    except SSL.Error:
        pass  # the server refused: its alert is in the outgoing buffer
    out = b""
    for _ in range(16):
        try:
            out += server.bio_read(65536)
        except SSL.WantReadError:
            break
    return out


def test_a_default_hello_gets_a_tls13_server_hello_with_the_key_share_group(authorities):
    flight = read_server_flight(answer(authorities, ClientHello(server_name="localhost").to_bytes()))
    assert flight.server_hello is not None
    assert flight.server_hello.version == (3, 4)
    assert flight.server_hello.cipher_suite in (0x1301, 0x1302, 0x1303)
    assert flight.server_hello.selected_group == NamedGroup.X25519
    assert not flight.server_hello.hello_retry_request
    assert flight.complete


def test_a_tls12_only_hello_gets_the_whole_plaintext_flight(authorities):
    hello = ClientHello(versions=("1.2",), server_name="localhost")
    flight = read_server_flight(answer(authorities, hello.to_bytes()))
    assert flight.server_hello is not None and flight.server_hello.version == (3, 3)
    assert flight.certificates, "TLS 1.2 sends its Certificate in clear"
    assert flight.key_exchange is not None and flight.key_exchange.named_group is not None
    assert flight.hello_done and flight.certificate_request is None


def test_an_empty_key_share_makes_the_server_name_its_group_in_a_hello_retry_request(authorities):
    hello = ClientHello(versions=("1.3",), groups=(NamedGroup.SECP384R1,), key_share_groups=())
    flight = read_server_flight(answer(authorities, hello.to_bytes()))
    assert flight.server_hello is not None and flight.server_hello.hello_retry_request
    assert flight.server_hello.selected_group == NamedGroup.SECP384R1


def test_offering_only_suites_the_server_refuses_gets_a_handshake_failure_alert(authorities):
    hello = ClientHello(versions=("1.2",), cipher_suites=(BY_NAME["TLS_RSA_WITH_NULL_SHA256"].code,))
    flight = read_server_flight(answer(authorities, hello.to_bytes()))
    assert flight.server_hello is None
    assert flight.alert is not None and flight.alert[1] == AlertDescription.HANDSHAKE_FAILURE


def test_a_null_suite_the_local_client_never_offers_is_chosen_when_the_server_allows_it(authorities):
    null = BY_NAME["TLS_RSA_WITH_NULL_SHA256"].code
    hello = ClientHello(versions=("1.2",), cipher_suites=(null, 0x00FF))
    flight = read_server_flight(answer(authorities, hello.to_bytes(), rsa=True, cipher_list="NULL-SHA256",
                                       security_level=0))
    assert flight.server_hello is not None and flight.server_hello.cipher_suite == null
    assert flight.server_hello.cipher_suite_name == "TLS_RSA_WITH_NULL_SHA256"
    assert suite_family(null) == "NULL"


def test_a_server_that_wants_a_client_certificate_says_so_in_clear_in_tls12(authorities):
    flight = read_server_flight(answer(authorities, ClientHello(versions=("1.2",)).to_bytes(), client_ca=True))
    assert flight.certificate_request is not None
    assert flight.certificate_request.certificate_types


def test_a_dhe_server_key_exchange_gives_the_prime_size(authorities):
    dhe = tuple(s.code for s in CIPHER_SUITES.values() if s.name.startswith("TLS_DHE_RSA_WITH_AES"))
    hello = ClientHello(versions=("1.2",), cipher_suites=dhe, groups=(NamedGroup.FFDHE2048,))
    flight = read_server_flight(answer(authorities, hello.to_bytes(), rsa=True, cipher_list="DHE-RSA-AES128-GCM-SHA256"))
    assert flight.key_exchange is not None
    assert flight.key_exchange.dh_prime_bits is not None and flight.key_exchange.dh_prime_bits >= 2048


def test_a_hello_reads_back_as_what_it_offered():
    hello = ClientHello(versions=("1.3", "1.2", "1.1"), cipher_suites=(0x1301, 0xC02F, 0x000A),
                        server_name="api.example.test", alpn=("h2", "http/1.1"))
    offered = parse_client_hello(hello.to_bytes())
    assert offered is not None
    assert offered.versions == ((3, 4), (3, 3), (3, 2))
    assert offered.cipher_suites == (0x1301, 0xC02F, 0x000A)
    assert offered.server_name == "api.example.test"
    assert offered.alpn == ("h2", "http/1.1")
    assert offered.key_share_groups == (NamedGroup.X25519,)


def test_a_pre_tls13_hello_says_its_version_in_legacy_version_and_lists_no_versions():
    offered = parse_client_hello(ClientHello(versions=("1.0",)).to_bytes())
    assert offered is not None and offered.legacy_version == (3, 1) and offered.versions == ((3, 1),)
    assert 43 not in offered.extensions  # no supported_versions


def test_a_hello_is_kept_out_of_the_256_to_511_byte_range():
    for count in range(1, 200, 7):
        message = ClientHello(cipher_suites=tuple(range(1, count + 1))).handshake_message()
        assert not 256 <= len(message) < 512


@settings(max_examples=50, deadline=None)
@given(suites=st.lists(st.integers(0, 0xFFFF), min_size=1, max_size=300),
       versions=st.lists(st.sampled_from(["1.0", "1.1", "1.2", "1.3"]), min_size=1, max_size=4, unique=True))
def test_any_suites_and_versions_make_a_hello_that_reads_back(suites, versions):
    hello = ClientHello(versions=tuple(versions), cipher_suites=tuple(suites))
    offered = parse_client_hello(hello.to_bytes())
    assert offered is not None and offered.cipher_suites == tuple(suites)


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=600))
def test_the_flight_reader_never_raises_and_always_stops(data):
    flight = read_server_flight(data)
    assert isinstance(server_flight_needs_more(data), bool)
    assert flight.server_hello is None or flight.server_hello.cipher_suite >= 0


def test_the_registry_names_the_families_a_modern_client_refuses():
    families = {name: BY_NAME[name].family for name in (
        "TLS_RSA_EXPORT_WITH_RC4_40_MD5", "TLS_RSA_WITH_RC4_128_SHA", "TLS_RSA_WITH_3DES_EDE_CBC_SHA",
        "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8", "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC", "TLS_RSA_WITH_NULL_SHA",
        "TLS_AES_128_CCM_8_SHA256", "TLS_SHA256_SHA256", "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256")}
    assert families == {
        "TLS_RSA_EXPORT_WITH_RC4_40_MD5": "export", "TLS_RSA_WITH_RC4_128_SHA": "RC4",
        "TLS_RSA_WITH_3DES_EDE_CBC_SHA": "3DES", "TLS_ECDHE_ECDSA_WITH_AES_128_CCM_8": "CCM-8",
        "TLS_GOSTR341112_256_WITH_KUZNYECHIK_CTR_OMAC": "GOST", "TLS_RSA_WITH_NULL_SHA": "NULL",
        "TLS_AES_128_CCM_8_SHA256": "CCM-8", "TLS_SHA256_SHA256": "NULL",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256": None}
