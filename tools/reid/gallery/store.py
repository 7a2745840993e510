"""The gallery's SQLite file: people, their faces, links to stored results, and the audit log.

Every row carries its tenant, and every statement here filters on it: no method reads or
changes another tenant's rows. A face row holds the embedding (float32 bytes) tagged with the
descriptor and its model's digest, and a small JPEG thumbnail; never the photo. Deleting runs
with ``secure_delete`` on, and the write-ahead log is checkpointed and truncated afterwards, so
a removed person's bytes are overwritten in the file rather than left in free pages.
"""

from __future__ import annotations

import json
import sqlite3
import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tools.reid.database import Database, Migration

_SCHEMA = """
CREATE TABLE IF NOT EXISTS gallery_people (
    person_id   TEXT PRIMARY KEY,
    tenant      TEXT NOT NULL,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL,
    enrolled_by TEXT NOT NULL,
    enrolled_at REAL NOT NULL,
    consent     TEXT NOT NULL,
    UNIQUE (tenant, name_key)
);
CREATE TABLE IF NOT EXISTS gallery_faces (
    face_id      TEXT PRIMARY KEY,
    person_id    TEXT NOT NULL REFERENCES gallery_people (person_id),
    tenant       TEXT NOT NULL,
    descriptor   TEXT NOT NULL,
    model_digest TEXT NOT NULL,
    embedding    BLOB NOT NULL,
    thumbnail    BLOB NOT NULL,
    yaw_deg      REAL,
    photo_digest TEXT NOT NULL,
    source       TEXT NOT NULL,
    added_by     TEXT NOT NULL,
    added_at     REAL NOT NULL
);
CREATE INDEX IF NOT EXISTS gallery_faces_by_tenant ON gallery_faces (tenant, person_id);
CREATE TABLE IF NOT EXISTS gallery_shown_in (
    tenant    TEXT NOT NULL,
    person_id TEXT NOT NULL,
    kind      TEXT NOT NULL,
    ref       TEXT NOT NULL,
    at        REAL NOT NULL,
    PRIMARY KEY (tenant, person_id, kind, ref)
);
CREATE TABLE IF NOT EXISTS gallery_audit (
    id           TEXT PRIMARY KEY,
    tenant       TEXT NOT NULL,
    at           REAL NOT NULL,
    actor        TEXT NOT NULL,
    surface      TEXT NOT NULL,
    action       TEXT NOT NULL,
    names        TEXT NOT NULL,
    media_digest TEXT,
    outcome      TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS gallery_audit_by_tenant ON gallery_audit (tenant, at);
"""

MIGRATIONS: list[Migration] = [_SCHEMA]
_PERSON_COLUMNS = "person_id, name, enrolled_by, enrolled_at, consent"


@dataclass(frozen=True)
class PersonRow:
    person_id: str
    name: str
    enrolled_by: str
    enrolled_at: float
    consent: str


@dataclass(frozen=True)
class FaceRow:
    face_id: str
    person_id: str
    descriptor: str
    model_digest: str
    embedding: np.ndarray
    yaw_deg: float | None
    photo_digest: str
    source: str
    added_by: str
    added_at: float


@dataclass(frozen=True)
class NewFace:
    """A face to store: its embedding and thumbnail, and where it came from."""

    embedding: np.ndarray
    thumbnail: bytes
    yaw_deg: float | None
    photo_digest: str
    source: str


@dataclass(frozen=True)
class AuditRow:
    at: float
    actor: str
    surface: str
    action: str
    names: list[str]
    media_digest: str | None
    outcome: str


@dataclass(frozen=True)
class Deleted:
    """What one removal took out of the gallery."""

    faces: int
    thumbnails: int
    links: dict[str, list[str]]
    """Stored results that showed the person, by kind (``service-task``, ``slack-request``)."""


def name_key(name: str) -> str:
    """Names are one person however they are capitalised: 'alice' is 'Alice'."""
    return " ".join(name.casefold().split())


class GalleryStore:
    """The gallery tables of the SQLite file at ``path``."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._database = Database(path, MIGRATIONS, store="gallery", secure_delete=True)

    def close(self) -> None:
        self._database.close()

    # --- People

    def person(self, tenant: str, name: str) -> PersonRow | None:
        with self._database.read() as db:
            row = db.execute(
                f"SELECT {_PERSON_COLUMNS} FROM gallery_people WHERE tenant = ? AND name_key = ?",
                (tenant, name_key(name)),
            ).fetchone()
        return PersonRow(**dict(row)) if row else None

    def people(self, tenant: str) -> list[PersonRow]:
        with self._database.read() as db:
            rows = db.execute(
                f"SELECT {_PERSON_COLUMNS} FROM gallery_people WHERE tenant = ? ORDER BY name_key",
                (tenant,),
            ).fetchall()
        return [PersonRow(**dict(row)) for row in rows]

    def existing(self, tenant: str, person_ids: Iterable[str]) -> set[str]:
        """Which of ``person_ids`` are still enrolled."""
        ids = list(person_ids)
        if not ids:
            return set()
        with self._database.read() as db:
            rows = db.execute(
                f"SELECT person_id FROM gallery_people WHERE tenant = ? AND person_id IN ({','.join('?' * len(ids))})",
                (tenant, *ids),
            ).fetchall()
        return {row["person_id"] for row in rows}

    def add_person(
        self,
        tenant: str,
        name: str,
        enrolled_by: str,
        consent: str,
        descriptor: str,
        digest: str,
        faces: Sequence[NewFace],
    ) -> str:
        """A new person with their first faces, in one transaction; returns the person id."""
        person_id = uuid.uuid4().hex
        with self._database.write() as db:
            db.execute(
                "INSERT INTO gallery_people (person_id, tenant, name, name_key, enrolled_by, enrolled_at, consent)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                (person_id, tenant, name, name_key(name), enrolled_by, time.time(), consent),
            )
            self._insert_faces(db, tenant, person_id, descriptor, digest, enrolled_by, faces)
        return person_id

    def add_faces(
        self, tenant: str, person_id: str, added_by: str, descriptor: str, digest: str, faces: Sequence[NewFace]
    ) -> None:
        with self._database.write() as db:
            self._insert_faces(db, tenant, person_id, descriptor, digest, added_by, faces)

    @staticmethod
    def _insert_faces(
        db: sqlite3.Connection,
        tenant: str,
        person_id: str,
        descriptor: str,
        digest: str,
        added_by: str,
        faces: Sequence[NewFace],
    ) -> None:
        now = time.time()
        db.executemany(
            "INSERT INTO gallery_faces (face_id, person_id, tenant, descriptor, model_digest, embedding, thumbnail,"
            " yaw_deg, photo_digest, source, added_by, added_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    uuid.uuid4().hex,
                    person_id,
                    tenant,
                    descriptor,
                    digest,
                    np.asarray(face.embedding, np.float32).tobytes(),
                    face.thumbnail,
                    face.yaw_deg,
                    face.photo_digest,
                    face.source,
                    added_by,
                    now,
                )
                for face in faces
            ],
        )

    def faces(self, tenant: str, person_ids: Sequence[str] | None = None) -> list[FaceRow]:
        """The tenant's faces (of ``person_ids`` only, when given), grouped by person."""
        sql = (
            "SELECT face_id, person_id, descriptor, model_digest, embedding, yaw_deg, photo_digest, source, added_by,"
            " added_at FROM gallery_faces WHERE tenant = ?"
        )
        args: list[str] = [tenant]
        if person_ids is not None:
            sql += f" AND person_id IN ({','.join('?' * len(person_ids))})"
            args += list(person_ids)
        with self._database.read() as db:
            rows = db.execute(sql + " ORDER BY person_id, added_at", args).fetchall()
        return [
            FaceRow(**{**dict(row), "embedding": np.frombuffer(row["embedding"], np.float32).copy()}) for row in rows
        ]

    def thumbnails(self, tenant: str, person_id: str) -> list[bytes]:
        with self._database.read() as db:
            rows = db.execute(
                "SELECT thumbnail FROM gallery_faces WHERE tenant = ? AND person_id = ? ORDER BY added_at",
                (tenant, person_id),
            ).fetchall()
        return [bytes(row["thumbnail"]) for row in rows]

    def delete_person(self, tenant: str, person_id: str) -> Deleted:
        """The person, their faces and thumbnails, and the links to results that showed them."""
        with self._database.write() as db:
            (faces,) = db.execute(
                "SELECT COUNT(*) FROM gallery_faces WHERE tenant = ? AND person_id = ?", (tenant, person_id)
            ).fetchone()
            links: dict[str, list[str]] = {}
            for row in db.execute(
                "SELECT kind, ref FROM gallery_shown_in WHERE tenant = ? AND person_id = ? ORDER BY at",
                (tenant, person_id),
            ):
                links.setdefault(row["kind"], []).append(row["ref"])
            db.execute("DELETE FROM gallery_faces WHERE tenant = ? AND person_id = ?", (tenant, person_id))
            db.execute("DELETE FROM gallery_shown_in WHERE tenant = ? AND person_id = ?", (tenant, person_id))
            db.execute("DELETE FROM gallery_people WHERE tenant = ? AND person_id = ?", (tenant, person_id))
        self._database.truncate_log()
        return Deleted(faces=faces, thumbnails=faces, links=links)

    # --- Results that show people

    def link(self, tenant: str, person_ids: Iterable[str], kind: str, ref: str) -> None:
        """Remember that a stored result (``kind``, ``ref``) shows these people, for their removal."""
        now = time.time()
        with self._database.write() as db:
            db.executemany(
                "INSERT OR IGNORE INTO gallery_shown_in (tenant, person_id, kind, ref, at) VALUES (?, ?, ?, ?, ?)",
                [(tenant, person_id, kind, ref, now) for person_id in person_ids],
            )

    # --- Audit

    def audit(
        self, tenant: str, actor: str, surface: str, action: str, names: Sequence[str], media: str | None, outcome: str
    ) -> None:
        with self._database.write() as db:
            db.execute(
                "INSERT INTO gallery_audit (id, tenant, at, actor, surface, action, names, media_digest, outcome)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    uuid.uuid4().hex,
                    tenant,
                    time.time(),
                    actor,
                    surface,
                    action,
                    json.dumps(list(names)),
                    media,
                    outcome,
                ),
            )

    def audit_log(self, tenant: str, since: float, limit: int) -> list[AuditRow]:
        """The tenant's audit entries from ``since`` (unix s), newest first."""
        with self._database.read() as db:
            rows = db.execute(
                "SELECT at, actor, surface, action, names, media_digest, outcome FROM gallery_audit"
                " WHERE tenant = ? AND at >= ? ORDER BY at DESC LIMIT ?",
                (tenant, since, limit),
            ).fetchall()
        return [AuditRow(**{**dict(row), "names": json.loads(row["names"])}) for row in rows]

    def purge(self, before: float) -> int:
        """Delete audit entries and links to results older than ``before`` (unix s), in every
        tenant: retention is the operator's. Returns the audit entries deleted."""
        with self._database.write() as db:
            deleted = db.execute("DELETE FROM gallery_audit WHERE at < ?", (before,)).rowcount
            linked = db.execute("DELETE FROM gallery_shown_in WHERE at < ?", (before,)).rowcount
        if deleted or linked:
            self._database.truncate_log()  # who was searched for leaves the write-ahead log too
        return deleted
