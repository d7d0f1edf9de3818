"""The chat history a client sends, read back as (role, text) turns: Gradio 6's browser sends each
message's content as a list of parts, scripts and gradio_client send strings; the page's own HTML
(answers, drafts, "Understood as") is read back as the plain text it shows. A history of the wrong shape
is refused with one line naming the item and what is wrong with it."""

from __future__ import annotations

import html
import logging
import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import ValidationError


log = logging.getLogger(__name__)

PART_TYPES = ("text", "file", "component")


def _kind(value: Any) -> str:
    """What a value is, in a person's words (never its content: the message goes back to the caller)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true or false"
    for types, name in (
        (str, "text"),
        (int | float, "a number"),
        (list | tuple, "a list"),
        (dict, "an object"),
    ):
        if isinstance(value, types):
            return name
    return "something else"


def _part_problem(part: Any) -> str:
    """Why one part of a message's content is not one Gradio reads ("" when it is)."""
    if isinstance(part, str):
        return ""
    if not isinstance(part, dict):
        return f'is {_kind(part)}: expected text or a part such as {{type: "text", text}}'
    kind = part.get("type", "text")
    if kind not in PART_TYPES:
        return "has an unknown type: expected a text, file or component part"
    if kind == "text" and not isinstance(part.get("text"), str):
        return "is a text part without text"
    if kind == "file" and not isinstance(part.get("file"), dict):
        return "is a file part without a file"
    return ""


def history_problem(history: Any) -> str:
    """Why a chat history a client sent is not a list of messages Gradio can read ("" when it is): one
    line naming the first wrong item (counted from 1) and what is wrong, never echoing its content.
    Linear and flat: each item is looked at one level deep, so deep nesting costs nothing."""
    if not isinstance(history, list):
        return f"the history is not a list of messages (got {_kind(history)})"
    for i, m in enumerate(history, 1):
        if not isinstance(m, dict):
            return f"history item {i} is not a message: expected {{role, content}} (got {_kind(m)})"
        missing = [k for k in ("role", "content") if k not in m]
        if missing:
            return f"history item {i} is not a message: expected {{role, content}} (it has no {missing[0]})"
        if not isinstance(m["role"], str):
            return f'history item {i}\'s role is {_kind(m["role"])}: expected "user" or "assistant"'
        content = m["content"]
        if not isinstance(content, str | dict | list):
            return f"history item {i}'s content is {_kind(content)}: expected text or a list of parts"
        parts = content if isinstance(content, list) else [content]
        for j, part in enumerate(parts, 1):
            why = _part_problem(part)
            if why:
                return f"history item {i}'s content part {j} {why}"
        for key, types, expected in (("metadata", dict, "an object"), ("options", list, "a list")):
            if m.get(key) is not None and not isinstance(m[key], types):
                return f"history item {i}'s {key} is {_kind(m[key])}: expected {expected}"
    return ""


def _first_error(e: ValidationError) -> str:
    """One line from Gradio's own check of a history: which item and field, not pydantic's text (which
    may quote what the client sent)."""
    errors = e.errors()
    loc = errors[0]["loc"] if errors else ()
    if not loc or not isinstance(loc[0], int):
        return "the history is not a list of messages"
    item = f"history item {loc[0] + 1}"
    if len(loc) > 2 and loc[1] == "content" and isinstance(loc[2], int):
        return f"{item}'s content part {loc[2] + 1} is not a valid text, file or component part"
    return f"{item}'s {loc[1]} is not valid" if len(loc) > 1 else f"{item} is not a message"


def _parts_message(message: Any) -> Any:
    """A chat message whose content is a string (or one part, or a list holding strings) as Gradio 6
    wants it: a list of parts."""
    if isinstance(message, dict):
        content = message.get("content")
        if isinstance(content, str):
            return {**message, "content": [{"type": "text", "text": content}]}
        if isinstance(content, dict):
            return {**message, "content": [content]}
        if isinstance(content, list) and any(isinstance(p, str) for p in content):
            parts = [{"type": "text", "text": p} if isinstance(p, str) else p for p in content]
            return {**message, "content": parts}
    return message


def lenient_messages() -> type:
    """Gradio 6's chat history model, also accepting a message whose content is a plain string (as
    scripts and gradio_client callers send it; Gradio's browser sends lists of parts)."""
    from gradio.components.chatbot import ChatbotDataMessages
    from pydantic import field_validator

    class Messages(ChatbotDataMessages):
        @field_validator("root", mode="before")
        @classmethod
        def _content_as_parts(cls, value: Any) -> Any:
            return [_parts_message(m) for m in value] if isinstance(value, list) else value

    return Messages


def checked_messages() -> type:
    """lenient_messages(), refusing a history of the wrong shape with a gr.Error that names what is
    wrong. Gradio checks the history (``data_model.model_validate``) before our function runs; its own
    refusal is a pydantic traceback in the log and "The upstream Gradio app has raised an exception" for
    the caller. A gr.Error raised inside a pydantic validator would be wrapped (it is a ValueError), so
    the check is around model_validate itself."""
    from gradio import Error
    from pydantic import ValidationError

    lenient = lenient_messages()

    class Messages(lenient):  # type: ignore[valid-type,misc]
        @classmethod
        def model_validate(cls, obj: Any, **kwargs: Any) -> Any:
            problem = history_problem(obj)
            if not problem:
                try:
                    return super().model_validate(obj, **kwargs)
                except ValidationError as e:
                    problem = _first_error(e)
            log.info("refused a chat history: %s", problem)
            raise Error(f"The conversation cannot be read: {problem}.", print_exception=False)

    return Messages


# Linear: an unclosed tag or div matches to the end once (and is then kept) instead of being retried
# from every "<" (quadratic on "<" * n).
_UNDERSTOOD_DIV = re.compile(r'<div class="understood">.*?(?:</div>|\Z)', re.S)
_DRAFT_LABEL_DIV = re.compile(r'<div class="draft-label">.*?(?:</div>|\Z)', re.S)
_TAG = re.compile(r"<[^>]++(?:>|\Z)")


def _closed_only(m: re.Match[str]) -> str:
    return "" if m.group(0).endswith(">") else m.group(0)


def _closed_div_only(m: re.Match[str]) -> str:
    return "" if m.group(0).endswith("</div>") else m.group(0)


def plain_text(content: Any) -> str:
    """A chat message's text, from any shape a client sends: a string (our HTML, or plain text), a list
    of parts (Gradio 6's browser: ``[{"type": "text", "text": …}, {"type": "file", …}]``, only text
    parts count), or one part. Files and other parts are ignored."""
    if isinstance(content, list | tuple):  # parts: one level only (a part that is a list is ignored)
        return " ".join(
            t for t in (plain_text(p) for p in content if not isinstance(p, list | tuple)) if t
        ).strip()
    if isinstance(content, dict):
        if content.get("type", "text") == "text" and isinstance(content.get("text"), str):
            return plain_text(content["text"])
        return ""
    if not isinstance(content, str):
        return ""
    text = _DRAFT_LABEL_DIV.sub(_closed_div_only, _UNDERSTOOD_DIV.sub(_closed_div_only, content))
    text = _TAG.sub(_closed_only, text)
    return html.unescape(re.sub(r"\\([\\`*_{}()#+!|~\[\]$])", r"\1", text)).strip()


def history_turns(history: list[Any]) -> list[tuple[str, str]]:
    """The conversation as (role, text) turns, from the chat history a client sent (messages as dicts;
    thoughts, tool messages and anything else that is not a user or assistant message are skipped)."""
    turns = []
    for m in history or []:
        if not isinstance(m, dict) or m.get("role") not in ("user", "assistant"):
            continue
        if (m.get("metadata") or {}).get("title"):
            continue
        text = plain_text(m.get("content"))
        if text:
            turns.append((str(m["role"]), text))
    return turns
