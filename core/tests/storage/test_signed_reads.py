"""A plugin reads another folder's file only through a file URL this server signed."""

from __future__ import annotations

import pytest

from lumiku.errors import NotFound, ValidationFailed
from lumiku.storage.local import LocalStorage
from lumiku.storage.signing import UrlSigner

SIGNER = UrlSigner(b"s" * 32)


def test_a_signed_url_of_another_folder_is_readable(storage: LocalStorage) -> None:
    key = storage.scoped("avatar-creator").put(b"face", suffix=".png")
    poses = storage.scoped("pose-generator", signer=SIGNER)
    url = SIGNER.sign(key)

    assert poses.signed_key(url) == key
    assert poses.read_signed(url) == b"face"
    assert poses.read_signed(f"https://cdn.example.com{url}") == b"face"


@pytest.mark.parametrize(
    "mangle",
    [
        lambda url: url.replace("signature=", "signature=0"),
        lambda url: url.split("?")[0],
        lambda url: url.replace("/files/", "/other/"),
        lambda url: url.replace("expires=", "expires=1"),
        lambda url: url + "&expires=1",
        lambda url: "not a url at all",
        lambda url: "/files/../../etc/passwd?expires=1&signature=" + "0" * 64,
        lambda url: "http://[bad",
    ],
)
def test_a_url_that_is_not_a_valid_signed_one_is_422(storage: LocalStorage, mangle: object) -> None:
    key = storage.scoped("avatar-creator").put(b"face", suffix=".png")
    poses = storage.scoped("pose-generator", signer=SIGNER)
    with pytest.raises(ValidationFailed) as caught:
        poses.read_signed(mangle(SIGNER.sign(key)), field="avatarImageUrl")  # type: ignore[operator]
    assert "avatarImageUrl" in caught.value.details["fields"]


def test_an_expired_url_is_422(storage: LocalStorage) -> None:
    key = storage.scoped("avatar-creator").put(b"face", suffix=".png")
    poses = storage.scoped("pose-generator", signer=SIGNER)
    with pytest.raises(ValidationFailed):
        poses.read_signed(SIGNER.sign(key, expires_in=1, now=1000.0))


def test_a_deleted_file_is_not_found(storage: LocalStorage) -> None:
    creator = storage.scoped("avatar-creator")
    key = creator.put(b"face", suffix=".png")
    creator.delete(key)
    with pytest.raises(NotFound):
        storage.scoped("pose-generator", signer=SIGNER).read_signed(SIGNER.sign(key))
