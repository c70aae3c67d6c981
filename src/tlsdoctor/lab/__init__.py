"""The TLS fault lab: every way HTTPS breaks in the field, reproducible on loopback.

    from tlsdoctor.lab import running_lab

    with running_lab() as lab:
        expired = lab["expired"]
        expired.url, expired.ca_file, expired.code, expired.curl_code

See :mod:`tlsdoctor.lab.scenarios` for the catalogue and :mod:`tlsdoctor.lab.pki` for
the certificate factory; the pytest plugin (:mod:`tlsdoctor.lab.pytest_plugin`) gives
any test suite the same lab as fixtures.
"""

from tlsdoctor.lab.pki import CA, IssuedCert, Key, leaf_cert
from tlsdoctor.lab.runner import Lab, LabScenario, running_lab
from tlsdoctor.lab.scenarios import CATALOGUE, Category, ClientSetup, Scenario, scenario

__all__ = [
    "CA",
    "CATALOGUE",
    "Category",
    "ClientSetup",
    "IssuedCert",
    "Key",
    "Lab",
    "LabScenario",
    "Scenario",
    "leaf_cert",
    "running_lab",
    "scenario",
]
