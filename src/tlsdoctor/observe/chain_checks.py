"""The offline checks of one presented chain against the client's trust sources, each made once per diagnosis.

A diagnosis asks the same questions of one chain from several places: may libcurl's
answer stand in for the HEAD (does the client's CA file accept the chain?), should OCSP
and the CRL be fetched (does it verify anywhere?), and at the end, the whole
:class:`~tlsdoctor.observe.observations.TrustObservation`. :class:`ChainChecks` answers
each (source, name, time) path validation and OpenSSL's verdict once, so the early
questions cost the final observation nothing; it judges nothing.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from tlsdoctor.observe.ca_file_lint import lint_ca_file, without_broken_entries
from tlsdoctor.observe.observations import TrustObservation, fingerprint
from tlsdoctor.observe.openssl_verify import OpenSslVerification, openssl_verify
from tlsdoctor.observe.revocation import IssuerFetch, issued_by
from tlsdoctor.observe.trust import PathValidation, TrustSource, verify_presented_chain
from tlsdoctor.observe.trust_sources import default_ca_bundle

# Below this, the local clock and the server's Date agree for every certificate question
# (rules call a clock skewed beyond 5 minutes); validating again at the server's time is
# then skipped.
CLOCKS_AGREE_S = 60.0


class ChainChecks:
    """One diagnosis's trust sources, and its cached answers about the chains it was shown.

    ``os_store`` is still being read when the diagnosis starts (a worker thread): the
    checks that need every source await it; the final observation takes it only if done.
    """

    def __init__(self, bundle: TrustSource, extras: tuple[TrustSource, ...], os_store: asyncio.Future[TrustSource],
                 host: str, local_time: datetime) -> None:
        self.bundle, self.extras, self.os_store = bundle, extras, os_store
        self.host, self.local_time = host, local_time
        self._validations: dict[tuple[str, str | None, object], PathValidation] = {}
        self._openssl_client: OpenSslVerification | None = None  # with the client's CA file, once

    def validate(self, chain: tuple[Any, ...], source: TrustSource, host: str | None, at: Any) -> PathValidation:
        """Path validation, each (source, name, time) once per diagnosis."""
        key = (source.name + (source.path or ""), host, at)
        if key not in self._validations:
            self._validations[key] = verify_presented_chain(chain, source, host=host, at=at)
        return self._validations[key]

    def client_accepts(self, chain: tuple[Any, ...]) -> bool:
        """Does the client's own CA file accept the chain for this host, now?"""
        return self.validate(chain, self.bundle, self.host, self.local_time).ok

    async def verifies_somewhere(self, chain: tuple[Any, ...]) -> bool:
        """Does the chain, as presented, verify against any source (name aside)?"""
        return any(self.validate(chain, s, None, self.local_time).ok for s in await self.sources())

    def check_offline(self, chain: tuple[Any, ...]) -> None:
        """The checks that need only the client's own trust, done early (while the network is awaited).

        Only a head start: :meth:`observation` asks the same (cached) at the end, so anything
        that goes wrong here is left for it to meet and report.
        """
        try:
            self.validate(chain, self.bundle, self.host, self.local_time)
            self.validate(chain, self.bundle, None, self.local_time)
            self.openssl_verdict(chain)
        except Exception:  # noqa: BLE001 - see above: reported by the trust observation
            pass

    def openssl_verdict(self, chain: tuple[Any, ...]) -> OpenSslVerification | None:
        if self._openssl_client is None and self.bundle.path:
            self._openssl_client = openssl_verify(chain, ca_file=self.bundle.path, at=self.local_time)
        return self._openssl_client

    async def sources(self) -> tuple[TrustSource, ...]:
        return (self.bundle, await self.os_store, *self.extras)

    def sources_read(self) -> tuple[TrustSource, ...]:
        """The sources as they stand: the OS store only if its reading finished."""
        if self.os_store.done() and not self.os_store.cancelled() and self.os_store.exception() is None:
            return (self.bundle, self.os_store.result(), *self.extras)
        return (self.bundle, *self.extras)

    def observation(self, chain: tuple[Any, ...], server_time: datetime | None,
                    fetched: IssuerFetch | None) -> TrustObservation:
        """Every offline fact about ``chain``: what the trust rules read."""
        now = self.local_time
        sources = self.sources_read()
        bundle = self.bundle
        # With the name, only the client's own source matters (what it will do); without,
        # every source (is the chain trusted elsewhere?); at the server's time only when the
        # clocks disagree enough for that to change anything.
        client_now = (self.validate(chain, bundle, self.host, now),)
        chain_only_now = tuple(self.validate(chain, s, None, now) for s in sources)
        skewed = server_time is not None and abs((now - server_time).total_seconds()) > CLOCKS_AGREE_S
        chain_only_server = tuple(self.validate(chain, s, None, server_time) for s in sources) if skewed else ()
        openssl_client = openssl_cleaned = lint = None
        if bundle.path:
            openssl_client = self.openssl_verdict(chain)
            lint = lint_ca_file(bundle.path, at=now, openssl_error=bundle.openssl_error)
            if lint.broken_indexes() and openssl_client is not None and not openssl_client.ok:
                try:
                    cleaned = without_broken_entries(bundle.path, lint)
                except ValueError:
                    cleaned = b""
                if cleaned:
                    openssl_cleaned = openssl_verify(chain, ca_data=cleaned, at=now)
        with_fetched = None
        if fetched is not None and fetched.certificate is not None and fetched.issues_leaf:
            # The fetched issuer in place of any copy of it the server sent (an expired one):
            # the chain as a server with an up-to-date chain file would present it.
            others = tuple(c for c in chain[1:] if not issued_by(chain[0], c))
            with_fetched = verify_presented_chain((chain[0], fetched.certificate, *others), bundle, host=None, at=now)
        return TrustObservation(
            sources=sources, client_now=client_now, chain_only_now=chain_only_now,
            chain_only_server_time=chain_only_server, openssl_client=openssl_client,
            openssl_cleaned=openssl_cleaned, with_fetched_issuer=with_fetched, lint=lint,
            ca_file_modified=_modified(bundle.path), anchor_in_public_store=_anchor_in_public_store(chain_only_now),
        )


def _anchor_in_public_store(validations: tuple[PathValidation, ...]) -> bool | None:
    """Whether certifi's bundle holds the root another source verified with, when the client's
    own CA file (the first validation) does not verify. certifi's bundle is read once per
    process (and cached on disk), so asking costs nothing after the first diagnosis."""
    if not validations or validations[0].ok:
        return None
    trusting = next((v for v in validations[1:] if v.ok and v.chain), None)
    if trusting is None:
        return None
    public = default_ca_bundle()
    if not public.certificates:
        return None
    anchor = trusting.chain[-1]
    return fingerprint(anchor) in {fingerprint(c) for c in public.certificates}


def _modified(path: str | None) -> datetime | None:
    try:
        return datetime.fromtimestamp(Path(path).stat().st_mtime, timezone.utc) if path else None
    except OSError:
        return None
