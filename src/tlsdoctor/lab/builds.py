"""How the lab builds a scenario's server: the context a ``serve`` gets, and the builders
that need more than one line of the catalogue (a revoked leaf and its staple, a stale
intermediate, a company's PKI, an interceptor...).

:mod:`.scenarios` says *what* each scenario is; this module says how its endpoint is made
from the lab's PKI (:class:`~tlsdoctor.lab.authorities.LabAuthorities`), fresh at each start.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

from tlsdoctor.lab.authorities import LabAuthorities
from tlsdoctor.lab.endpoints import HttpsOrigin
from tlsdoctor.lab.pki import CA, IssuedCert
from tlsdoctor.lab.proxy import ConnectProxy
from tlsdoctor.lab.revocation import ocsp_response_for
from tlsdoctor.lab.tls import TlsServerConfig

ORGANIZATION_OLD = "tlsdoctor lab legacy"
# Every lab certificate names every way a client may address the lab.
LAB_NAMES = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True)
class BuildContext:
    """What a scenario's ``serve`` gets: the PKI and the addresses of the other endpoints."""

    authorities: LabAuthorities
    origin_trust_file: str  # the lab root, for proxies that verify origins
    # A loopback URL where nothing answers (a port held but never listening): what a
    # certificate's OCSP and CRL pointers name when the CA's services are down.
    unreachable_url: str = "http://127.0.0.1:9"
    now: datetime = field(default_factory=lambda: datetime.now(timezone.utc).replace(microsecond=0))

    def leaf(self, **options: object) -> IssuedCert:
        return self.authorities.intermediate.issue_cert(*LAB_NAMES, **options)  # type: ignore[arg-type]

    def origin(self, cert: IssuedCert | None = None, **tls: object) -> HttpsOrigin:
        return HttpsOrigin(TlsServerConfig(certificate=cert or self.leaf(), **tls))  # type: ignore[arg-type]


def days(n: float) -> timedelta:
    return timedelta(days=n)


def revoked(ctx: BuildContext, **options: object) -> IssuedCert:
    cert = ctx.leaf(**options)
    ctx.authorities.intermediate.revoke(cert.cert)
    return cert


def stapling_revoked(ctx: BuildContext) -> HttpsOrigin:
    cert = revoked(ctx)
    staple = ocsp_response_for(ctx.authorities.intermediate, cert.cert)
    return ctx.origin(cert, ocsp_staple=lambda: staple)


def with_expired_cross_sign(ctx: BuildContext) -> HttpsOrigin:
    """The healthy chain plus the lab root cross-signed by an old root, both expired 30 days ago:
    what servers sent after AddTrust External CA Root expired (2020-05-30)."""
    old = CA("tlsdoctor Lab Legacy Root (AddTrust-like)", organization=ORGANIZATION_OLD,
             not_before=ctx.now - days(7300), not_after=ctx.now - days(30))
    root = ctx.authorities.root
    cross = CA(root.name, organization=root.organization, key=root.key, parent=old,
               not_before=ctx.now - days(3650), not_after=ctx.now - days(30)).cert
    leaf = ctx.leaf()
    return ctx.origin(IssuedCert(leaf.cert, leaf.key, (*leaf.chain, cross)))


def stapling_stale(ctx: BuildContext) -> HttpsOrigin:
    cert = ctx.leaf()
    staple = ocsp_response_for(ctx.authorities.intermediate, cert.cert, expired_for=days(3))
    return ctx.origin(cert, ocsp_staple=lambda: staple)


def revocation_offline(ctx: BuildContext) -> HttpsOrigin:
    """A leaf from a CA whose OCSP responder and CRL both point at a dead port; no staple."""
    dead = ctx.unreachable_url
    offline = ctx.authorities.root.intermediate("tlsdoctor Lab Offline-Revocation CA", ocsp_url=f"{dead}/ocsp",
                                                crl_url=f"{dead}/offline.crl")
    return ctx.origin(offline.issue_cert(*LAB_NAMES))


def stale_intermediate(ctx: BuildContext) -> HttpsOrigin:
    """The leaf, sent with an old copy of its intermediate: same name and key, expired 30 days ago.

    The CA renewed its intermediate (a new certificate for the same key); the server's chain
    file still holds the copy it was installed with. Its leaf is valid, and the current copy
    is one caIssuers fetch away, but clients verify the chain the server sends.
    """
    current = ctx.authorities.intermediate
    old = ctx.authorities.root.intermediate(current.name, key=current.key, not_before=ctx.now - days(800),
                                            not_after=ctx.now - days(30))
    leaf = ctx.leaf()
    return ctx.origin(replace(leaf, chain=(old.cert,)))


def company_site(ctx: BuildContext) -> HttpsOrigin:
    """An internal site on the company's PKI: leaf and issuing CA sent, the root on the machines."""
    issuing = ctx.authorities.corporate_issuing
    return ctx.origin(issuing.issue_cert(*LAB_NAMES, issuer_pointers=False))


def demands_client_cert(ctx: BuildContext, **tls: object) -> HttpsOrigin:
    return ctx.origin(client_ca=ctx.authorities.root.cert, **tls)


def interceptor(ctx: BuildContext, h2_broken: bool = False) -> ConnectProxy:
    trust = ssl.create_default_context(cafile=ctx.origin_trust_file)
    trust.set_alpn_protocols(["http/1.1"])
    return ConnectProxy("intercept", interception_ca=ctx.authorities.interception, origin_trust=trust,
                        h2_broken=h2_broken)
