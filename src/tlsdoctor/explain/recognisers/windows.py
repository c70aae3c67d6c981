"""Windows: SSPI/schannel and CryptoAPI status codes, WinINet/WinHTTP errors, Winsock errors.

Every Windows TLS failure ends in a status code — by name (``SEC_E_UNTRUSTED_ROOT``), by
hex (``0x80090325``), as a signed HRESULT (``-2146893019``, what .NET prints as
``HResult``) — and its system message, which Windows translates into the user's language.
The codes are language-independent and always win (trust NUMERIC/NAME); the messages are
read in English and, for the dozen most common, in zh-CN, zh-TW, ja, ko, de, fr, es, pt-BR
and ru (from Windows' own message tables, as users paste them).

Sources: winerror.h (SEC_E_*, CRYPT_E_*, CERT_E_*, TRUST_E_*), wincrypt.h
(CERT_TRUST_* chain status bits), wininet.h and winhttp.h (12xxx), winsock2.h (100xx, 110xx),
the schannel event-log messages (event ids 36874–36888).
"""

from __future__ import annotations

import re

from tlsdoctor.explain.recognisers.base import (
    BAD_USAGE, CLIENT_CERT, CLOSED, DATE_INVALID, EXPIRED, HANDSHAKE_FAILED, NAME_MISMATCH, NO_NAME, PARTIAL_CHAIN,
    PROTOCOL, REFUSED, REJECTED, RESET, REVOCATION_UNKNOWN, REVOKED, SECURE_CHANNEL, TIMED_OUT, UNTRUSTED,
    VERSION_OR_CIPHER, CIPHER, Means, Pattern, Recogniser,
)
from tlsdoctor.explain.recognisers.openssl import alert_from_number

# (name, status code, meaning, the English system message) — winerror.h
STATUS_CODES: tuple[tuple[str, int, Means, str], ...] = (
    ("SEC_E_UNTRUSTED_ROOT", 0x80090325, UNTRUSTED, "The certificate chain was issued by an authority that is not trusted"),
    ("SEC_E_WRONG_PRINCIPAL", 0x80090322, NAME_MISMATCH, "The target principal name is incorrect"),
    ("SEC_E_CERT_EXPIRED", 0x80090328, EXPIRED, "The received certificate has expired"),
    ("SEC_E_CERT_UNKNOWN", 0x80090327, REJECTED, "An unknown error occurred while processing the certificate"),
    ("SEC_E_ILLEGAL_MESSAGE", 0x80090326, HANDSHAKE_FAILED, "The message received was unexpected or badly formatted"),
    ("SEC_E_ALGORITHM_MISMATCH", 0x80090331, VERSION_OR_CIPHER,
     "The client and server cannot communicate, because they do not possess a common algorithm"),
    ("SEC_E_UNSUPPORTED_FUNCTION", 0x80090302, PROTOCOL, "The function requested is not supported"),
    ("SEC_E_INTERNAL_ERROR", 0x80090304, SECURE_CHANNEL, "The Local Security Authority cannot be contacted"),
    ("SEC_E_INVALID_TOKEN", 0x80090308, HANDSHAKE_FAILED, "The token supplied to the function is invalid"),
    ("SEC_E_MESSAGE_ALTERED", 0x8009030F, HANDSHAKE_FAILED,
     "The message or signature supplied for verification has been altered"),
    ("SEC_E_DECRYPT_FAILURE", 0x80090330, HANDSHAKE_FAILED, "The specified data could not be decrypted"),
    ("SEC_E_CONTEXT_EXPIRED", 0x80090317, CLOSED, "The context has expired and can no longer be used"),
    ("SEC_E_INCOMPLETE_MESSAGE", 0x80090318, CLOSED, "The supplied message is incomplete"),
    ("SEC_E_NO_CREDENTIALS", 0x8009030E, CLIENT_CERT, "No credentials are available in the security package"),
    ("SEC_E_UNKNOWN_CREDENTIALS", 0x8009030D, CLIENT_CERT,
     "The credentials supplied to the package were not recognized"),
    ("SEC_I_INCOMPLETE_CREDENTIALS", 0x00090320, CLIENT_CERT, "The credentials supplied were not complete"),
    ("SEC_E_ISSUING_CA_UNTRUSTED", 0x80090352, UNTRUSTED,
     "An untrusted certificate authority was detected while processing the certificate"),
    ("SEC_E_CERT_WRONG_USAGE", 0x80090349, BAD_USAGE, "The certificate is not valid for the requested usage"),
    ("SEC_E_REVOCATION_OFFLINE_C", 0x80090343, REVOCATION_UNKNOWN,
     "The revocation status of the certificate used for authentication could not be determined"),
    ("CRYPT_E_REVOKED", 0x80092010, REVOKED, "The certificate is revoked"),
    ("CRYPT_E_NO_REVOCATION_CHECK", 0x80092012, REVOCATION_UNKNOWN,
     "The revocation function was unable to check revocation for the certificate"),
    ("CRYPT_E_REVOCATION_OFFLINE", 0x80092013, REVOCATION_UNKNOWN,
     "The revocation function was unable to check revocation because the revocation server was offline"),
    ("CERT_E_EXPIRED", 0x800B0101, DATE_INVALID, "A required certificate is not within its validity period"),
    ("CERT_E_VALIDITYPERIODNESTING", 0x800B0102, REJECTED,
     "The validity periods of the certification chain do not nest correctly"),
    ("CERT_E_ROLE", 0x800B0103, REJECTED, "A certificate that can only be used as an end-entity is being used as a CA"),
    ("CERT_E_PATHLENCONST", 0x800B0104, REJECTED, "A path length constraint in the certification chain has been violated"),
    ("CERT_E_CRITICAL", 0x800B0105, REJECTED, "A certificate contains an unknown extension that is marked 'critical'"),
    ("CERT_E_PURPOSE", 0x800B0106, BAD_USAGE, "A certificate being used for a purpose other than the ones specified"),
    ("CERT_E_ISSUERCHAINING", 0x800B0107, PARTIAL_CHAIN,
     "A parent of a given certificate in fact did not issue that child certificate"),
    ("CERT_E_MALFORMED", 0x800B0108, REJECTED, "A certificate is missing or has an empty value for an important field"),
    ("CERT_E_UNTRUSTEDROOT", 0x800B0109, UNTRUSTED,
     "A certificate chain processed, but terminated in a root certificate which is not trusted by the trust provider"),
    ("CERT_E_CHAINING", 0x800B010A, PARTIAL_CHAIN, "A certificate chain could not be built to a trusted root authority"),
    ("TRUST_E_FAIL", 0x800B010B, REJECTED, "Generic trust failure"),
    ("CERT_E_REVOKED", 0x800B010C, REVOKED, "A certificate was explicitly revoked by its issuer"),
    ("CERT_E_UNTRUSTEDTESTROOT", 0x800B010D, UNTRUSTED,
     "The certification path terminates with the test root which is not trusted"),
    ("CERT_E_REVOCATION_FAILURE", 0x800B010E, REVOCATION_UNKNOWN,
     "The revocation process could not continue - the certificate(s) could not be checked"),
    ("CERT_E_CN_NO_MATCH", 0x800B010F, NAME_MISMATCH, "The certificate's CN name does not match the passed value"),
    ("CERT_E_WRONG_USAGE", 0x800B0110, BAD_USAGE, "The certificate is not valid for the requested usage"),
    ("TRUST_E_EXPLICIT_DISTRUST", 0x800B0111, UNTRUSTED,
     "The certificate was explicitly marked as untrusted by the user"),
    ("CERT_E_UNTRUSTEDCA", 0x800B0112, UNTRUSTED,
     "A certification chain processed correctly, but one of the CA certificates is not trusted by the policy provider"),
    ("TRUST_E_CERT_SIGNATURE", 0x80096004, REJECTED, "The signature of the certificate cannot be verified"),
)

# CERT_TRUST_* chain status bits (wincrypt.h), as schannel-backed curl and CAPI2 logs print them.
CHAIN_STATUS: dict[str, Means] = {
    "CERT_TRUST_IS_UNTRUSTED_ROOT": UNTRUSTED,
    "CERT_TRUST_IS_PARTIAL_CHAIN": PARTIAL_CHAIN,
    "CERT_TRUST_IS_NOT_TIME_VALID": DATE_INVALID,
    "CERT_TRUST_IS_REVOKED": REVOKED,
    "CERT_TRUST_REVOCATION_STATUS_UNKNOWN": REVOCATION_UNKNOWN,
    "CERT_TRUST_IS_OFFLINE_REVOCATION": REVOCATION_UNKNOWN,
    "CERT_TRUST_IS_NOT_VALID_FOR_USAGE": BAD_USAGE,
    "CERT_TRUST_IS_NOT_SIGNATURE_VALID": REJECTED,
    "CERT_TRUST_IS_EXPLICIT_DISTRUST": UNTRUSTED,
}

# WinINet / WinHTTP (wininet.h, winhttp.h) and Winsock (winsock2.h) names.
WININET: dict[str, Means] = {
    "ERROR_INTERNET_INVALID_CA": UNTRUSTED, "ERROR_WINHTTP_SECURE_INVALID_CA": UNTRUSTED,
    "ERROR_INTERNET_SEC_CERT_DATE_INVALID": DATE_INVALID, "ERROR_WINHTTP_SECURE_CERT_DATE_INVALID": DATE_INVALID,
    "ERROR_INTERNET_SEC_CERT_CN_INVALID": NAME_MISMATCH, "ERROR_WINHTTP_SECURE_CERT_CN_INVALID": NAME_MISMATCH,
    "ERROR_INTERNET_SEC_CERT_REVOKED": REVOKED, "ERROR_WINHTTP_SECURE_CERT_REVOKED": REVOKED,
    "ERROR_INTERNET_SEC_CERT_NO_REV": REVOCATION_UNKNOWN, "ERROR_INTERNET_SEC_CERT_REV_FAILED": REVOCATION_UNKNOWN,
    "ERROR_WINHTTP_SECURE_CERT_REV_FAILED": REVOCATION_UNKNOWN,
    "ERROR_INTERNET_SECURITY_CHANNEL_ERROR": SECURE_CHANNEL, "ERROR_WINHTTP_SECURE_CHANNEL_ERROR": SECURE_CHANNEL,
    "ERROR_WINHTTP_SECURE_FAILURE": REJECTED, "ERROR_INTERNET_SEC_INVALID_CERT": REJECTED,
    "ERROR_WINHTTP_SECURE_CERT_WRONG_USAGE": BAD_USAGE,
    "ERROR_WINHTTP_CLIENT_AUTH_CERT_NEEDED": CLIENT_CERT, "ERROR_INTERNET_CLIENT_AUTH_CERT_NEEDED": CLIENT_CERT,
    "ERROR_WINHTTP_TIMEOUT": TIMED_OUT, "ERROR_INTERNET_TIMEOUT": TIMED_OUT,
    "ERROR_WINHTTP_NAME_NOT_RESOLVED": NO_NAME, "ERROR_INTERNET_NAME_NOT_RESOLVED": NO_NAME,
    "ERROR_WINHTTP_CANNOT_CONNECT": REFUSED, "ERROR_INTERNET_CANNOT_CONNECT": REFUSED,
    "ERROR_WINHTTP_CONNECTION_ERROR": RESET, "ERROR_INTERNET_CONNECTION_RESET": RESET,
    "WSAECONNRESET": CLOSED,
    # WinINet/WinHTTP errors as HRESULTs (Windows Update, Store, BITS print these)
    "0x80072f8f": DATE_INVALID,  # ERROR_INTERNET_SECURE_FAILURE: on desktops famously a wrong clock
    "0x80072f7d": SECURE_CHANNEL,  # ERROR_INTERNET_SECURITY_CHANNEL_ERROR
    "0x80072f0d": UNTRUSTED,  # ERROR_INTERNET_INVALID_CA
    "0x80072f05": DATE_INVALID,  # ERROR_INTERNET_SEC_CERT_DATE_INVALID
    "0x80072f06": NAME_MISMATCH,  # ERROR_INTERNET_SEC_CERT_CN_INVALID "WSAECONNREFUSED": REFUSED, "WSAETIMEDOUT": TIMED_OUT, "WSAHOST_NOT_FOUND": NO_NAME,
    "WSATRY_AGAIN": NO_NAME,
}

# The English system messages of the Winsock errors users meet (the SocketException texts).
# A reset that ends a TLS exchange is, in the field, the peer or a middlebox dropping the
# handshake (an old server refusing the client's TLS version): connection_closed, not tcp.reset.
SOCKET_MESSAGES: dict[str, Means] = {
    "An existing connection was forcibly closed by the remote host": CLOSED,
    "No connection could be made because the target machine actively refused it": REFUSED,
    "A connection attempt failed because the connected party did not properly respond after a period of time": TIMED_OUT,
    "No such host is known": NO_NAME,
    "This is usually a temporary error during hostname resolution": NO_NAME,
}

# schannel's event-log messages (System log, source Schannel).
EVENT_MESSAGES: dict[str, Means] = {
    "The certificate received from the remote server was issued by an untrusted certificate authority": UNTRUSTED,
    "The certificate received from the remote server has either expired or is not yet valid": DATE_INVALID,
    "The certificate received from the remote server does not contain the expected name": NAME_MISMATCH,
    "The remote server has requested TLS client authentication, but no suitable client certificate could be found":
        CLIENT_CERT,
    "none of the cipher suites supported by the client application are supported by the server": CIPHER,
    # Event 36871: schannel cannot build client credentials (TLS 1.0/1.1 disabled, FIPS policy, no suites).
    "A fatal error occurred while creating a TLS client credential": VERSION_OR_CIPHER,
    "A fatal error occurred while creating an SSL client credential": VERSION_OR_CIPHER,
    "The client and server cannot communicate, because they do not possess a common algorithm": VERSION_OR_CIPHER,
}


def _hex_forms(value: int) -> tuple[str, ...]:
    """0x80090325, 80090325 (either case), and the signed HRESULT -2146893019 .NET prints."""
    signed = value - (1 << 32) if value & 0x80000000 else value
    return (f"0x{value:08x}", f"{value:08X}", f"{value:08x}", str(signed))


def _schannel_alert(match: re.Match[str]) -> Means | None:
    alert = alert_from_number(int(match[1]))
    return Means(alert=int(alert)) if alert is not None else None


# The dozen most common messages in the languages Windows ships, by what they mean. The hex
# code, when the paste has it, always wins over these (trust LOCALISED < NUMERIC).
LOCALISED: dict[str, dict[str, Means]] = {
    "zh-CN": {
        "证书链是由不受信任的颁发机构颁发的": UNTRUSTED,
        "已处理证书链，但是在不受信任提供程序信任的根证书中终止": UNTRUSTED,
        "目标主体名称不正确": NAME_MISMATCH,
        "接收到的证书已过期": EXPIRED,
        "客户端和服务器无法通信，因为它们没有通用的算法": VERSION_OR_CIPHER,
        "接收到的消息异常，或格式不正确": HANDSHAKE_FAILED,
        "不支持请求的功能": PROTOCOL,
        "吊销功能无法检查证书是否吊销": REVOCATION_UNKNOWN,
        "吊销功能无法检查吊销，因为吊销服务器已脱机": REVOCATION_UNKNOWN,
        "远程主机强迫关闭了一个现有的连接": CLOSED,
        "由于目标计算机积极拒绝，无法连接": REFUSED,
        "由于连接方在一段时间后没有正确答复或连接的主机没有反应，连接尝试失败": TIMED_OUT,
        "不知道这样的主机": NO_NAME,
    },
    "zh-TW": {
        "憑證鏈結是由不受信任的授權單位發行的": UNTRUSTED,
        "憑證鏈結是由不受信任的授權單位發出的": UNTRUSTED,
        "目標主體名稱不正確": NAME_MISMATCH,
        "收到的憑證已經過期": EXPIRED,
        "用戶端和伺服器無法通訊，因為它們沒有共同的演算法": VERSION_OR_CIPHER,
        "收到的訊息是未預期的或格式錯誤": HANDSHAKE_FAILED,
        "不支援所要求的功能": PROTOCOL,
        "撤銷函數無法檢查憑證的撤銷": REVOCATION_UNKNOWN,
        "現有的連線已被遠端主機強制關閉": CLOSED,
        "遠端主機已強制關閉一個現有連線": CLOSED,
        "無法連線，因為目標電腦拒絕連線": REFUSED,
        "連線嘗試失敗，因為連線對象有一段時間並未正確回應": TIMED_OUT,
        "沒有此主機": NO_NAME,
        "不知道這樣的主機": NO_NAME,
    },
    "ja": {
        "信頼されていない機関によって証明書チェーンが発行されました": UNTRUSTED,
        "ターゲット プリンシパル名が正しくありません": NAME_MISMATCH,
        "受信した証明書の有効期限が切れています": EXPIRED,
        "クライアントとサーバーは通信できません。これらは共通のアルゴリズムを持っていません": VERSION_OR_CIPHER,
        "受信したメッセージは予期しないものか、または正しくフォーマットされていません": HANDSHAKE_FAILED,
        "要求された機能はサポートされていません": PROTOCOL,
        "失効の関数は証明書の失効を確認できませんでした": REVOCATION_UNKNOWN,
        "既存の接続はリモート ホストに強制的に切断されました": CLOSED,
        "対象のプリンシパル名が正しくありません": NAME_MISMATCH,
        "対象のコンピューターによって拒否されたため、接続できませんでした": REFUSED,
        "接続済みの呼び出し先が一定の時間を過ぎても正しく応答しなかったため、接続できませんでした": TIMED_OUT,
        "そのようなホストは不明です": NO_NAME,
    },
    "ko": {
        "신뢰되지 않은 기관에서 인증서 체인을 발급했습니다": UNTRUSTED,
        "대상 보안 주체 이름이 잘못되었습니다": NAME_MISMATCH,
        "받은 인증서가 만료되었습니다": EXPIRED,
        "클라이언트와 서버가 공통 알고리즘을 가지고 있지 않기 때문에 통신할 수 없습니다": VERSION_OR_CIPHER,
        "받은 메시지가 예기치 않거나 형식이 잘못되었습니다": HANDSHAKE_FAILED,
        "요청한 기능이 지원되지 않습니다": PROTOCOL,
        "해지 기능이 인증서에 대한 해지를 확인할 수 없습니다": REVOCATION_UNKNOWN,
        "현재 연결은 원격 호스트에 의해 강제로 끊겼습니다": CLOSED,
        "신뢰할 수 없는 기관에서 인증서 체인을 발급했습니다": UNTRUSTED,
        "대상 컴퓨터에서 연결을 거부했으므로 연결하지 못했습니다": REFUSED,
        "연결된 구성원으로부터 응답이 없어 연결하지 못했거나": TIMED_OUT,
        "알려진 호스트가 없습니다": NO_NAME,
    },
    "de": {
        "Die Zertifikatkette wurde von einer nicht vertrauenswürdigen Zertifizierungsstelle ausgestellt": UNTRUSTED,
        "Der Zielprinzipalname ist falsch": NAME_MISMATCH,
        "Das empfangene Zertifikat ist abgelaufen": EXPIRED,
        "Der Client und der Server können nicht kommunizieren, da sie keinen gemeinsamen Algorithmus haben":
            VERSION_OR_CIPHER,
        "Die empfangene Nachricht war unerwartet oder wurde falsch formatiert": HANDSHAKE_FAILED,
        "Die angeforderte Funktion wird nicht unterstützt": PROTOCOL,
        "Die Sperrfunktion konnte die Sperrung für das Zertifikat nicht überprüfen": REVOCATION_UNKNOWN,
        "Eine vorhandene Verbindung wurde vom Remotehost geschlossen": CLOSED,
        "Es konnte keine Verbindung hergestellt werden, da der Zielcomputer die Verbindung verweigerte": REFUSED,
        "Ein Verbindungsversuch ist fehlgeschlagen, da die Gegenstelle nach einer bestimmten Zeitspanne nicht richtig "
        "reagiert hat": TIMED_OUT,
        "Der angegebene Host ist unbekannt": NO_NAME,
    },
    "fr": {
        "La chaîne de certificats a été émise par une autorité qui n’est pas approuvée": UNTRUSTED,
        "La chaîne de certificats a été émise par une autorité qui n'est pas approuvée": UNTRUSTED,
        "Le nom principal de la cible est incorrect": NAME_MISMATCH,
        "Le certificat reçu a expiré": EXPIRED,
        "Le client et le serveur ne peuvent pas communiquer car ils ne possèdent pas d'algorithme commun":
            VERSION_OR_CIPHER,
        "Le message reçu était inattendu ou formaté de façon incorrecte": HANDSHAKE_FAILED,
        "La fonction demandée n’est pas prise en charge": PROTOCOL,
        "La fonction demandée n'est pas prise en charge": PROTOCOL,
        "La fonction de révocation n’a pas pu vérifier la révocation du certificat": REVOCATION_UNKNOWN,
        "Une connexion existante a dû être fermée par l’hôte distant": CLOSED,
        "Une connexion existante a dû être fermée par l'hôte distant": CLOSED,
        "La chaîne de certificats a été fournie par une autorité qui n’est pas approuvée": UNTRUSTED,
        "La chaîne de certificats a été fournie par une autorité qui n'est pas approuvée": UNTRUSTED,
        "Aucune connexion n’a pu être établie car l’ordinateur cible l’a expressément refusée": REFUSED,
        "Aucune connexion n'a pu être établie car l'ordinateur cible l'a expressément refusée": REFUSED,
        "Une tentative de connexion a échoué car le parti connecté n’a pas répondu convenablement": TIMED_OUT,
        "Hôte inconnu": NO_NAME,
    },
    "es": {
        "La cadena de certificación fue emitida por una entidad en la que no se confía": UNTRUSTED,
        "El nombre de entidad de seguridad de destino es incorrecto": NAME_MISMATCH,
        "El certificado recibido ha expirado": EXPIRED,
        "El cliente y el servidor no pueden comunicarse porque no poseen un algoritmo común": VERSION_OR_CIPHER,
        "El mensaje recibido no se esperaba o su formato es incorrecto": HANDSHAKE_FAILED,
        "No se admite la función solicitada": PROTOCOL,
        "La función de revocación no puede comprobar la revocación para el certificado": REVOCATION_UNKNOWN,
        "Se ha forzado la interrupción de una conexión existente por el host remoto": CLOSED,
        "No se puede establecer una conexión ya que el equipo de destino denegó expresamente dicha conexión": REFUSED,
        "Se produjo un error durante el intento de conexión ya que la parte conectada no respondió adecuadamente":
            TIMED_OUT,
        "No se conoce ese host": NO_NAME,
    },
    "pt-BR": {
        "A cadeia de certificação foi emitida por uma autoridade que não é de confiança": UNTRUSTED,
        "O nome da entidade de destino está incorreto": NAME_MISMATCH,
        "O certificado recebido expirou": EXPIRED,
        "O cliente e o servidor não podem se comunicar porque não possuem um algoritmo comum": VERSION_OR_CIPHER,
        "A mensagem recebida era inesperada ou estava mal formatada": HANDSHAKE_FAILED,
        "Não há suporte para a função solicitada": PROTOCOL,
        "A função de revogação não pôde verificar a revogação do certificado": REVOCATION_UNKNOWN,
        "Foi forçado o cancelamento de uma conexão existente pelo host remoto": CLOSED,
        "Nenhuma conexão pôde ser feita porque a máquina de destino as recusou ativamente": REFUSED,
        "Uma tentativa de conexão falhou porque o componente conectado não respondeu": TIMED_OUT,
        "Host desconhecido": NO_NAME,
    },
    "ru": {
        "Цепочка сертификатов выпущена центром сертификации, не имеющим доверия": UNTRUSTED,
        "Неверное имя участника-получателя": NAME_MISMATCH,
        "Срок действия полученного сертификата истек": EXPIRED,
        "Клиент и сервер не могут обмениваться данными, поскольку у них нет общего алгоритма": VERSION_OR_CIPHER,
        "Полученное сообщение неожиданно или имеет неправильный формат": HANDSHAKE_FAILED,
        "Запрошенная функция не поддерживается": PROTOCOL,
        "Функция отзыва не смогла произвести проверку отзыва для сертификата": REVOCATION_UNKNOWN,
        "Удаленный хост принудительно разорвал существующее подключение": CLOSED,
        "Подключение не установлено, т.к. конечный компьютер отверг запрос на подключение": REFUSED,
        "Попытка установить соединение была безуспешной": TIMED_OUT,
        "Этот хост неизвестен": NO_NAME,
    },
}

RECOGNISER = Recogniser(
    ecosystem="windows",
    title="Windows SSPI/schannel, CryptoAPI, WinINet/WinHTTP and Winsock",
    covers="SEC_E_*, SEC_I_*, CRYPT_E_*, CERT_E_*, TRUST_E_* by name, hex and signed HRESULT; CERT_TRUST_* chain "
           "status; WinINet/WinHTTP 12xxx names; Winsock errors; schannel event-log messages; system messages in "
           "10 languages",
    phrases={
        **{message: meaning for _name, _value, meaning, message in STATUS_CODES},
        **SOCKET_MESSAGES,
        **EVENT_MESSAGES,
    },
    names={
        **{name: meaning for name, _value, meaning, _message in STATUS_CODES},
        **{form: meaning for _name, value, meaning, _message in STATUS_CODES for form in _hex_forms(value)},
        **CHAIN_STATUS,
        **WININET,
    },
    patterns=(
        # Event 36887: "A fatal alert was received from the remote endpoint. The TLS protocol defined fatal alert
        # code is 40."
        Pattern(re.compile(r"fatal alert code is (\d{1,3})", re.IGNORECASE), "fatal alert code is",
                read=_schannel_alert, trust=1),
        # The same event as XML (Event Viewer's "Details", wevtutil): <Data Name="AlertDesc">40</Data>
        Pattern(re.compile(r"Name=\"AlertDesc\">(\d{1,3})<"), "alertdesc", read=_schannel_alert, trust=1),
    ),
    localised=LOCALISED,
    markers=("schannel", "sspi", "sec_e_", "0x8009", "0x800b", "winerror", "wsae"),
    input_kind="windows",
)
