"""Who writes a result's caption (``text``): the template built from the findings, or a language
model given the request's prompts, the findings and the pictures, and checked against the
findings before its text is used.

The facade calls the configured writer after the engine's analysis; every surface (service,
CLI, Slack, LangChain) gets the caption, its ``token`` usage and ``caption`` (who wrote it,
any warning) in the one result. The engine knows nothing of this package or of LangChain.
"""

from tools.reid.captions.configure import chat_model_writer, writer_from_settings
from tools.reid.captions.honesty import problems
from tools.reid.captions.writer import Caption, CaptionAsk, CaptionWriter, TemplateWriter

__all__ = [
    "Caption",
    "CaptionAsk",
    "CaptionWriter",
    "TemplateWriter",
    "chat_model_writer",
    "problems",
    "writer_from_settings",
]
