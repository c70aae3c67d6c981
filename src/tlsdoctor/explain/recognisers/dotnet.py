""".NET Framework and .NET: WebException, HttpRequestException, AuthenticationException, SocketException.

.NET Framework's HttpWebRequest says what failed only as a WebExceptionStatus and a
message ("The request was aborted: Could not create SSL/TLS secure channel." is
SecureChannelFailure: on Windows 7/8 and .NET 4.0–4.6 most often no TLS 1.2); .NET Core
and .NET 5+ say more: ``AuthenticationException: The remote certificate is invalid because of
errors in the certificate chain: UntrustedRoot`` names X509ChainStatusFlags. Messages are
translated with the .NET language packs; the dozen most common are read in zh-CN, zh-TW,
ja, ko, de, fr, es, pt-BR and ru (the Windows status codes beneath them are in windows.py).
"""

from __future__ import annotations

import re

from tlsdoctor.explain.recognisers.base import (
    BAD_USAGE, CLIENT_CERT, CLOSED, DATE_INVALID, LOCALISED, NAME_MISMATCH, NOT_TLS, NO_ANSWER, NO_NAME, PARTIAL_CHAIN, PROTOCOL,
    PROXY_AUTH, REJECTED, REVOCATION_UNKNOWN, REVOKED, SECURE_CHANNEL, UNTRUSTED, WEAK_SIGNATURE,
    WRAPPER, Means, Pattern, Recogniser,
)
from tlsdoctor.explain.recognisers.openssl import alert_named

SECURE_CHANNEL_WRAPPER = Means(condition="secure_channel_failed", trust=WRAPPER)
REJECTED_WRAPPER = Means(condition="cert_rejected", trust=WRAPPER)
PROXY_NO_NAME = Means(condition="proxy_unresolvable")
SQL_SERVER_CERT = Means(verify=18, trust=LOCALISED)  # a clue about the server, weaker than the error's words



# X509ChainStatusFlags (System.Security.Cryptography.X509Certificates), as .NET 5+ lists them
# after "errors in the certificate chain:", and SslPolicyErrors.
CHAIN_STATUS_FLAGS: dict[str, Means] = {
    "UntrustedRoot": UNTRUSTED,
    "PartialChain": PARTIAL_CHAIN,
    "NotTimeValid": DATE_INVALID,
    "NotTimeNested": REJECTED,
    "Revoked": REVOKED,
    "RevocationStatusUnknown": REVOCATION_UNKNOWN,
    "OfflineRevocation": REVOCATION_UNKNOWN,
    "NotSignatureValid": REJECTED,
    "NotValidForUsage": BAD_USAGE,
    "ExplicitDistrust": UNTRUSTED,
    "HasWeakSignature": WEAK_SIGNATURE,
    "InvalidBasicConstraints": REJECTED,
    "InvalidNameConstraints": REJECTED,
    "HasNotSupportedCriticalExtension": REJECTED,
    "RemoteCertificateNameMismatch": NAME_MISMATCH,
    "RemoteCertificateChainErrors": REJECTED_WRAPPER,
    "RemoteCertificateNotAvailable": Means(condition="handshake_failed"),
}

# WebExceptionStatus names (they appear as "Status: TrustFailure" in logs).
WEB_EXCEPTION_STATUS: dict[str, Means] = {
    "TrustFailure": REJECTED,
    "SecureChannelFailure": Means(condition="secure_channel_failed"),
    "NameResolutionFailure": NO_NAME,
    "ProxyNameResolutionFailure": PROXY_NO_NAME,
    "ConnectFailure": Means(errno="ECONNREFUSED", trust=WRAPPER),
    "ReceiveFailure": CLOSED,
    "SendFailure": CLOSED,
    "Timeout": Means(errno="ETIMEDOUT", trust=WRAPPER),
}

# The messages, in English and translated; WRAPPER where the message only says "see inside".
ENGLISH: dict[str, Means] = {
    "Could not create SSL/TLS secure channel": Means(condition="secure_channel_failed"),
    "Could not establish trust relationship for the SSL/TLS secure channel": REJECTED,
    "The remote certificate is invalid according to the validation procedure": REJECTED,
    # .NET 5+ follows this with the X509ChainStatusFlags names, which say more.
    "The remote certificate is invalid because of errors in the certificate chain": REJECTED_WRAPPER,
    "The remote certificate was rejected by the provided RemoteCertificateValidationCallback": REJECTED,
    # SendFailure: on .NET Framework 4.x, a server that drops a TLS 1.0 ClientHello.
    "An unexpected error occurred on a send": CLOSED,
    "An unexpected error occurred on a receive": CLOSED,
    "Authentication failed because the remote party has closed the transport stream": CLOSED,
    # HttpClient (.NET 5+), once the request is out: HttpRequestError.ResponseEnded / InvalidResponse.
    "The response ended prematurely": NO_ANSWER,
    "The server returned an invalid or unrecognized response": NO_ANSWER,
    "Received an unexpected EOF or 0 bytes from the transport stream": CLOSED,
    "Unable to read data from the transport connection": Means(condition="connection_closed", trust=WRAPPER),
    "The handshake failed due to an unexpected packet format": NOT_TLS,
    "Cannot determine the frame size or a corrupted frame was received": NOT_TLS,
    "The SSL connection could not be established, see inner exception": SECURE_CHANNEL_WRAPPER,
    "A call to SSPI failed, see inner exception": SECURE_CHANNEL_WRAPPER,
    "The remote name could not be resolved": NO_NAME,
    "The proxy name could not be resolved": PROXY_NO_NAME,
    "Unable to connect to the remote server": Means(errno="ECONNREFUSED", trust=WRAPPER),
    "The operation has timed out": Means(errno="ETIMEDOUT", trust=WRAPPER),
    "(407) Proxy Authentication Required": PROXY_AUTH,
    "The remote server returned an error: (407)": PROXY_AUTH,
    "Interop+AppleCrypto+SslException: bad protocol version": PROTOCOL,
    "The client certificate is required": CLIENT_CERT,
    # SQL Server's TLS (SqlClient, ODBC, sqlcmd): its certificate is self-signed unless an admin
    # installed one, so an untrusted chain there is first a self-signed server certificate. A clue
    # about the server, not the error: it yields to the error's own words ("The target principal
    # name is incorrect" in the same message is a name mismatch first).
    "provider: SSL Provider": SQL_SERVER_CERT,
    "ClientConnectionId:": SQL_SERVER_CERT,  # a SqlException's footer
    "SSL Provider:": SQL_SERVER_CERT,
}

LOCALISED: dict[str, dict[str, Means]] = {
    "zh-CN": {
        "未能创建 SSL/TLS 安全通道": SECURE_CHANNEL,
        "未能为 SSL/TLS 安全通道建立信任关系": REJECTED,
        "根据验证过程，远程证书无效": REJECTED,
        "根据验证过程,远程证书无效": REJECTED,
        "发送时发生错误": CLOSED,
        "接收时发生错误": CLOSED,
        "由于远程方已关闭传输流，身份验证失败": CLOSED,
        "无法建立 SSL 连接": SECURE_CHANNEL_WRAPPER,
        "未能解析此远程名称": NO_NAME,
        "无法连接到远程服务器": Means(errno="ECONNREFUSED", trust=WRAPPER),
        "操作超时": Means(errno="ETIMEDOUT", trust=WRAPPER),
        "要求代理身份验证": PROXY_AUTH,
        "SSL 提供程序": Means(verify=18),
    },
    "zh-TW": {
        "無法建立 SSL/TLS 的安全通道": SECURE_CHANNEL,
        "無法建立 SSL/TLS 安全通道": SECURE_CHANNEL,
        "無法為 SSL/TLS 安全通道建立信任關係": REJECTED,
        "根據驗證程序，遠端憑證無效": REJECTED,
        "傳送時發生未預期的錯誤": CLOSED,
        "根據驗證程序，遠端憑證是無效的": REJECTED,
        "接收時發生未預期的錯誤": CLOSED,
        "驗證失敗，因為遠端群體已經關閉傳輸資料流": CLOSED,
        "無法建立 SSL 連線": SECURE_CHANNEL_WRAPPER,
        "無法解析遠端名稱": NO_NAME,
        "無法連接至遠端伺服器": Means(errno="ECONNREFUSED", trust=WRAPPER),
        "作業逾時": Means(errno="ETIMEDOUT", trust=WRAPPER),
        "需要 Proxy 驗證": PROXY_AUTH,
    },
    "ja": {
        "SSL/TLS のセキュリティで保護されているチャネルを作成できませんでした": SECURE_CHANNEL,
        "SSL/TLS のセキュリティで保護されているチャネルに対する信頼関係を確立できませんでした": REJECTED,
        "検証プロシージャによると、リモート証明書は無効です": REJECTED,
        "送信時に、予期しないエラーが発生しました": CLOSED,
        "受信時に、予期しないエラーが発生しました": CLOSED,
        "リモート パーティがトランスポート ストリームを終了したため、認証に失敗しました": CLOSED,
        "SSL 接続を確立できませんでした": SECURE_CHANNEL_WRAPPER,
        "リモート名を解決できませんでした": NO_NAME,
        "リモート サーバーに接続できません": Means(errno="ECONNREFUSED", trust=WRAPPER),
        "操作はタイムアウトしました": Means(errno="ETIMEDOUT", trust=WRAPPER),
        "プロキシ認証が必要です": PROXY_AUTH,
        "SSL プロバイダー": Means(verify=18),
    },
    "ko": {
        "SSL/TLS 보안 채널을 만들 수 없습니다": SECURE_CHANNEL,
        "SSL/TLS 보안 채널에 대한 트러스트 관계를 설정할 수 없습니다": REJECTED,
        "유효성 검사 절차에 따르면 원격 인증서가 잘못되었습니다": REJECTED,
        "보내기에서 예기치 않은 오류가 발생했습니다": CLOSED,
        "받기에서 예기치 않은 오류가 발생했습니다": CLOSED,
        "원격 당사자가 전송 스트림을 닫았기 때문에 인증하지 못했습니다": CLOSED,
        "SSL 연결을 설정할 수 없습니다": SECURE_CHANNEL_WRAPPER,
        "원격 이름을 확인할 수 없습니다": NO_NAME,
        "원격 서버에 연결할 수 없습니다": Means(errno="ECONNREFUSED", trust=WRAPPER),
        "작업 시간을 초과했습니다": Means(errno="ETIMEDOUT", trust=WRAPPER),
        "프록시 인증이 필요합니다": PROXY_AUTH,
    },
    "de": {
        "Es konnte kein geschützter SSL/TLS-Kanal erstellt werden": SECURE_CHANNEL,
        "Für den geschützten SSL/TLS-Kanal konnte keine Vertrauensstellung hergestellt werden": REJECTED,
        "Das Remotezertifikat ist laut Validierungsverfahren ungültig": REJECTED,
        "Unerwarteter Fehler beim Senden": CLOSED,
        "Unerwarteter Fehler beim Empfangen": CLOSED,
        "da die Gegenseite den Transportstream geschlossen hat": CLOSED,
        "Die SSL-Verbindung konnte nicht hergestellt werden": SECURE_CHANNEL_WRAPPER,
        "Der Remotename konnte nicht aufgelöst werden": NO_NAME,
        "Es kann keine Verbindung mit dem Remoteserver hergestellt werden": Means(errno="ECONNREFUSED", trust=WRAPPER),
        "Zeitüberschreitung des Vorgangs": Means(errno="ETIMEDOUT", trust=WRAPPER),
        "Proxyauthentifizierung erforderlich": PROXY_AUTH,
        "SSL-Anbieter": Means(verify=18),
    },
    "fr": {
        "Impossible de créer un canal sécurisé SSL/TLS": SECURE_CHANNEL,
        "Impossible d'établir une relation de confiance pour le canal sécurisé SSL/TLS": REJECTED,
        "Le certificat distant n'est pas valide selon la procédure de validation": REJECTED,
        "Le certificat distant n’est pas valide selon la procédure de validation": REJECTED,
        "Une erreur inattendue s'est produite lors de l'envoi": CLOSED,
        "Une erreur inattendue s'est produite lors de la réception": CLOSED,
        "car la partie distante a fermé le flux de transport": CLOSED,
        "La connexion SSL n'a pas pu être établie": SECURE_CHANNEL_WRAPPER,
        "Le nom distant n'a pas pu être résolu": NO_NAME,
        "Impossible de se connecter au serveur distant": Means(errno="ECONNREFUSED", trust=WRAPPER),
        "L'opération a expiré": Means(errno="ETIMEDOUT", trust=WRAPPER),
        "Authentification proxy nécessaire": PROXY_AUTH,
        "Fournisseur SSL": Means(verify=18),
    },
    "es": {
        "No se puede crear un canal seguro SSL/TLS": SECURE_CHANNEL,
        "No se puede establecer una relación de confianza para el canal seguro SSL/TLS": REJECTED,
        "El certificado remoto no es válido según el procedimiento de validación": REJECTED,
        "Error inesperado en un envío": CLOSED,
        "Error inesperado en una recepción": CLOSED,
        "porque la otra parte ha cerrado la secuencia de transporte": CLOSED,
        "No se puede establecer la conexión SSL": SECURE_CHANNEL_WRAPPER,
        "No se puede resolver el nombre remoto": NO_NAME,
        "No es posible conectar con el servidor remoto": Means(errno="ECONNREFUSED", trust=WRAPPER),
        "Se excedió el tiempo de espera de la operación": Means(errno="ETIMEDOUT", trust=WRAPPER),
        "Se requiere autenticación del proxy": PROXY_AUTH,
    },
    "pt-BR": {
        "Não foi possível criar um canal seguro para SSL/TLS": SECURE_CHANNEL,
        "Não foi possível estabelecer relação de confiança para o canal seguro de SSL/TLS": REJECTED,
        "O certificado remoto é inválido de acordo com o procedimento de validação": REJECTED,
        "Erro inesperado em um envio": CLOSED,
        "Erro inesperado em um recebimento": CLOSED,
        "porque a parte remota fechou o fluxo de transporte": CLOSED,
        "Não foi possível estabelecer a conexão SSL": SECURE_CHANNEL_WRAPPER,
        "O nome remoto não pôde ser resolvido": NO_NAME,
        "Impossível conectar-se ao servidor remoto": Means(errno="ECONNREFUSED", trust=WRAPPER),
        "A operação expirou": Means(errno="ETIMEDOUT", trust=WRAPPER),
        "Autenticação de Proxy Necessária": PROXY_AUTH,
    },
    "ru": {
        "Не удалось создать защищенный канал SSL/TLS": SECURE_CHANNEL,
        "Не удалось установить доверительные отношения для защищенного канала SSL/TLS": REJECTED,
        "Удаленный сертификат недействителен согласно результатам проверки подлинности": REJECTED,
        "Непредвиденная ошибка при передаче": CLOSED,
        "Непредвиденная ошибка при приеме": CLOSED,
        "поскольку удаленная сторона закрыла транспортный поток": CLOSED,
        "Не удается установить SSL-подключение": SECURE_CHANNEL_WRAPPER,
        "Не удается разрешить удаленное имя": NO_NAME,
        "Невозможно разрешить удаленное имя": NO_NAME,
        "Невозможно соединиться с удаленным сервером": Means(errno="ECONNREFUSED", trust=WRAPPER),
        "Время ожидания операции истекло": Means(errno="ETIMEDOUT", trust=WRAPPER),
        "Требуется аутентификация посредством прокси-сервера": PROXY_AUTH,
    },
}

RECOGNISER = Recogniser(
    ecosystem="dotnet",
    title=".NET Framework and .NET (WebException, HttpRequestException, AuthenticationException, SocketException)",
    covers=".NET Framework 4.x HttpWebRequest/WebClient, .NET Core 3.1 and .NET 5–9 HttpClient/SslStream, "
           "X509ChainStatusFlags and SslPolicyErrors names, WebExceptionStatus names, messages in 10 languages",
    phrases=ENGLISH,
    names={**CHAIN_STATUS_FLAGS, **WEB_EXCEPTION_STATUS},
    patterns=(
        Pattern(re.compile(r"remote party sent a TLS alert: '(\w{3,60})'"), "sent a tls alert", read=alert_named, trust=1),
        # WebException's status in any language: "(407) Proxy Authentication Required", "(407) 需要代理身份验证"
        Pattern(re.compile(r"\((407)\)"), "(407)", read=lambda m: PROXY_AUTH),
        # .NET 5+: "The proxy tunnel request to proxy 'http://p:8080/' failed with status code '407'."
        Pattern(re.compile(r"proxy tunnel request to proxy '[^'\n]{0,300}' failed with status code '(\d{3})'"),
                "proxy tunnel request", read=lambda m: Means(connect_status=int(m[1]))),
    ),
    localised=LOCALISED,
    markers=("system.net.", "webexception", "httprequestexception", "authenticationexception", "socketexception",
             "system.security.authentication", "sslstream"),
    input_kind="dotnet",
)
