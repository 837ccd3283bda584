"""Short, stable OpenAPI operation ids, as a generated client's methods are named.

An id is the handler's name as ``verb + Noun + Rest`` in camelCase: a handler whose first
word is a known verb keeps it (``list_projects`` -> ``listProjects``), any other gets
``get`` (``balance`` -> ``getBalance``). A plugin's operations carry the plugin's noun, the
first word of its id without a plural ``s`` (``avatar_creator`` -> ``Avatar``,
``payments_duitku`` -> ``Payment``), after the verb unless the rest starts with it:
``create_project`` -> ``createAvatarProject``, ``get_avatar`` -> ``getAvatar``,
``generate`` -> ``generateAvatar``. A declaration's ``operation_id=`` overrides all this.

Ids derive only from the declaration, so they stay the same from one run to the next. When
two plugins derive one id (two plugins named ``avatar-...``), those operations take the
qualified form, the plugin's full id before the handler's name
(``avatarCreatorCreateProject``), so installing a plugin never breaks the document.
"""

from __future__ import annotations

import re

from lumiku.http.naming import to_camel

__all__ = ["VERBS", "derived_id", "plugin_noun", "qualified_id"]

VERBS = frozenset(
    {
        "approve",
        "cancel",
        "change",
        "complete",
        "create",
        "delete",
        "export",
        "generate",
        "get",
        "grant",
        "list",
        "login",
        "logout",
        "receive",
        "regenerate",
        "register",
        "reject",
        "retry",
        "start",
        "submit",
        "update",
        "upload",
    }
)
"""First words of a handler name that are the operation's verb (any other gets ``get``)."""


def plugin_noun(plugin_id: str) -> str:
    """Return the noun of a plugin's operations: ``pose_generator`` -> ``Pose``."""
    first = re.split(r"[-_]", plugin_id)[0]
    if first.endswith("s") and len(first) > 3:
        first = first[:-1]
    return first[:1].upper() + first[1:]


def derived_id(handler_name: str, plugin_id: str | None) -> str:
    """Return the short operation id of a handler (see the module's docstring)."""
    words = [word for word in handler_name.strip("_").split("_") if word]
    if not words:
        return "get"
    verb, rest = (words[0], words[1:]) if words[0] in VERBS else ("get", words)
    tail = "".join(word[:1].upper() + word[1:] for word in rest)
    if plugin_id is not None:
        noun = plugin_noun(plugin_id)
        if not tail.lower().startswith(noun.lower()):
            tail = noun + tail
    return verb + tail


def qualified_id(handler_name: str, plugin_id: str | None) -> str:
    """Return the long form: the plugin's id, then the handler's name, in camelCase."""
    operation = to_camel(handler_name.strip("_"))
    if plugin_id is None:
        return operation
    return to_camel(plugin_id.replace("-", "_")) + operation[:1].upper() + operation[1:]
