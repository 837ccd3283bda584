"""The upload check accepts only whole JPEG/PNG/WebP images and stores a fresh encode of them.

Polyglot decision: a valid image with a payload appended (ZIP, HTML) or hidden in its
metadata (PNG text chunks, JPEG comments, EXIF) is *accepted*, because the image itself is
fine and phones and editors append data too; what is stored is a re-encode of the decoded
pixels, so the payload never reaches the disk or a browser.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image, ImageCms, PngImagePlugin

from lumiku.errors import PayloadTooLarge, UnsupportedMedia, ValidationFailed
from lumiku.storage.errors import CorruptImage
from lumiku.storage.images import CheckedImage, check_image, make_thumbnail
from lumiku.storage.local import LocalStorage, ScopedStorage

HTML = b"<html><script>alert(document.cookie)</script></html>"


def encode(image: Image.Image, image_format: str, **options: object) -> bytes:
    """Return ``image`` encoded as ``image_format``."""
    buffer = io.BytesIO()
    image.save(buffer, format=image_format, **options)
    return buffer.getvalue()


def gradient(width: int = 512, height: int = 384, mode: str = "RGB") -> Image.Image:
    """Return an image with detail everywhere, so a truncated encode really loses data."""
    image = Image.linear_gradient("L").resize((width, height))
    if mode == "L":
        return image
    bands = (image, image.transpose(Image.Transpose.FLIP_LEFT_RIGHT), image.rotate(90))
    rgb = Image.merge("RGB", bands)
    if mode == "RGBA":
        rgb.putalpha(image)
    return rgb if mode in {"RGB", "RGBA"} else rgb.convert(mode)


def halve(data: bytes) -> bytes:
    """Return the first half of ``data``, as an interrupted upload would leave it."""
    return data[: len(data) // 2]


def png_chunk(kind: bytes, payload: bytes) -> bytes:
    """Return one PNG chunk with its CRC."""
    return (
        struct.pack(">I", len(payload))
        + kind
        + payload
        + struct.pack(">I", zlib.crc32(kind + payload))
    )


def png_bomb(width: int, height: int) -> bytes:
    """Return a tiny PNG whose header declares ``width`` x ``height`` pixels."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    pixels = zlib.compress(b"\x00" * 1024, 9)
    return (
        b"\x89PNG\r\n\x1a\n"
        + png_chunk(b"IHDR", header)
        + png_chunk(b"IDAT", pixels)
        + png_chunk(b"IEND", b"")
    )


def zip_payload() -> bytes:
    """Return a ZIP archive holding an HTML page, as found in polyglot uploads."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("index.html", HTML)
    return buffer.getvalue()


def store_upload(scoped: ScopedStorage, data: bytes) -> str:
    """Check an upload and store its normalized bytes, as the plugins do."""
    checked = check_image(data)
    return scoped.put(checked.data, suffix=checked.suffix)


@pytest.fixture
def storage(local_storage: LocalStorage) -> LocalStorage:
    """Return the local storage only: image checks, on the disk."""
    return local_storage


@pytest.fixture
def avatars(storage: LocalStorage) -> ScopedStorage:
    """Return the avatar creator's folder."""
    return storage.scoped("avatar-creator")


@pytest.mark.parametrize(
    ("image_format", "suffix", "content_type"),
    [("JPEG", ".jpg", "image/jpeg"), ("PNG", ".png", "image/png"), ("WEBP", ".webp", "image/webp")],
)
def test_accepted_formats_are_re_encoded_in_their_own_format(
    image_format: str, suffix: str, content_type: str
) -> None:
    original = encode(gradient(), image_format)

    checked = check_image(original)

    assert (checked.format, checked.suffix, checked.content_type) == (
        image_format,
        suffix,
        content_type,
    )
    assert (checked.width, checked.height) == (512, 384)
    with Image.open(io.BytesIO(checked.data)) as stored:
        assert stored.format == image_format
        assert stored.size == (512, 384)


def test_stored_bytes_are_the_re_encoded_ones(avatars: ScopedStorage) -> None:
    original = encode(gradient(), "PNG", compress_level=1)

    key = store_upload(avatars, original)

    assert key.endswith(".png")
    assert avatars.read(key) == check_image(original).data
    assert avatars.read(key) != original


# name: (how to make the upload, the error it must raise, part of the error's message)
BAD_UPLOADS: dict[str, tuple[Callable[[], bytes], type[Exception], str]] = {
    "text-named-png": (
        lambda: b"just some text, named avatar.png",
        UnsupportedMedia,
        "by its content",
    ),
    "empty": (lambda: b"", UnsupportedMedia, "JPEG, PNG or WebP"),
    "html": (lambda: HTML, UnsupportedMedia, "JPEG, PNG or WebP"),
    "svg": (lambda: b"<svg xmlns='http://www.w3.org/2000/svg'/>", UnsupportedMedia, "WebP"),
    "zip": (zip_payload, UnsupportedMedia, "WebP"),
    "gif": (lambda: encode(gradient(), "GIF"), UnsupportedMedia, "WebP"),
    "bmp": (lambda: encode(gradient(), "BMP"), UnsupportedMedia, "WebP"),
    "tiff": (lambda: encode(gradient(), "TIFF"), UnsupportedMedia, "WebP"),
    "ppm": (lambda: encode(gradient(mode="L"), "PPM"), UnsupportedMedia, "WebP"),
    "11MB": (
        lambda: encode(gradient(), "PNG") + b"\x00" * (11 * 1024 * 1024),
        PayloadTooLarge,
        "limit is 10485760 bytes",
    ),
    "100x100": (lambda: encode(gradient(100, 100), "PNG"), ValidationFailed, "100x100"),
    "too-narrow": (lambda: encode(gradient(255, 600), "PNG"), ValidationFailed, "255x600"),
    "5000x5000": (
        lambda: encode(Image.new("L", (5000, 5000)), "PNG"),
        ValidationFailed,
        "5000x5000",
    ),
    "truncated-jpeg": (lambda: halve(encode(gradient(), "JPEG")), CorruptImage, "truncated"),
    "truncated-png": (lambda: encode(gradient(), "PNG")[:-200], CorruptImage, "truncated"),
    "truncated-webp": (lambda: halve(encode(gradient(), "WEBP")), CorruptImage, "incomplete"),
    "bomb-over-pillow-limit": (
        lambda: png_bomb(100_000, 100_000),
        ValidationFailed,
        "decompression bomb",
    ),
    "bomb-under-pillow-limit": (lambda: png_bomb(9_000, 9_000), ValidationFailed, "9000x9000"),
}


@pytest.mark.parametrize("name", BAD_UPLOADS)
def test_bad_uploads_are_rejected_and_nothing_is_stored(
    avatars: ScopedStorage, storage: LocalStorage, name: str
) -> None:
    make, error, message = BAD_UPLOADS[name]

    with pytest.raises(error, match=message):
        store_upload(avatars, make())

    assert [path for path in storage.root.rglob("*") if path.is_file()] == []


def test_size_errors_carry_the_sizes() -> None:
    with pytest.raises(ValidationFailed) as caught:
        check_image(encode(gradient(100, 300), "PNG"))

    assert caught.value.details == {"width": 100, "height": 300, "minSide": 256, "maxSide": 4096}


def test_limits_can_be_tightened_per_call() -> None:
    data = encode(gradient(), "PNG")

    with pytest.raises(PayloadTooLarge):
        check_image(data, max_bytes=len(data) - 1)
    with pytest.raises(ValidationFailed, match="between 16 and 500"):
        check_image(data, min_side=16, max_side=500)
    assert check_image(encode(gradient(32, 32), "PNG"), min_side=16).width == 32


def test_the_bomb_guard_does_not_rely_on_pillows_global_limit(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)

    with pytest.raises(ValidationFailed, match="60000x60000"):
        check_image(png_bomb(60_000, 60_000))


def test_the_header_is_checked_before_any_pixel_is_decoded(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def refuse_to_decode(self: Image.Image) -> None:
        raise AssertionError("decoded pixels of an image whose header is over the limit")

    monkeypatch.setattr(PngImagePlugin.PngImageFile, "load", refuse_to_decode)

    with pytest.raises(ValidationFailed, match="8000x300"):
        check_image(png_bomb(8_000, 300))


@pytest.mark.parametrize(
    "payload", [zip_payload(), HTML, zip_payload() + HTML], ids=["zip", "html", "zip+html"]
)
def test_a_polyglot_png_is_stored_only_as_a_clean_re_encode(
    avatars: ScopedStorage, payload: bytes
) -> None:
    picture = gradient()
    polyglot = encode(picture, "PNG") + payload
    assert zipfile.is_zipfile(io.BytesIO(polyglot)) == payload.startswith(b"PK")

    stored = avatars.read(store_upload(avatars, polyglot))

    assert not zipfile.is_zipfile(io.BytesIO(stored))
    assert b"PK\x03\x04" not in stored
    assert b"<script" not in stored
    with Image.open(io.BytesIO(stored)) as image:
        assert image.tobytes() == picture.tobytes()  # PNG is lossless: same pixels, no payload


def test_a_polyglot_jpeg_loses_its_payload() -> None:
    checked = check_image(encode(gradient(), "JPEG") + HTML + zip_payload())

    assert b"<script" not in checked.data
    assert b"PK\x03\x04" not in checked.data


def test_metadata_is_stripped() -> None:
    text = PngImagePlugin.PngInfo()
    text.add_text("Comment", HTML.decode())
    exif = Image.Exif()
    exif[0x010F] = "Camera maker with GPS"
    srgb = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    png = encode(gradient(), "PNG", pnginfo=text, exif=exif, icc_profile=srgb)
    jpeg = encode(gradient(), "JPEG", comment=HTML, exif=exif, icc_profile=srgb)
    webp = encode(gradient(), "WEBP", exif=exif, icc_profile=srgb)

    for original in (png, jpeg, webp):
        checked = check_image(original)
        assert b"<script" not in checked.data
        assert b"Camera maker" not in checked.data
        with Image.open(io.BytesIO(checked.data)) as image:
            assert "icc_profile" not in image.info
            assert "exif" not in image.info
            assert not image.getexif()


def test_exif_orientation_is_applied() -> None:
    # Stored sideways: left half red, right half blue; orientation 6 means "rotate 90° CW".
    picture = Image.new("RGB", (300, 400), (255, 0, 0))
    picture.paste((0, 0, 255), (150, 0, 300, 400))
    exif = Image.Exif()
    exif[0x0112] = 6

    checked = check_image(encode(picture, "JPEG", exif=exif))

    assert (checked.width, checked.height) == (400, 300)
    with Image.open(io.BytesIO(checked.data)) as image:
        top = image.convert("RGB").getpixel((200, 40))
        bottom = image.convert("RGB").getpixel((200, 260))
        assert top == pytest.approx((255, 0, 0), abs=40)
        assert bottom == pytest.approx((0, 0, 255), abs=40)
        assert 0x0112 not in image.getexif()


BROKEN_EXIF = b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff"


def test_a_malformed_exif_block_is_a_warning_not_a_rejection() -> None:
    jpeg = encode(gradient(), "JPEG", exif=BROKEN_EXIF)

    with pytest.warns(UserWarning, match="Corrupt EXIF"):
        checked = check_image(jpeg)

    assert checked.format == "JPEG"
    with Image.open(io.BytesIO(checked.data)) as image:
        assert not image.getexif()


@pytest.mark.filterwarnings("error")
def test_where_warnings_are_errors_a_damaged_file_is_refused_not_a_crash() -> None:
    with pytest.raises(CorruptImage, match="the file is damaged"):
        check_image(encode(gradient(), "JPEG", exif=BROKEN_EXIF))


@pytest.mark.parametrize(
    ("mode", "image_format", "stored_mode"),
    [
        ("RGBA", "PNG", "RGBA"),
        ("RGBA", "WEBP", "RGBA"),
        ("L", "PNG", "L"),
        ("L", "JPEG", "L"),
        ("CMYK", "JPEG", "RGB"),
        ("LA", "PNG", "LA"),
    ],
)
def test_modes_are_kept_or_converted_to_what_the_encoder_keeps(
    mode: str, image_format: str, stored_mode: str
) -> None:
    checked = check_image(encode(gradient(mode=mode), image_format))

    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.mode == stored_mode


def test_a_palette_png_keeps_its_transparency() -> None:
    picture = gradient(mode="RGB").quantize(16)
    picture.info["transparency"] = 0

    checked = check_image(encode(picture, "PNG", transparency=0))

    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.mode == "RGBA"
        assert image.getchannel("A").getextrema()[0] == 0


@pytest.mark.parametrize("image_format", ["JPEG", "WEBP"])
def test_thumbnail_fits_in_max_side(image_format: str) -> None:
    checked = check_image(encode(gradient(1024, 512), "PNG"))

    thumbnail = make_thumbnail(checked, image_format=image_format)  # type: ignore[arg-type]

    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.format == image_format
        assert image.size == (256, 128)


def test_thumbnail_of_a_checked_image_does_not_decode_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    checked = check_image(encode(gradient(), "JPEG"))

    def refuse_to_open(*args: object, **kwargs: object) -> None:
        raise AssertionError("decoded the upload a second time")

    monkeypatch.setattr(Image, "open", refuse_to_open)

    assert make_thumbnail(checked, max_side=64)[:3] == b"\xff\xd8\xff"


def test_thumbnail_from_bytes_is_oriented_and_never_upscaled() -> None:
    exif = Image.Exif()
    exif[0x0112] = 6
    jpeg = encode(gradient(300, 200), "JPEG", exif=exif)

    with Image.open(io.BytesIO(make_thumbnail(jpeg, max_side=1000))) as image:
        assert image.size == (200, 300)


def test_thumbnail_of_a_transparent_image_as_jpeg_is_flattened_on_white() -> None:
    picture = Image.new("RGBA", (400, 400), (0, 0, 0, 0))

    thumbnail = make_thumbnail(check_image(encode(picture, "PNG")), max_side=32)

    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.mode == "RGB"
        assert min(image.getpixel((16, 16))) > 245  # type: ignore[arg-type]


def test_thumbnail_of_a_transparent_image_as_webp_keeps_alpha() -> None:
    picture = gradient(mode="RGBA")

    thumbnail = make_thumbnail(check_image(encode(picture, "PNG")), image_format="WEBP")

    with Image.open(io.BytesIO(thumbnail)) as image:
        assert image.mode == "RGBA"


def test_thumbnail_from_bytes_gets_the_content_checks() -> None:
    with pytest.raises(UnsupportedMedia):
        make_thumbnail(HTML)
    with pytest.raises(ValidationFailed):
        make_thumbnail(png_bomb(100_000, 100_000))


def test_checked_image_repr_does_not_dump_bytes(tmp_path: Path) -> None:
    checked = check_image(encode(gradient(), "PNG"))

    assert repr(checked) == "CheckedImage(format='PNG', width=512, height=384)"
    assert isinstance(checked, CheckedImage)


def test_a_16_bit_greyscale_thumbnail_is_scaled_not_clipped() -> None:
    deep = gradient(mode="L").convert("I").point(lambda value: value * 256).convert("I;16")
    checked = check_image(encode(deep, "PNG"))

    with Image.open(io.BytesIO(checked.data)) as stored:
        assert stored.mode == "I;16"  # the upload keeps its depth
    with Image.open(io.BytesIO(make_thumbnail(checked))) as thumbnail:
        assert thumbnail.convert("L").getextrema() == pytest.approx((0, 255), abs=10)


def test_a_phone_mpo_is_stored_as_its_first_jpeg() -> None:
    frames = [Image.new("RGB", (300, 300), colour) for colour in ("red", "blue")]
    buffer = io.BytesIO()
    frames[0].save(buffer, format="MPO", save_all=True, append_images=frames[1:])

    checked = check_image(buffer.getvalue())

    assert (checked.format, checked.suffix) == ("JPEG", ".jpg")
    with Image.open(io.BytesIO(checked.data)) as image:
        assert image.format == "JPEG"
        assert getattr(image, "n_frames", 1) == 1


@pytest.mark.parametrize("image_format", ["PNG", "WEBP"])
def test_an_animation_is_stored_as_its_first_frame(image_format: str) -> None:
    frames = [Image.new("RGB", (300, 300), (40 * i, 0, 0)) for i in range(5)]
    buffer = io.BytesIO()
    frames[0].save(buffer, format=image_format, save_all=True, append_images=frames[1:])

    checked = check_image(buffer.getvalue())

    with Image.open(io.BytesIO(checked.data)) as image:
        assert getattr(image, "n_frames", 1) == 1
