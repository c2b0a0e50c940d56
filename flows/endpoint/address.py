"""Where a running read endpoint is: a small file in the data directory it serves.

The process that owns an embedded store (``voc run``, ``voc demo``, ``voc serve``) writes
``read-endpoint.json`` into the chDB directory once its endpoint listens, and removes it when
it stops. The file holds no secret: the address, the process id, the command and a random
instance id that the endpoint repeats in an ``X-Voc-Instance`` header on ``/ping``.

:func:`find` is how every other process finds it. A file is stale (and removed) when its
process is gone or when its address answers without the instance id; a process killed
without a chance to clean up leaves such a file, and the next reader clears it.
"""

from __future__ import annotations

import contextlib
import json
import os
import urllib.error
import urllib.request
from dataclasses import asdict, dataclass
from pathlib import Path

#: The file, in the chDB data directory.
FILE_NAME = "read-endpoint.json"
#: The header ``/ping`` answers with: the instance id of the endpoint.
INSTANCE_HEADER = "X-Voc-Instance"


@dataclass(frozen=True)
class Address:
    """A running read endpoint: where it listens and which process serves it."""

    host: str
    port: int
    pid: int
    command: str
    instance: str
    user: str
    started_at: str

    @property
    def url(self) -> str:
        """The endpoint's base URL."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


def address_file(data_dir: str | Path) -> Path:
    """The address file of the chDB directory ``data_dir``."""
    return Path(data_dir) / FILE_NAME


def publish(data_dir: str | Path, address: Address) -> Path:
    """Write ``address`` into ``data_dir`` (atomically, readable by the owner only)."""
    path = address_file(data_dir)
    temporary = path.with_name(f".{FILE_NAME}.{address.pid}")
    temporary.write_text(json.dumps(asdict(address), indent=2) + "\n", encoding="utf-8")
    temporary.chmod(0o600)
    temporary.replace(path)
    return path


def withdraw(data_dir: str | Path, address: Address) -> None:
    """Remove the address file if it still names ``address`` (not a successor's)."""
    path = address_file(data_dir)
    if read(data_dir) == address:
        with contextlib.suppress(FileNotFoundError):
            path.unlink()


def read(data_dir: str | Path) -> Address | None:
    """The address written in ``data_dir``, alive or not; ``None`` if there is none."""
    try:
        fields = json.loads(address_file(data_dir).read_text(encoding="utf-8"))
        return Address(**fields)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except (OSError, ValueError, TypeError):  # half-written or foreign: not an address
        return None


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists (it may belong to another user)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def answers(address: Address, timeout: float = 2.0) -> bool:
    """Whether the endpoint at ``address`` answers ``/ping`` as the instance it claims."""
    direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy
    try:
        with direct.open(f"{address.url}/ping", timeout=timeout) as response:
            return bool(response.headers.get(INSTANCE_HEADER) == address.instance)
    except (urllib.error.URLError, OSError, ValueError):
        return False


def owner_pid(data_dir: str | Path) -> int | None:
    """The live process that has the chDB directory open (its ``status`` file), if any.

    chDB writes ``PID: N`` into ``status`` while a process holds the directory's lock and
    removes the file when it closes; a file left by a killed process names a dead process.
    """
    try:
        text = (Path(data_dir) / "status").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    for line in text.splitlines():
        name, _, value = line.partition(":")
        if name.strip() == "PID" and value.strip().isdigit():
            pid = int(value.strip())
            return pid if process_alive(pid) else None
    return None


def find(data_dir: str | Path) -> Address | None:
    """The live read endpoint of another process serving ``data_dir``, if there is one.

    A stale file (its process gone, or its address not answering as that endpoint) is
    removed. The calling process's own endpoint is not returned: it owns the store.
    """
    address = read(data_dir)
    if address is None or address.pid == os.getpid():
        return None
    if process_alive(address.pid) and answers(address):
        return address
    if not process_alive(address.pid):
        with contextlib.suppress(OSError):
            withdraw(data_dir, address)
    return None
