"""The lab's certificate authorities, and the CA files it hands to clients.

One lab, one small PKI, made fresh at every start (keys are ECDSA, so this takes
milliseconds):

- ``root`` → ``intermediate``: the trusted hierarchy every healthy lab origin chains to;
- ``root`` → ``legacy``: an RSA intermediate, because SHA-1 signatures need an RSA key;
- ``foreign_root`` → ``foreign_intermediate``: a real-looking CA no client trusts;
- ``interception``: the CA of the intercepting proxy, named like an antivirus product.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from tlsdoctor.lab.pki import CA, Key, pem_bundle, shadow_of

ORGANIZATION = "tlsdoctor lab"
INTERCEPTION_ORGANIZATION = "Lab Antivirus Web Shield"


@dataclass
class LabAuthorities:
    root: CA
    intermediate: CA
    legacy: CA
    foreign_root: CA
    foreign_intermediate: CA
    interception: CA

    @classmethod
    def create(cls, services_url: str) -> "LabAuthorities":
        """Make the PKI; ``services_url`` is where :mod:`.revocation` answers for it."""

        def pointers(name: str) -> dict[str, str]:
            return {
                "ocsp_url": f"{services_url}/ocsp/{name}",
                "crl_url": f"{services_url}/crl/{name}.crl",
                "ca_issuers_url": f"{services_url}/ca/{name}.der",
            }

        root = CA("tlsdoctor Lab Root CA", organization=ORGANIZATION, **pointers("root"))
        intermediate = root.intermediate("tlsdoctor Lab Intermediate CA", **pointers("intermediate"))
        legacy = root.intermediate("tlsdoctor Lab Legacy RSA CA", key=Key.rsa(2048), **pointers("legacy"))
        foreign_root = CA("Foreign Root CA", organization="Nobody Trusts Us Inc.")
        foreign_intermediate = foreign_root.intermediate("Foreign Intermediate CA")
        interception = CA("Lab Antivirus Web Shield Root", organization=INTERCEPTION_ORGANIZATION)
        return cls(root, intermediate, legacy, foreign_root, foreign_intermediate, interception)

    def served(self) -> dict[str, CA]:
        """The authorities whose certificates, CRLs and OCSP the lab serves, by URL name."""
        return {"root": self.root, "intermediate": self.intermediate, "legacy": self.legacy}

    def write_trust_files(self, directory: Path) -> dict[str, Path]:
        """Write the CA files clients use; returns them by trust name (see ``ClientSetup``).

        ``corrupt`` is the field's broken bundle: the root's damaged twin *before* the
        real root, so that OpenSSL finds the twin first.
        """
        directory.mkdir(parents=True, exist_ok=True)
        bundles = {
            "lab": [self.root.cert],
            "lab+interception": [self.root.cert, self.interception.cert],
            "corrupt": [shadow_of(self.root), self.root.cert],
            "interception": [self.interception.cert],
        }
        paths = {}
        for name, certs in bundles.items():
            path = directory / f"ca-{name.replace('+', '-')}.pem"
            path.write_bytes(pem_bundle(certs))
            paths[name] = path
        return paths
