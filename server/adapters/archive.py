"""An uploaded adapter: its files as one tar (optionally gzipped) or zip archive, unpacked
into a local folder named by the archive's digest (the same upload unpacks once)."""

from __future__ import annotations

import hashlib
import io
import shutil
import tarfile
import tempfile
import zipfile
from pathlib import Path

from server.generation.lora import CONFIG_FILE, InvalidAdapter

ROOT = Path(tempfile.gettempdir()) / "inference-adapters"


def unpack(archive: bytes, root: Path = ROOT) -> str:
    """The folder holding ``archive``'s adapter (the one with ``adapter_config.json``)."""
    folder = root / hashlib.sha256(archive).hexdigest()[:32]
    if not folder.is_dir():
        partial = Path(tempfile.mkdtemp(prefix=".partial-", dir=_made(root)))
        try:
            _extract(archive, partial)
            partial.rename(folder)
        except FileExistsError:  # unpacked meanwhile by another request
            shutil.rmtree(partial, ignore_errors=True)
        except BaseException:
            shutil.rmtree(partial, ignore_errors=True)
            raise
    found = sorted(folder.rglob(CONFIG_FILE), key=lambda p: len(p.parts))
    if not found:
        raise InvalidAdapter(f"the uploaded archive holds no {CONFIG_FILE}")
    return str(found[0].parent)


def _made(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    return root


def _extract(archive: bytes, into: Path) -> None:
    if zipfile.is_zipfile(io.BytesIO(archive)):
        with zipfile.ZipFile(io.BytesIO(archive)) as zipped:
            for name in zipped.namelist():
                target = (into / name).resolve()
                if not target.is_relative_to(into.resolve()):
                    raise InvalidAdapter(f"the uploaded archive has an unsafe path: {name}")
            zipped.extractall(into)
        return
    try:
        with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
            tar.extractall(into, filter="data")
    except (tarfile.TarError, OSError) as exc:
        raise InvalidAdapter(f"the upload is not a tar or zip archive: {exc}") from None
