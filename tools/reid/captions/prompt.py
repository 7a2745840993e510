"""The messages the caption model is sent: the request's system prompt with the rules that keep
the caption to the findings, then the question, the findings and the pictures.

Content is in the OpenAI chat format (text and ``image_url`` parts), which LangChain's chat
models and every OpenAI-compatible server read.
"""

from __future__ import annotations

import json
from typing import Any

from tools.reid.captions.facts import findings
from tools.reid.captions.pictures import Picture
from tools.reid.captions.writer import CaptionAsk
from tools.reid.schemas import ReIDResult

DEFAULT_SYSTEM_PROMPT = "You are a video understanding system that can detect and identify people."
DEFAULT_QUESTION = "Summarize the media and say which of the searched persons appear, and when."
MAX_WORDS = 150

RULES = f"""Answer from the face-recognition findings below; they are measured and final.
- Name every person whose "found" is true, by exactly the name given.
- Never say or suggest that a person whose "found" is false appears; you may say they were not found.
- Write times as m:ss, and only times and intervals the findings list; never estimate or invent a time.
- Pictures, when given, show what is on screen: describe the scene and what people do when the question asks, \
but never recognise anyone from a picture yourself; only the recognition's boxes and names say who is who.
- Call people nobody searched for by their labels (Person 1, ...), if the findings list any.
- Answer the question directly, in plain prose of at most {MAX_WORDS} words, without lists or headings."""


def system_text(ask: CaptionAsk) -> str:
    """One system message (some servers' chat templates take only one, first): theirs, then ours."""
    return f"{(ask.system_prompt or DEFAULT_SYSTEM_PROMPT).strip()}\n\n{RULES}"


def user_content(result: ReIDResult, ask: CaptionAsk, shown: list[Picture]) -> str | list[dict[str, Any]]:
    """The question and the findings, then each picture after the line that says what it is."""
    text = (
        f"Question: {(ask.user_prompt or DEFAULT_QUESTION).strip()}\n\n"
        f"Findings (JSON):\n{json.dumps(findings(result), ensure_ascii=False, separators=(',', ':'))}"
    )
    if not shown:
        return text
    parts: list[dict[str, Any]] = [
        {"type": "text", "text": text + "\n\nPictures, each after a line saying what it is:"}
    ]
    for picture in shown:
        parts.append({"type": "text", "text": picture.label})
        parts.append({"type": "image_url", "image_url": {"url": picture.data_url, "detail": "low"}})
    return parts


def correction(wrong: list[str]) -> str:
    """What the model is told after a caption that failed the check."""
    return (
        f"That answer contradicts the findings: {'; '.join(wrong)}. Write the answer again, keeping every "
        "name and time to the findings."
    )
