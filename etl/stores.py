"""Object stores (s3://, s3a://, gs://, abfs://…: any scheme an fsspec file system is installed for), where a
source's files or a published lake may sit. Credentials and the endpoint come from the store's usual environment
variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_ENDPOINT_URL, …)."""

from __future__ import annotations

import contextlib
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any


class StoreError(OSError):
    """The object store could not be reached, or refused a request (credentials, permissions): its client's words,
    with the URI asked for."""


def _client_errors() -> tuple[type[BaseException], ...]:
    """What a store's client raises when the store does not answer or refuses: OSError from fsspec's file systems,
    and botocore's own errors (s3fs lets a connection failure or missing credentials through as they are)."""
    kinds: list[type[BaseException]] = [OSError]
    try:
        from botocore.exceptions import BotoCoreError, ClientError

        kinds += [BotoCoreError, ClientError]
    except ImportError:
        pass
    return tuple(kinds)


@contextlib.contextmanager
def asking(uri: str) -> Iterator[None]:
    """Inside the block, a failure of the store's client is raised as StoreError naming `uri`; a missing file stays
    FileNotFoundError (the caller says what was missing)."""
    try:
        yield
    except (FileNotFoundError, StoreError):
        raise
    except _client_errors() as exc:
        raise StoreError(f"{uri}: the object store did not answer or refused ({type(exc).__name__}: {exc})") from exc


def is_remote(uri: str | Path) -> bool:
    """A URI with a scheme other than file://: an object store."""
    text = str(uri)
    return "://" in text and not text.startswith("file://")


def store_path(uri: str) -> str:
    """Where `uri` is inside its store (bucket/key…), as its fsspec file system names paths."""
    return uri.split("://", 1)[1].rstrip("/")


def object_store(uri: str) -> Any:
    """The fsspec file system for an object store's URI, or ValueError saying what is missing."""
    try:
        import fsspec

        return fsspec.filesystem(uri.split("://", 1)[0])
    except ImportError as exc:
        raise ValueError(f"{uri}: reading this object store needs a package that is not installed ({exc})") from exc
    except ValueError as exc:
        raise ValueError(f"{uri}: no file system is known for this scheme ({exc})") from exc


@contextlib.contextmanager
def fetched(uri: str, beside: Path) -> Iterator[Path]:
    """The files under the folder `uri` of an object store, copied into a temporary folder beside `beside` (the
    warehouse, whose disk holds the load's spill too) for as long as the block runs, with their relative paths;
    FileNotFoundError when there is no file there, StoreError when the store does not answer."""
    fs = object_store(uri)
    root = store_path(uri)
    try:
        with asking(uri):
            names = [name for name in fs.find(root) if name.rstrip("/") != root]
    except FileNotFoundError:
        names = []
    if not names:
        raise FileNotFoundError(f"{uri}: no files there")
    beside.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{beside.name}.source-", dir=beside.parent))
    try:
        copy_down(fs, uri, names, folder)
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def copy_down(fs: Any, uri: str, names: list[str], folder: Path) -> None:
    """Copy the store's files `names` (under the folder `uri`) into `folder`, keeping their paths below `uri`."""
    root = store_path(uri)
    with asking(uri):
        for name in names:
            local = folder / name[len(root):].lstrip("/")
            local.parent.mkdir(parents=True, exist_ok=True)
            fs.get_file(name, str(local))
