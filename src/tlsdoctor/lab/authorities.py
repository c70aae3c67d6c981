"""The lab's certificate authorities, and the CA files it hands to clients.

One lab, one small PKI, made fresh at every start (keys are ECDSA, so this takes
milliseconds):

- ``root`` → ``intermediate``: the trusted hierarchy every healthy lab origin chains to;
- ``root`` → ``legacy``: an RSA intermediate, because SHA-1 signatures need an RSA key;
- ``foreign_root`` → ``foreign_intermediate``: a real-looking CA no client trusts;
- ``interception``: the CA of the intercepting proxy, named like an antivirus product;
- ``corporate`` → ``corporate_issuing``: a company's private PKI, years old, whose root IT
  deployed to the machines' OS stores (and which no public store, nor a bundled CA file, holds);
- a **current trust store** (``store_roots``): the lab root among a few other roots of
  different ages, as certifi's or an OS's bundle holds ~150; its newest root,
  ``new_root`` (issued weeks ago) → ``new_intermediate``, is what an "outdated CA file"
  lacks: that file (``ca-store-outdated.pem``) is the store as it was before the new root
  joined, dated accordingly.
"""

from __future__ import annotations

import codecs

import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

from tlsdoctor.lab.pki import CA, Key, expired_copy, pem_bundle, shadow_of

ORGANIZATION = "tlsdoctor lab"
INTERCEPTION_ORGANIZATION = "Lab Antivirus Web Shield"
NEW_ROOT_AGE = timedelta(days=60)  # the store's newest root was issued this long ago
OUTDATED_COPY_AGE = timedelta(days=400)  # the outdated CA file was copied this long before it
CORPORATE_ORGANIZATION = "Example Corp"
CORPORATE_ROOT_AGE = timedelta(days=365 * 6)


@dataclass
class LabAuthorities:
    root: CA
    intermediate: CA
    legacy: CA
    foreign_root: CA
    foreign_intermediate: CA
    interception: CA
    new_root: CA
    new_intermediate: CA
    corporate: CA
    corporate_issuing: CA
    store_roots: tuple[CA, ...] = field(default=())  # the current store, new_root last

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
        now = datetime.now(timezone.utc).replace(microsecond=0)
        # Roots of a store are long-lived and of every age; the newest joined weeks ago.
        older = tuple(
            CA(f"tlsdoctor Lab Store Root {year}", organization="tlsdoctor lab store",
               not_before=now - timedelta(days=365 * age), not_after=now + timedelta(days=365 * (25 - age)))
            for year, age in (("2009", 16), ("2013", 12), ("2017", 8), ("2020", 5))
        )
        new_root = CA("tlsdoctor Lab Store Root R2 (new)", organization="tlsdoctor lab store",
                      not_before=now - NEW_ROOT_AGE, not_after=now + timedelta(days=365 * 25))
        new_intermediate = new_root.intermediate("tlsdoctor Lab R2 Intermediate CA")
        # Older than the store's newest roots: what a bundled CA file lacks here is not a newer
        # root but one no public store ever held.
        corporate = CA("Example Corp Internal Root CA", organization=CORPORATE_ORGANIZATION,
                       not_before=now - CORPORATE_ROOT_AGE, not_after=now + timedelta(days=365 * 14))
        corporate_issuing = corporate.intermediate("Example Corp Issuing CA 01")
        return cls(root, intermediate, legacy, foreign_root, foreign_intermediate, interception, new_root,
                   new_intermediate, corporate, corporate_issuing, (*older, root, new_root))

    def served(self) -> dict[str, CA]:
        """The authorities whose certificates, CRLs and OCSP the lab serves, by URL name."""
        return {"root": self.root, "intermediate": self.intermediate, "legacy": self.legacy}

    def write_trust_files(self, directory: Path) -> dict[str, Path]:
        """Write the CA files clients use; returns them by trust name (see ``ClientSetup``).

        ``corrupt`` is the field's broken bundle: the root's damaged twin *before* the
        real root, so that OpenSSL finds the twin first. ``lab-expired`` holds only an old,
        expired copy of the lab root (the CA has renewed it since, same name and key).
        ``store+corporate`` is a company machine's OS store: the public store plus the
        company's own root. ``lab-utf16`` is the lab root's PEM as Windows PowerShell's ``>`` saves it: UTF-16
        text, from which OpenSSL reads no certificate (curl 77).
        """
        directory.mkdir(parents=True, exist_ok=True)
        bundles = {
            "lab": [self.root.cert],
            "lab+interception": [self.root.cert, self.interception.cert],
            "corrupt": [shadow_of(self.root), self.root.cert],
            "lab-expired": [expired_copy(self.root)],
            "interception": [self.interception.cert],
            "store": [ca.cert for ca in self.store_roots],
            "store-outdated": [ca.cert for ca in self.store_roots if ca is not self.new_root],
            "store+corporate": [*(ca.cert for ca in self.store_roots), self.corporate.cert],
        }
        paths = {}
        for name, certs in bundles.items():
            path = directory / f"ca-{name.replace('+', '-')}.pem"
            path.write_bytes(pem_bundle(certs))
            paths[name] = path
        utf16 = directory / "ca-lab-utf16.pem"
        utf16.write_bytes(codecs.BOM_UTF16_LE + pem_bundle([self.root.cert]).decode("ascii").encode("utf-16-le"))
        paths["lab-utf16"] = utf16
        # An old copy is old on disk too: dated before the root it lacks was issued.
        copied = self.new_root.cert.not_valid_before_utc - OUTDATED_COPY_AGE
        os.utime(paths["store-outdated"], (copied.timestamp(), copied.timestamp()))
        return paths
