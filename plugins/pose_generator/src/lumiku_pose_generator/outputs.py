"""What is made from results: background changes of one pose, exports and the ZIP.

A background change of one generated pose is a held job of one item on the generations
table (``BACKGROUND_CHANGE``): 10 credits held, captured when the new image is recorded,
released when it fails, recovered like any generation. Exports are made on demand from the
one list of formats (``exports.py``), stored, and remembered on the pose (``export_keys``)
so a ZIP asked for twice renders each export once; ``regenerate-export`` makes them again.
The ZIP streams ``<format>/<poseId>.<ext>`` members as they are made.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator
from typing import Any

import sqlalchemy as sa
from PIL import Image

from lumiku import Call, HeldJobs, PluginContext, Submitted
from lumiku_pose_generator.bodies import BackgroundBody
from lumiku_pose_generator.errors import invalid
from lumiku_pose_generator.exports import ExportFormat, export_name, parse_formats, render_export
from lumiku_pose_generator.generation import check_background
from lumiku_pose_generator.results import Results
from lumiku_pose_generator.tables import Record, generated_poses

ZIP_PAGE = 50


class _Chunks(io.RawIOBase):
    """A write-only stream collecting what ``zipfile`` writes, handed out in chunks."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def writable(self) -> bool:
        return True

    def write(self, data: Any) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def take(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def export_formats(value: str | list[str], field: str) -> tuple[ExportFormat, ...]:
    """Return the formats named in ``value``, or 422 naming ``field`` and the rule."""
    try:
        return parse_formats(value)
    except ValueError as exc:
        raise invalid({field: str(exc)}) from None


class Outputs:
    """Background changes, exports and ZIP downloads of the caller's results."""

    def __init__(self, ctx: PluginContext, jobs: HeldJobs, results: Results) -> None:
        self._ctx = ctx
        self._jobs = jobs
        self._results = results

    # -- background change ----------------------------------------------------------------

    def change_background(self, call: Call[BackgroundBody, Any], pose_id: str) -> Submitted:
        """Hold ``backgroundChange`` credits and queue the new background of one pose."""
        body = call.body
        pose = self._results.pose(call.user_id, pose_id)
        errors: dict[str, str] = {}
        choice = check_background(
            self._ctx,
            body.background_mode,
            body.background_color,
            body.background_image_url,
            body.background_prompt,
            errors,
        )
        if errors or choice is None:
            raise invalid(errors)
        source = self._results.generation(call.user_id, pose["generation_id"])
        values = {
            **choice.columns(),
            "project_id": pose["project_id"],
            "generation_type": "BACKGROUND_CHANGE",
            "text_prompt": source["text_prompt"],
            "pose_ids": [pose["pose_library_id"]],
            "batch_size": 1,
            "variation_count": None,
            "avatar_id": source["avatar_id"],
            "avatar_image_key": source["avatar_image_key"],
            "source_pose_id": pose["id"],
            "output_formats": [],
            "width": pose["width"],
            "height": pose["height"],
            "seed": pose["seed"],
        }
        return self._jobs.submit(
            call,
            values=values,
            items=1,
            unit_cost=self._ctx.cost("backgroundChange"),
            purpose="change a pose's background",
        )

    # -- exports --------------------------------------------------------------------------

    def export(self, pose: Record, export: ExportFormat, *, again: bool = False) -> bytes:
        """Return a pose's export, made and stored on first use (or again with ``again``)."""
        storage = self._ctx.storage
        keys = dict(pose["export_keys"] or {})
        key = keys.get(export.name)
        if key is not None and not again and storage.exists(key):
            return storage.read(key)
        image = Image.open(io.BytesIO(storage.read(pose["image_key"])))
        image.load()
        data = render_export(image, export)
        new_key = storage.put(data, suffix=f".{export.file_type}")
        p = generated_poses.c
        with self._ctx.engine.begin() as connection:
            current = connection.execute(
                sa.select(p.export_keys, p.image_key).where(p.id == pose["id"])
            ).first()
            if current is None or current.image_key != pose["image_key"]:
                # The pose was deleted or got a new image meanwhile: keep nothing.
                storage.delete(new_key)
                return data
            stored = dict(current.export_keys or {})
            old = stored.get(export.name)
            stored[export.name] = new_key
            connection.execute(
                sa.update(generated_poses).where(p.id == pose["id"]).values(export_keys=stored)
            )
        if old is not None and old != new_key:
            storage.delete(old)
        return data

    def regenerate(self, user_id: str, pose_id: str, formats: list[str]) -> Record:
        """Make the exports ``formats`` of one pose again; return the pose row."""
        pose = self._results.pose(user_id, pose_id)
        for export in export_formats(formats, "formats"):
            self.export(pose, export, again=True)
        return self._results.pose(user_id, pose_id)

    def zip_formats(self, user_id: str, generation_id: str, value: str | None) -> Any:
        """Return the formats of a generation's ZIP: ``value``, else its ``outputFormats``,
        else ``original``."""
        row = self._results.generation(user_id, generation_id)
        if value is not None and value.strip():
            return export_formats(value, "formats")
        return export_formats(list(row["output_formats"] or []) or ["original"], "formats")

    def zip_stream(
        self, user_id: str, generation_id: str, formats: tuple[ExportFormat, ...]
    ) -> Iterator[bytes]:
        """Yield the ZIP of a generation's poses in ``formats``, member after member."""
        chunks = _Chunks()
        with zipfile.ZipFile(chunks, "w", compression=zipfile.ZIP_STORED) as archive:
            for pose in self._poses(user_id, generation_id):
                for export in formats:
                    data = self.export(pose, export)
                    archive.writestr(export_name(export, pose["id"]), data)
                    yield chunks.take()
        yield chunks.take()

    def _poses(self, user_id: str, generation_id: str) -> Iterator[Record]:
        p = generated_poses.c
        after = -1
        while True:
            with self._ctx.engine.connect() as connection:
                rows = list(
                    connection.execute(
                        sa.select(generated_poses)
                        .where(
                            p.generation_id == generation_id,
                            p.user_id == user_id,
                            p.position > after,
                        )
                        .order_by(p.position)
                        .limit(ZIP_PAGE)
                    ).mappings()
                )
            if not rows:
                return
            yield from rows
            after = int(rows[-1]["position"])
