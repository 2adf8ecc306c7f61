"""Enrollment store: one row per speaker (mean embedding, count, model, checksum).

Two back ends share the SQL: embedded SQLite (default; WAL journal, ``synchronous=FULL``,
``BEGIN IMMEDIATE`` write transactions) and PostgreSQL through a ``postgresql://`` URL
(``psycopg``). Every enrollment is one transaction with an atomic upsert, so a crash leaves
either the previous row or the new one, never a mix; each row carries a checksum over its
fields that is checked on every read.

With a server secret (``open_store(target, secret=...)``, what ``voxguard serve`` does) the
checksum is an HMAC-SHA256 keyed by a secret kept outside the database
(:mod:`voxguard.serving.secret`): someone who can write the database cannot forge a row, and
rows without a valid HMAC (including plain sha256 rows of older versions) are refused. Without
a secret it is a plain sha256, which only detects accidental corruption.
"""

from __future__ import annotations

import hashlib
import hmac
import sqlite3
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from voxguard.errors import VoxguardError

_COLUMNS = "speaker_id, dim, count, model, embedding, checksum, created_at, updated_at"


class StoreError(VoxguardError):
    """The enrollment store cannot be opened, read or written."""


class SpeakerNotFoundError(StoreError, KeyError):
    """No enrollment exists for a speaker id."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class IntegrityError(StoreError):
    """A stored row fails its checksum (altered or corrupted outside voxguard)."""


class EnrollmentConflictError(StoreError):
    """An append would mix embeddings of different models or sizes."""


def _blob(embedding: np.ndarray) -> bytes:
    return np.ascontiguousarray(embedding, dtype="<f4").tobytes()


HMAC_PREFIX = "hmac-sha256:"


def row_checksum(
    speaker_id: str, count: int, model: str, blob: bytes, secret: bytes | None = None
) -> str:
    """Checksum of a row's fields: ``hmac-sha256:<hex>`` keyed by ``secret``, else a bare sha256
    (which detects a half-written row but not a deliberate edit)."""
    head = f"{speaker_id}\0{count}\0{model}\0{len(blob)}\0".encode()
    if secret is None:
        return hashlib.sha256(head + blob).hexdigest()
    return HMAC_PREFIX + hmac.new(secret, head + blob, hashlib.sha256).hexdigest()


@dataclass(frozen=True)
class Enrollment:
    """A stored speaker: the mean of ``count`` enrollment embeddings."""

    speaker_id: str
    embedding: np.ndarray
    count: int
    model: str
    created_at: float
    updated_at: float

    @property
    def dim(self) -> int:
        return int(self.embedding.shape[0])

    @property
    def sha256(self) -> str:
        """sha256 of the float32 little-endian embedding bytes."""
        return hashlib.sha256(_blob(self.embedding)).hexdigest()


def _as_matrix(embeddings: np.ndarray, speaker_id: str) -> np.ndarray:
    mat = np.asarray(embeddings, dtype=np.float64)
    if mat.ndim == 1:
        mat = mat[None]
    if mat.ndim != 2 or mat.shape[0] == 0 or mat.shape[1] == 0:
        raise StoreError(f"speaker {speaker_id!r}: expected (n, dim) embeddings, got {mat.shape}")
    if not np.isfinite(mat).all():
        raise StoreError(f"speaker {speaker_id!r}: embeddings contain NaN or inf values")
    return mat


class EnrollmentStore(ABC):
    """SQL logic shared by the back ends; subclasses provide connections and transactions."""

    backend = ""
    placeholder = "?"
    schema = ""
    secret: bytes | None = None

    @abstractmethod
    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Any]:
        """Yield a cursor inside one transaction (committed on success, rolled back on error)."""

    @abstractmethod
    def close(self) -> None:
        """Release every connection."""

    def _sql(self, text: str) -> str:
        return text.replace("?", self.placeholder)

    def _decode(self, row: tuple) -> Enrollment:
        speaker_id, dim, count, model, blob, checksum, created, updated = row
        blob = bytes(blob)
        expected = row_checksum(speaker_id, count, model, blob, self.secret)
        if not hmac.compare_digest(expected, str(checksum)) or len(blob) != 4 * dim:
            raise IntegrityError(
                f"{self.backend} store: the enrollment of {speaker_id!r} fails its checksum "
                "(altered or corrupted outside voxguard, or written under another server "
                "secret); delete it and enroll the speaker again"
            )
        emb = np.frombuffer(blob, dtype="<f4").astype(np.float32)
        return Enrollment(speaker_id, emb, int(count), model, float(created), float(updated))

    def _select(self, cur: Any, speaker_id: str, lock: bool = False) -> tuple | None:
        tail = " FOR UPDATE" if lock and self.backend == "postgresql" else ""
        cur.execute(
            self._sql(f"SELECT {_COLUMNS} FROM speakers WHERE speaker_id = ?{tail}"), (speaker_id,)
        )
        return cur.fetchone()

    def _write(
        self, cur: Any, speaker_id: str, mean: np.ndarray, count: int, model: str, insert_only: bool
    ) -> bool:
        blob, now = _blob(mean.astype(np.float32)), time.time()
        values = (
            speaker_id,
            mean.shape[0],
            count,
            model,
            blob,
            row_checksum(speaker_id, count, model, blob, self.secret),
            now,
            now,
        )
        action = (
            "NOTHING"
            if insert_only
            else (
                "UPDATE SET dim = excluded.dim, count = excluded.count, model = excluded.model, "
                "embedding = excluded.embedding, checksum = excluded.checksum, "
                "updated_at = excluded.updated_at"
            )
        )
        cur.execute(
            self._sql(
                f"INSERT INTO speakers ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
                f"ON CONFLICT (speaker_id) DO {action}"
            ),
            values,
        )
        return cur.rowcount == 1

    def enroll(
        self, speaker_id: str, embeddings: np.ndarray, model: str, mode: str = "replace"
    ) -> Enrollment:
        """Store the mean of ``embeddings`` (``(n, dim)``) for ``speaker_id``, atomically.

        Args:
            speaker_id: the speaker's id (validated by the caller).
            embeddings: one row per enrollment utterance.
            model: name of the speaker model that produced them.
            mode: ``"replace"`` overwrites any enrollment; ``"append"`` merges the new
                utterances into the existing mean (count-weighted).
        """
        if mode not in ("replace", "append"):
            raise StoreError(f"enroll mode must be 'replace' or 'append', got {mode!r}")
        mat = _as_matrix(embeddings, speaker_id)
        mean, count = mat.mean(axis=0), mat.shape[0]
        with self._transaction(write=True) as cur:
            if mode == "replace":
                self._write(cur, speaker_id, mean, count, model, insert_only=False)
            elif not self._write(cur, speaker_id, mean, count, model, insert_only=True):
                old = self._decode(self._select(cur, speaker_id, lock=True))
                if old.model != model or old.dim != mean.shape[0]:
                    raise EnrollmentConflictError(
                        f"speaker {speaker_id!r} was enrolled with {old.model!r} ({old.dim}-dim), "
                        f"not {model!r} ({mean.shape[0]}-dim); enroll with mode=replace"
                    )
                total = old.count + count
                merged = (old.embedding.astype(np.float64) * old.count + mat.sum(axis=0)) / total
                self._write(cur, speaker_id, merged, total, model, False)
            return self._decode(self._select(cur, speaker_id))

    def get(self, speaker_id: str) -> Enrollment:
        """The enrollment of ``speaker_id``; :class:`SpeakerNotFoundError` if absent."""
        with self._transaction(write=False) as cur:
            row = self._select(cur, speaker_id)
        if row is None:
            raise SpeakerNotFoundError(
                f"speaker {speaker_id!r} is not enrolled; enroll it first (POST /enroll) "
                "or list enrolled speakers (GET /speakers)"
            )
        return self._decode(row)

    def list(self, offset: int = 0, limit: int = 100) -> list[Enrollment]:
        """Enrollments ordered by speaker id."""
        with self._transaction(write=False) as cur:
            cur.execute(
                self._sql(f"SELECT {_COLUMNS} FROM speakers ORDER BY speaker_id LIMIT ? OFFSET ?"),
                (int(limit), int(offset)),
            )
            rows = cur.fetchall()
        return [self._decode(r) for r in rows]

    def count(self) -> int:
        """Number of enrolled speakers."""
        with self._transaction(write=False) as cur:
            cur.execute("SELECT COUNT(*) FROM speakers")
            return int(cur.fetchone()[0])

    def delete(self, speaker_id: str) -> None:
        """Remove an enrollment; :class:`SpeakerNotFoundError` if absent."""
        with self._transaction(write=True) as cur:
            cur.execute(self._sql("DELETE FROM speakers WHERE speaker_id = ?"), (speaker_id,))
            deleted = cur.rowcount
        if deleted == 0:
            raise SpeakerNotFoundError(f"speaker {speaker_id!r} is not enrolled; nothing to delete")

    def check_integrity(self) -> list[str]:
        """Ids of rows whose checksum or size does not match (empty when all are sound)."""
        with self._transaction(write=False) as cur:
            cur.execute(f"SELECT {_COLUMNS} FROM speakers")
            rows = cur.fetchall()
        bad = []
        for row in rows:
            try:
                self._decode(row)
            except StoreError:
                bad.append(row[0])
        return bad

    def ping(self) -> None:
        """Raise :class:`StoreError` when the store cannot answer a query."""
        with self._transaction(write=False) as cur:
            cur.execute("SELECT 1")
            cur.fetchone()


class SQLiteStore(EnrollmentStore):
    """Embedded SQLite file (WAL; one connection per thread; durable commits)."""

    backend = "sqlite"
    schema = """CREATE TABLE IF NOT EXISTS speakers (
        speaker_id TEXT PRIMARY KEY, dim INTEGER NOT NULL, count INTEGER NOT NULL CHECK (count > 0),
        model TEXT NOT NULL, embedding BLOB NOT NULL, checksum TEXT NOT NULL,
        created_at REAL NOT NULL, updated_at REAL NOT NULL)"""

    def __init__(self, path: str | Path, secret: bytes | None = None) -> None:
        self.path = Path(path)
        self.secret = secret
        self._local = threading.local()
        self._conns: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{self.path}: cannot create its folder ({exc.strerror}); "
                "pass --db with a writable path"
            ) from None
        with self._transaction(write=True) as cur:
            cur.execute(self.schema)

    def _connection(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            try:
                conn = sqlite3.connect(
                    str(self.path), timeout=30.0, isolation_level=None, check_same_thread=False
                )
                conn.execute("PRAGMA busy_timeout = 30000")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = FULL")
            except sqlite3.Error as exc:
                raise StoreError(
                    f"{self.path}: cannot open the SQLite store ({exc}); "
                    "check the path and its permissions"
                ) from None
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[sqlite3.Cursor]:
        conn = self._connection()
        try:
            conn.execute("BEGIN IMMEDIATE" if write else "BEGIN")
            cur = conn.cursor()
            yield cur
            conn.execute("COMMIT")
        except BaseException as exc:
            if conn.in_transaction:
                conn.rollback()
            if isinstance(exc, sqlite3.Error):
                raise StoreError(
                    f"{self.path}: SQLite error ({exc}); check disk space and "
                    "that no other program locks the file"
                ) from None
            raise

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        self._local = threading.local()


class PostgresStore(EnrollmentStore):
    """PostgreSQL through ``psycopg`` (one connection per thread, reconnecting when broken)."""

    backend = "postgresql"
    placeholder = "%s"
    schema = """CREATE TABLE IF NOT EXISTS speakers (
        speaker_id TEXT PRIMARY KEY, dim INTEGER NOT NULL, count INTEGER NOT NULL CHECK (count > 0),
        model TEXT NOT NULL, embedding BYTEA NOT NULL, checksum TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL, updated_at DOUBLE PRECISION NOT NULL)"""

    def __init__(self, url: str, secret: bytes | None = None) -> None:
        self.secret = secret
        try:
            import psycopg
        except ImportError:
            raise StoreError(
                "a postgresql:// store needs psycopg: pip install 'psycopg[binary]'"
            ) from None
        self._psycopg = psycopg
        self.url = url
        self._local = threading.local()
        self._conns: list[Any] = []
        self._lock = threading.Lock()
        with self._transaction(write=True) as cur:
            cur.execute(self.schema)

    def _safe_url(self) -> str:
        head, _, tail = self.url.rpartition("@")
        return f"postgresql://…@{tail}" if head else self.url

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:
            try:
                conn = self._psycopg.connect(self.url, autocommit=True, connect_timeout=10)
            except self._psycopg.Error as exc:
                raise StoreError(
                    f"{self._safe_url()}: cannot connect to PostgreSQL "
                    f"({str(exc).strip()[:200]}); check the URL and the server"
                ) from None
            self._local.conn = conn
            with self._lock:
                self._conns.append(conn)
        return conn

    @contextmanager
    def _transaction(self, write: bool) -> Iterator[Any]:
        conn = self._connection()
        try:
            with conn.transaction(), conn.cursor() as cur:
                yield cur
        except self._psycopg.Error as exc:
            raise StoreError(
                f"{self._safe_url()}: PostgreSQL error ({str(exc).strip()[:200]})"
            ) from None

    def close(self) -> None:
        with self._lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        self._local = threading.local()


def open_store(target: str | Path, secret: bytes | None = None) -> EnrollmentStore:
    """Open a store: a ``postgresql://`` URL, ``sqlite:///path``, or a plain SQLite file path.

    Args:
        target: where the store lives.
        secret: key of the row HMACs (``None``: plain sha256 checksums, no tamper detection).
    """
    text = str(target)
    if text.startswith(("postgresql://", "postgres://")):
        return PostgresStore(text, secret)
    if text.startswith("sqlite:///"):
        text = text[len("sqlite:///") :]
    elif "://" in text:
        raise StoreError(
            f"{text.split('://')[0]}://: unsupported store URL; use a SQLite file "
            "path, sqlite:///path or postgresql://user@host/db"
        )
    return SQLiteStore(text, secret)
