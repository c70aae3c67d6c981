"""PowerShell: Invoke-WebRequest, Invoke-RestMethod, and the error records around them.

Windows PowerShell 5.1 runs on .NET Framework (its messages are dotnet.py's WebException
texts), PowerShell 7 on .NET (HttpRequestException). What PowerShell adds is the error
record — ``FullyQualifiedErrorId : WebCmdletWebResponseException`` — and its own hints.
"""

from __future__ import annotations

from tlsdoctor.explain.recognisers.base import WRAPPER, Means, Recogniser

RECOGNISER = Recogniser(
    ecosystem="powershell",
    title="PowerShell (Invoke-WebRequest, Invoke-RestMethod)",
    covers="Windows PowerShell 5.1 and PowerShell 7.x error records; the messages inside are .NET's",
    phrases={
        # PowerShell 5.1 with the .NET Framework default of SSL3/TLS 1.0: the fix users find is
        # [Net.ServicePointManager]::SecurityProtocol = Tls12, and they paste it with the error.
        "[net.servicepointmanager]::securityprotocol": Means(condition="protocol_mismatch", trust=WRAPPER),
        "webcmdletwebresponseexception": Means(condition="handshake_failed", trust=5),
    },
    names={
        "WebCmdletWebResponseException": Means(condition="handshake_failed", trust=5),
        "HttpResponseException": Means(condition="handshake_failed", trust=5),
    },
    markers=("invoke-webrequest", "invoke-restmethod", "fullyqualifiederrorid", "categoryinfo"),
    input_kind="powershell",
)
