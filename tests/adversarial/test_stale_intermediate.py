"""An expired intermediate: a server's stale copy of a renewed one, or one that truly expired.

A CA renews an intermediate by issuing a new certificate for the same name and key; every
leaf it issued verifies through either copy. A server whose chain file still holds the old
copy fails (curl 60, "certificate has expired") although its own certificate is fine, and
the fix is a new chain file, not a new certificate. The lab's ``expired-intermediate``
scenario is the first case; the second is built here: an intermediate of its own key whose
only copy expired, which the server must replace with a new certificate altogether.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path

from tlsdoctor.demo import options_for
from tlsdoctor.diagnosis import diagnose
from tlsdoctor.lab import Lab
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.tls import TlsServerConfig

from .conftest import TIMEOUT
from .servers import serving


def test_a_stale_copy_of_a_renewed_intermediate_names_the_chain_file(tls_lab: Lab) -> None:
    entry = tls_lab["expired-intermediate"]
    d = diagnose(entry.url, **options_for(entry, os_store=entry.ca_file))
    assert d.verdict.code == "cert.expired"
    assert "old copy of the intermediate" in d.verdict.summary
    assert "server's own certificate is fine" in d.verdict.summary
    assert "chain file" in d.verdict.remedy and "no new certificate" in d.verdict.remedy
    assert d.verdict.evidence["renewed_issuer_url"].endswith("/ca/intermediate.der")
    assert d.observations.revocation is not None and d.observations.revocation.issuer_fetch is not None


def test_an_intermediate_that_truly_expired_asks_for_a_new_certificate(authorities: LabAuthorities,
                                                                       root_file: Path) -> None:
    now = datetime.now(timezone.utc)
    # Its own key, and no caIssuers URL to fetch a renewed copy from: nothing but renewal helps.
    ended = authorities.root.intermediate("Retired Intermediate CA", not_before=now - timedelta(days=900),
                                          not_after=now - timedelta(days=10))
    leaf = ended.issue_cert("127.0.0.1", issuer_pointers=False)
    with serving(HttpsOrigin(TlsServerConfig(certificate=leaf))) as port:
        d = diagnose(f"https://127.0.0.1:{port}/", ca_bundle=root_file, timeout=TIMEOUT, env={},
                     os_store_env={"SSL_CERT_FILE": str(root_file), "SSL_CERT_DIR": ""})
    assert d.verdict.code == "cert.expired"
    assert "chain certificate 'CN=Retired Intermediate CA" in d.verdict.summary
    assert "Renew the certificate" in d.verdict.remedy
    assert "renewed_issuer_url" not in d.verdict.evidence
