"""Duitku's signatures: lowercase hex digests of plain concatenations, no separators.

Source: ``shared/reference/duitku.md``, "Calls". MD5 is Duitku's choice, not ours; the key
makes it a keyed digest. Every signature a caller sends is compared in constant time.
Test vector (public sample credentials): merchant ``D0001``, key
``732B39FC61796845775D2C4FB05332AF``, a callback of ``amount="10000"`` for order
``"12345"`` is signed ``4104f20a70c933113c66c004fe25a9f1``.
"""

from __future__ import annotations

import hashlib
import hmac


def _md5(*parts: str) -> str:
    # Duitku's protocol fixes MD5; the secret key is one of the parts.
    return hashlib.md5("".join(parts).encode("utf-8"), usedforsecurity=False).hexdigest()


def inquiry_signature(merchant_code: str, merchant_order_id: str, amount: int, api_key: str) -> str:
    """Return the signature of a v2 inquiry: ``MD5(merchantCode + merchantOrderId +
    paymentAmount + apiKey)``, the amount in whole rupiah."""
    return _md5(merchant_code, merchant_order_id, str(amount), api_key)


def status_signature(merchant_code: str, merchant_order_id: str, api_key: str) -> str:
    """Return the signature of a transactionStatus call: ``MD5(merchantCode +
    merchantOrderId + apiKey)``."""
    return _md5(merchant_code, merchant_order_id, api_key)


def payment_methods_signature(
    merchant_code: str, amount: int, datetime_text: str, api_key: str
) -> str:
    """Return the signature of getpaymentmethod: ``SHA256(merchantcode + amount + datetime
    + apiKey)``, ``datetime_text`` as ``Y-m-d H:i:s``."""
    text = f"{merchant_code}{amount}{datetime_text}{api_key}"
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def callback_signature(
    merchant_code: str, raw_amount: str, merchant_order_id: str, api_key: str
) -> str:
    """Return the signature of a callback: ``MD5(merchantCode + amount + merchantOrderId +
    apiKey)`` over the strings exactly as received (the amount is not re-formatted)."""
    return _md5(merchant_code, raw_amount, merchant_order_id, api_key)


def signature_matches(expected: str, given: str) -> bool:
    """Return whether ``given`` is the hex digest ``expected``, compared in constant time
    (hex letters in either case)."""
    return hmac.compare_digest(expected.encode("ascii"), given.strip().lower().encode("utf-8"))
