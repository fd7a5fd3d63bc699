"""Person tokens: a keyed HMAC of the registry ID, so published data carries no raw ID."""

from __future__ import annotations

import hashlib
import hmac


def person_token(key: str, so_dinh_danh: str) -> str:
    return hmac.new(key.encode("utf-8"), so_dinh_danh.encode("utf-8"), hashlib.sha256).hexdigest()
