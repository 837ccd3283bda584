"""The plugin's files: an avatar's image and thumbnail, stored and removed together."""

from __future__ import annotations

from collections.abc import Iterable

import attrs

from lumiku import PluginContext, make_thumbnail

THUMBNAIL_SIDE = 256


@attrs.frozen
class StoredImage:
    """The keys of an image and its thumbnail in the plugin's storage, and the image size."""

    image_key: str
    thumbnail_key: str
    width: int
    height: int

    @property
    def keys(self) -> list[str]:
        """Return both keys."""
        return [self.image_key, self.thumbnail_key]


class FileCleanup:
    """Store images with their thumbnails; delete files without failing the caller."""

    def __init__(self, ctx: PluginContext) -> None:
        self._storage = ctx.storage
        self._logger = ctx.logger

    def store(
        self, data: bytes, *, suffix: str, width: int, height: int, thumbnail: bytes | None = None
    ) -> StoredImage:
        """Store ``data`` and a thumbnail of it (made here unless given) and return the keys.

        If the second file cannot be stored, the first is removed again.
        """
        if thumbnail is None:
            thumbnail = make_thumbnail(data, max_side=THUMBNAIL_SIDE)
        image_key = self._storage.put(data, suffix=suffix)
        try:
            thumbnail_key = self._storage.put(thumbnail, suffix=".jpg")
        except BaseException:
            self.delete([image_key])
            raise
        return StoredImage(image_key, thumbnail_key, width, height)

    def delete(self, keys: Iterable[str | None]) -> None:
        """Delete the files under ``keys``; a failure is logged (the file is left orphaned)."""
        wanted = [key for key in keys if key]
        if not wanted:
            return
        try:
            self._storage.delete_many(wanted)
        except Exception:
            self._logger.exception(
                "⚠️ could not delete %d avatar files; they stay orphaned", len(wanted)
            )
