"""A stapled OCSP answer past its nextUpdate: an old answer, never a revoked certificate.

libcurl's 91 ("OCSP response has expired") alone once read as ``cert.revoked``. The staple's
own dates tell: the server's stapling is stuck on an answer it cannot refresh. Real TLS on
127.0.0.1 with lab certificates; the staple is signed by the issuing CA, as a real one is.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from tlsdoctor.diagnosis import diagnose
from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.revocation import ocsp_response_for
from tlsdoctor.lab.tls import TlsServerConfig

from .conftest import TIMEOUT, assert_honest_and_in_time
from .servers import serving


@pytest.mark.parametrize("require_status", [True, False])
def test_an_out_of_date_staple_is_named_by_its_dates(require_status: bool, authorities: LabAuthorities,
                                                     root_file: Path) -> None:
    leaf = authorities.intermediate.issue_cert("127.0.0.1")
    stale = ocsp_response_for(authorities.intermediate, leaf.cert, expired_for=timedelta(days=3))
    origin = HttpsOrigin(TlsServerConfig(certificate=leaf, alpn=("http/1.1",), ocsp_staple=lambda: stale))
    with serving(origin) as port:
        d = diagnose(f"https://127.0.0.1:{port}/", ca_bundle=root_file, timeout=TIMEOUT, env={},
                     require_status=require_status,
                     os_store_env={"SSL_CERT_FILE": str(root_file), "SSL_CERT_DIR": ""})
    assert_honest_and_in_time(d)
    staple = d.observations.revocation.staple if d.observations.revocation else None
    assert staple is not None and staple.status == "good"  # what it says is fine; its dates are not
    stale_findings = [f for f in d.findings if f.code == "cert.revocation_unavailable"]
    assert len(stale_findings) == 1 and "out of date" in stale_findings[0].summary
    assert not any(f.code == "cert.revoked" for f in d.findings)
    if require_status:
        assert d.observations.curl is not None and d.observations.curl.curl_code == 91
        assert d.verdict is stale_findings[0] and d.verdict.severity.value == "error"
    else:
        assert d.verdict.code == "ok" and stale_findings[0].severity.value == "warning"


def test_a_current_staple_says_nothing(authorities: LabAuthorities, root_file: Path) -> None:
    leaf = authorities.intermediate.issue_cert("127.0.0.1")
    fresh = ocsp_response_for(authorities.intermediate, leaf.cert)
    origin = HttpsOrigin(TlsServerConfig(certificate=leaf, alpn=("http/1.1",), ocsp_staple=lambda: fresh))
    with serving(origin) as port:
        d = diagnose(f"https://127.0.0.1:{port}/", ca_bundle=root_file, timeout=TIMEOUT, env={}, require_status=True,
                     os_store_env={"SSL_CERT_FILE": str(root_file), "SSL_CERT_DIR": ""})
    assert d.verdict.code == "ok", d.verdict.summary
    assert not any(f.code.startswith("cert.revo") for f in d.findings)
