"""Public catalog routes: presets (with previews) and persona examples; no sign-in needed."""

from __future__ import annotations

from starlette.routing import BaseRoute

from lumiku import Call, get
from lumiku_avatar_creator.bodies import CatalogQuery
from lumiku_avatar_creator.services import Services
from lumiku_avatar_creator.views import PersonaExamplePage, PresetPage, PresetView


def catalog_routes(services: Services, tags: tuple[str, ...]) -> list[BaseRoute]:
    """Return the catalog routes."""
    catalog, renderer = services.catalog, services.renderer
    ctx = services.ctx

    def cost() -> int:
        """Return the current price of a generation from a preset."""
        return ctx.cost("fromPreset")

    def list_presets(call: Call[None, CatalogQuery]) -> PresetPage:
        """List the presets in catalog order, optionally of one category."""
        page = catalog.presets(call.query, call.query.category)
        price = cost()
        return PresetPage([renderer.preset(row, price) for row in page.rows], page.next_cursor)

    def get_preset(call: Call[None, None]) -> PresetView:
        """Return one preset with its preview."""
        return renderer.preset(catalog.preset(call.path["preset_id"]), cost())

    def list_persona_examples(call: Call[None, CatalogQuery]) -> PersonaExamplePage:
        """List sample personas in catalog order, optionally of one category."""
        page = catalog.persona_examples(call.query, call.query.category)
        return PersonaExamplePage(page.map(renderer.persona_example).rows, page.next_cursor)

    return [
        get("/presets", list_presets, query=CatalogQuery, response=PresetPage, tags=tags),
        get("/presets/{preset_id}", get_preset, response=PresetView, tags=tags),
        get(
            "/persona-examples",
            list_persona_examples,
            query=CatalogQuery,
            response=PersonaExamplePage,
            tags=tags,
        ),
    ]
