"""Trust: the certificates a client trusts, and whether a presented chain verifies against them.

One import for the three concepts, each in its own module:

- :mod:`tlsdoctor.observe.pem`: reading PEM CA files as OpenSSL does (bounded, located,
  never raising for a bad file);
- :mod:`tlsdoctor.observe.trust_sources`: :class:`TrustSource` — the client's CA file, the
  OS store, extra CA files — loaded once per process and re-read when a file changes (the
  OS store's reading in :mod:`tlsdoctor.observe.os_store`);
- :mod:`tlsdoctor.observe.path_validation`: :class:`PathValidation` — whether the chain a
  server presented builds to a source's anchors, at a given time, with or without the name.
"""

from __future__ import annotations

from tlsdoctor.observe.path_validation import MAX_CHAIN_DEPTH, MAX_PRESENTED_CERTS, PathValidation, verify_presented_chain
from tlsdoctor.observe.pem import (
    MAX_CA_ENTRIES,
    MAX_CA_FILE_BYTES,
    PemBlock,
    certificate_blocks,
    decode_block,
    must_propagate,
    not_pem_reason,
    one_line,
    openssl_block_error,
    openssl_load_error,
    read_ca_file_bytes,
    subject_text,
)
from tlsdoctor.observe.os_store import (
    MAX_DIRECTORY_FILE_BYTES,
    MAX_DIRECTORY_FILES,
    os_trust_store,
    os_trust_store_if_read,
)
from tlsdoctor.observe.trust_sources import (
    SOURCE_NAMES,
    TrustSource,
    default_ca_bundle,
    load_ca_file,
)

__all__ = [
    "MAX_CA_ENTRIES", "MAX_CA_FILE_BYTES", "MAX_CHAIN_DEPTH", "MAX_DIRECTORY_FILES", "MAX_DIRECTORY_FILE_BYTES",
    "MAX_PRESENTED_CERTS", "SOURCE_NAMES", "PathValidation", "PemBlock", "TrustSource", "certificate_blocks",
    "decode_block", "default_ca_bundle", "load_ca_file", "must_propagate", "not_pem_reason", "one_line",
    "openssl_block_error", "openssl_load_error", "os_trust_store", "os_trust_store_if_read", "read_ca_file_bytes",
    "subject_text",
    "verify_presented_chain",
]
