"""Safari (macOS and iOS): the words of its warning pages.

Safari shows no code; users paste its sentences. Beneath them is URLSession (apple.py).
"""

from __future__ import annotations

from tlsdoctor.explain.recognisers.base import (
    EXPIRED, NO_NAME, TIMED_OUT, UNTRUSTED, VERSION_OR_CIPHER, WRAPPER, Means, Recogniser,
)

RECOGNISER = Recogniser(
    ecosystem="safari",
    title="Safari (macOS, iOS)",
    covers="Safari 14–18 warning pages and alerts, in English",
    phrases={
        "safari can't verify the identity of the website": UNTRUSTED,
        "this connection is not private": Means(condition="cert_rejected", trust=WRAPPER),
        "this website may be impersonating": Means(condition="cert_rejected", trust=WRAPPER),
        "safari can't establish a secure connection to the server": VERSION_OR_CIPHER,
        "could not establish a secure connection to the server": VERSION_OR_CIPHER,
        "safari can't connect to the server": Means(errno="ECONNREFUSED"),
        "safari can't open the page because the network connection was lost": Means(errno="ECONNRESET"),
        "safari can't find the server": NO_NAME,
        "the server where this page is located isn't responding": TIMED_OUT,
        "the certificate for this website has expired": EXPIRED,
        "this certificate has expired": EXPIRED,
        "this certificate was signed by an unknown authority": UNTRUSTED,
        "this certificate is not trusted": UNTRUSTED,
        "root certificate is not trusted": UNTRUSTED,
        "self-signed root certificate": Means(verify=18),  # the certificate sheet of a self-signed server
    },
    markers=("safari",),
    input_kind="browser",
)
