"""The chat history a client sends, read back as (role, text) turns: Gradio 6's browser sends each
message's content as a list of parts, scripts and gradio_client send strings; the page's own HTML
(answers, drafts, "Understood as") is read back as the plain text it shows."""

from __future__ import annotations

import html
import re
from typing import Any


def _parts_message(message: Any) -> Any:
    """A chat message whose content is a string (or one part) as Gradio 6 wants it: a list of parts."""
    if isinstance(message, dict):
        content = message.get("content")
        if isinstance(content, str):
            return {**message, "content": [{"type": "text", "text": content}]}
        if isinstance(content, dict):
            return {**message, "content": [content]}
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
