"""Postcards: the worked example of docs/plugins.md, section "The toolkit, worked".

A user uploads a photo as a postcard (a form upload), lists their postcards (a paginated
list), sends one (a charged route: 3 credits, refunded if sending fails) and orders
prints (a queued job: 2 credits a copy held at submit, captured for the copies printed,
released for the ones that jammed, with progress events). ``tests/test_docs_examples.py``
imports this module, checks that every snippet of the guide is in it, and runs each flow.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import attrs
import sqlalchemy as sa

from lumiku import (
    Accepted,
    AuthenticatedNamespace,
    Call,
    ItemFailed,
    Job,
    NotFound,
    PageQuery,
    PluginContext,
    PluginSpec,
    ProgressEvents,
    Reference,
    UploadedFile,
    UTCDateTime,
    check_image,
    fetch_page,
    field,
    get,
    hookimpl,
    job_columns,
    job_constraints,
    newest_first,
    post,
)

spec = PluginSpec(id="postcards", credits={"send": 3, "printCopy": 2}, hooks=__name__)

metadata = sa.MetaData()
postcards = sa.Table(
    "postcards",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("message", sa.String(200), nullable=False),
    sa.Column("photo_key", sa.String(200), nullable=False),
    sa.Column("sent_at", UTCDateTime(), nullable=True),
    sa.Column("created_at", UTCDateTime(), nullable=False),
)

# --- form upload ---------------------------------------------------------------------


@attrs.frozen
class PostcardForm:
    """A photo and the message written on the postcard."""

    message: str = field(min_length=1, max_length=200)
    photo: UploadedFile = field(max_bytes=5 * 1024 * 1024)


def create_postcard(ctx: PluginContext, call: Call[PostcardForm, None]) -> dict[str, Any]:
    """Store the checked photo and record the postcard (201)."""
    checked = check_image(call.body.photo.data, max_bytes=5 * 1024 * 1024, min_side=64)
    row = {
        "id": str(uuid.uuid4()),
        "user_id": call.user_id,
        "message": call.body.message,
        "photo_key": ctx.storage.put(checked.data, suffix=checked.suffix),
        "sent_at": None,
        "created_at": datetime.now(UTC),
    }
    with ctx.engine.begin() as connection:
        connection.execute(sa.insert(postcards).values(row))
    return {"id": row["id"], "message": row["message"]}


# --- paginated list ------------------------------------------------------------------


@attrs.frozen
class PostcardPage:
    """Postcards newest first; pass ``nextCursor`` as ``cursor`` for more."""

    postcards: list[dict[str, Any]]
    next_cursor: str | None


def list_postcards(ctx: PluginContext, call: Call[None, PageQuery]) -> PostcardPage:
    """Return a page of the caller's postcards, newest first."""
    query = sa.select(postcards).where(postcards.c.user_id == call.user_id)
    order = newest_first(postcards.c.created_at, postcards.c.id)
    with ctx.engine.connect() as connection:
        page = fetch_page(connection, query, call.query, order)
    return PostcardPage(
        [{"id": row["id"], "message": row["message"]} for row in page.rows], page.next_cursor
    )


# --- charged route -------------------------------------------------------------------


def send_postcard(ctx: PluginContext, call: Call[None, None]) -> dict[str, Any]:
    """Send a postcard: 3 credits, refunded exactly once if sending fails."""
    postcard_id = call.path["postcard_id"]
    with ctx.charges.spend(
        call,
        "send",
        reason="Postcard sent",  # the user's credit history line
        reference=Reference("postcard", postcard_id),
        purpose="send a postcard",  # 402: "Not enough credits to send a postcard: ..."
    ) as charge:
        with ctx.engine.begin() as connection:
            sent = connection.execute(
                sa.update(postcards)
                .where(postcards.c.id == postcard_id, postcards.c.user_id == call.user_id)
                .values(sent_at=datetime.now(UTC))
            ).rowcount
        if not sent:
            raise NotFound("No such postcard.")  # the spend is refunded on the way out
    return {"sent": postcard_id, "creditsUsed": charge.amount}


# --- queued job with partial capture and progress events ---------------------------

print_runs = sa.Table(
    "postcard_prints",
    metadata,
    sa.Column("id", sa.String(36), primary_key=True),
    sa.Column("user_id", sa.String(36), nullable=False),
    sa.Column("postcard_id", sa.String(36), nullable=False),
    *job_columns(),
    *job_constraints("postcard_prints"),
)


class PrintCopies:
    """The work of one print run: one item per copy."""

    def __init__(self, ctx: PluginContext) -> None:
        self._ctx = ctx

    def items(self, job: Job) -> Sequence[str]:
        return [f"copy-{n}" for n in range(1, job["items_total"] + 1)]

    def produce(self, job: Job, item: str) -> str:
        with self._ctx.engine.connect() as connection:
            message = connection.execute(
                sa.select(postcards.c.message).where(postcards.c.id == job["postcard_id"])
            ).scalar_one()
        if "jam" in message and item == "copy-2":
            raise ItemFailed("PAPER_JAM", "The printer jammed on this copy.")
        return f"{job['postcard_id']}/{item}"

    def record(self, connection: sa.Connection, job: Job, item: str, result: str) -> None:
        pass  # a real plugin inserts the copy's row here, in the kit's transaction

    def discard(self, result: str) -> None:
        pass  # and deletes the files of a copy that will not be recorded


@attrs.frozen
class PrintOrder:
    """How many copies to print (2 credits each)."""

    copies: int = field(ge=1, le=10)


def order_prints(ctx: PluginContext, call: Call[PrintOrder, None]) -> Accepted[dict[str, Any]]:
    """Hold 2 credits a copy and queue the print run (202 with its status URL)."""
    submitted = prints(ctx).submit(
        call, values={"postcard_id": call.path["postcard_id"]}, items=call.body.copies
    )
    run = submitted.job
    return Accepted(
        {"id": run["id"], "held": submitted.credits_held}, status_url=f"prints/{run['id']}"
    )


def get_print(ctx: PluginContext, call: Call[None, None]) -> dict[str, Any]:
    """Return a print run's progress: what printed, what jammed, what it cost."""
    run = prints(ctx).get(call.path["print_id"], call.user_id)
    if run is None:
        raise NotFound("No such print run.")
    return {
        "status": run["status"],
        "printed": run["items_completed"],
        "jammed": run["items_failed"],
        "charged": run["credits_charged"],
    }


def prints(ctx: PluginContext) -> Any:
    """Return the plugin's held print jobs (built once per context)."""
    if "prints" not in ctx.state:
        ctx.state["prints"] = ctx.held_jobs(
            "print",
            table=print_runs,
            work=PrintCopies(ctx),
            action="printCopy",
            events=ProgressEvents("/postcards", "print", "printId"),
            describe=lambda row: f"Postcard print of {row['postcard_id']}",  # history line
        )
    return ctx.state["prints"]


class PostcardEvents(AuthenticatedNamespace):
    """The ``/postcards`` namespace the print progress goes to."""


@hookimpl
def register_actors(ctx: PluginContext, broker: Any) -> list[Any]:
    return [prints(ctx).declare(broker)]


@hookimpl
def register_realtime(ctx: PluginContext) -> list[Any]:
    return [PostcardEvents("/postcards")]


# --- the routes ------------------------------------------------------------------------


@hookimpl
def register_routes(ctx: PluginContext) -> list[Any]:
    def bind(handler: Any) -> Any:
        def bound(call: Call[Any, Any]) -> Any:
            return handler(ctx, call)

        bound.__name__, bound.__doc__ = handler.__name__, handler.__doc__
        return bound

    return [
        post("/postcards", bind(create_postcard), auth="user", form=PostcardForm, status=201),
        get(
            "/postcards", bind(list_postcards), auth="user", query=PageQuery, response=PostcardPage
        ),
        post(
            "/postcards/{postcard_id}/send",
            bind(send_postcard),
            auth="user",
            idempotent=True,
            errors=(402,),
        ),
        post(
            "/postcards/{postcard_id}/prints",
            bind(order_prints),
            auth="user",
            body=PrintOrder,
            status=202,
            idempotent=True,
            errors=(402,),
        ),
        get("/prints/{print_id}", bind(get_print), auth="user"),
    ]
