"""The Slack bot: footage and reference photos in, the answer in the thread.

Split by concern, like bolt-python: `intake` (Slack payloads → `Submission`), `listeners` (thin:
ack, persist, enqueue), `worker` and `run` (the ReID tool, off the event loop), `presentation`
(results → Block Kit), `store` (SQLite), `server` (HTTP and Socket Mode), `settings`.
"""
