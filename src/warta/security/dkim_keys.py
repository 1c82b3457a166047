"""DKIM key pairs: RSA 2048 made with ``cryptography`` (what Gmail and Yahoo expect; 1024
is the floor RFC 8301 allows, and larger keys overflow some DNS consoles).

The private key travels as PEM (PKCS#1, the form ``dkimpy`` reads) and is sealed with the
keyring before it is stored; the public key as the base64 DER SubjectPublicKeyInfo that a
DNS record's ``p=`` tag carries.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048


@dataclass(frozen=True, slots=True)
class DkimKeyPair:
    private_pem: bytes = field(repr=False)
    public_key: str  # base64 DER, for ``p=``


def new_key_pair(bits: int = KEY_BITS) -> DkimKeyPair:
    key = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    private_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.TraditionalOpenSSL,
        serialization.NoEncryption(),
    )
    der = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return DkimKeyPair(private_pem=private_pem, public_key=base64.b64encode(der).decode("ascii"))
