"""The shared vocabulary (tlsdoctor.signals) and the one table (tlsdoctor.classify) stay two halves of one contract."""

from __future__ import annotations

import re

import tlsdoctor.classify as classify
import tlsdoctor.signals as signals
from tlsdoctor.findings import FINDING_CODES


def test_classify_still_exports_the_vocabulary_it_reads() -> None:
    # Callers import Signal from tlsdoctor.classify (the client, diagnose's rules, torture): same objects.
    assert classify.Signal is signals.Signal
    assert classify.CONDITIONS is signals.CONDITIONS


def test_every_condition_has_rows_and_every_row_condition_is_known() -> None:
    used = {condition for row in classify.SIGNAL_TABLE for condition in row.condition}
    assert used == set(signals.CONDITIONS)
    assert all(row.code in FINDING_CODES for row in classify.SIGNAL_TABLE)


def test_a_row_with_an_unknown_condition_is_refused() -> None:
    try:
        classify.row("tls.not_tls", 0.5, "test", condition=("not_a_condition",))
    except ValueError as error:
        assert "not_a_condition" in str(error)
    else:
        raise AssertionError("an unknown condition must not make a row")


# Other clients' own words belong to explain's recognisers (they emit Signal.condition or a
# verify result, an alert, an errno); the table reads libcurl's and OpenSSL's text only.
_OTHER_CLIENTS = re.compile(
    r"x509: |proxyconnect|PKIX|javax|CertificateExpiredException|SEC_E_|CERT_E_|CRYPT_E_|ERR_TLS_|ENOTFOUND|"
    r"UnknownHostException|RemoteCertificate|SocketTimeoutException|ClientProxyConnectionError|trustAnchors")


def test_the_table_reads_no_other_clients_words() -> None:
    offenders = [row.text.pattern[:60] for row in classify.SIGNAL_TABLE
                 if row.text is not None and _OTHER_CLIENTS.search(row.text.pattern)]
    assert not offenders, offenders
