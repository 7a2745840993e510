"""The Slack bot: footage and reference photos in, the answer in the thread.

Split by concern, like bolt-python: `listeners` (thin: ack, persist, enqueue) behind the allow-list
middleware (`access`), `handling` (the Web API work after each ack), `intake` and `modal` (Slack
payloads → `Submission`), `run` (the ReID tool, off the event loop), `presentation` (results →
Block Kit), `store` (SQLite), `server` (HTTP and Socket Mode), `cli` (`reid bot`), `settings`.
`app` builds the `Parts` that listeners and handlers share; the layers inside `bot/` are an
import contract in pyproject.toml.
"""
