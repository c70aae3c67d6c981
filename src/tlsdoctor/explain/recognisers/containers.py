"""Docker, containerd, Kubernetes (kubectl, kubelet), Helm: Go programs with their own prefixes.

Their TLS words are Go's (go.py reads them); what they add is where the failure happened —
``Error response from daemon: Get "https://registry-1.docker.io/v2/"``, ``failed to do
request: Head``, ``Unable to connect to the server:`` — and a few messages of their own.
"""

from __future__ import annotations

from tlsdoctor.explain.recognisers.base import HANDSHAKE_TIMEOUT, Means, Recogniser

RECOGNISER = Recogniser(
    ecosystem="containers",
    title="Docker, containerd, kubectl and Helm",
    covers="Docker Engine 20–27 daemon and CLI errors, containerd/nerdctl/crictl pulls, kubectl/client-go, Helm",
    phrases={
        "unable to connect to the server: net/http: tls handshake timeout": HANDSHAKE_TIMEOUT,
        "proxyconnect tcp: tls: first record does not look like a tls handshake": Means(
            condition="proxy_failed"),  # an http:// proxy given as https://
        "certificate signed by unknown authority (possibly because of": Means(condition="untrusted_issuer"),
    },
    markers=("error response from daemon", "docker", "containerd", "kubectl", "unable to connect to the server",
             "failed to pull image", "helm", "registry-1.docker.io"),
    input_kind="containers",
)
