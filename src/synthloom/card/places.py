"""How a card names the places a run touched without giving away the user's machine or secrets.

A run.json holds the teacher's full base URL and absolute paths (the taxonomy, the prompts
file, the curate input). A card is written to be published, so:

- an endpoint is described by its kind, never its address, when it is on this machine or a
  private network (``a server on a private network``); a public host is named by its host name
  alone: no user, password, port, path, query or fragment (query strings carry tokens);
- a path is shown relative to the folder the card describes when it lies inside it, as given
  when the user wrote it relative, and by its last part otherwise (``/home/ann/prompts.jsonl``
  becomes ``prompts.jsonl``);
- a git remote loses its user and password (``https://user:token@host/repo``).
"""

from __future__ import annotations

import ipaddress
import os
import re
from pathlib import Path, PurePosixPath, PureWindowsPath
from urllib.parse import urlsplit

__all__ = ["describe_endpoint", "is_local_path", "public_url", "shown_path"]

# Host names that only resolve inside an organisation or a cluster.
_PRIVATE_SUFFIXES = (".local", ".internal", ".lan", ".home", ".corp", ".svc", ".localdomain")
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:[\\/]")


def _host_kind(host: str) -> str:
    """``loopback``, ``private`` or ``public``."""
    host = host.strip("[]").lower()
    if host in ("localhost", "localhost.localdomain") or host.endswith(".localhost"):
        return "loopback"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        # One label ("vllm-lb") or an internal domain: a name only a private network resolves.
        if "." not in host or host.endswith(_PRIVATE_SUFFIXES):
            return "private"
        return "public"
    if address.is_loopback:
        return "loopback"
    if address.is_private or address.is_link_local or address.is_unspecified:
        return "private"
    return "public"


def describe_endpoint(url: str | None) -> str:
    """Where a model was reached, in words that hold no address a reader could use or abuse."""
    if not url:
        return "an OpenAI-compatible server (address not recorded)"
    try:
        host = urlsplit(url).hostname
    except ValueError:
        host = None
    if not host:
        return "an OpenAI-compatible server"
    kind = _host_kind(host)
    if kind == "loopback":
        return "a server on the machine that ran the job (self-hosted)"
    if kind == "private":
        return "a server on a private network (self-hosted)"
    return f"the hosted API at {host.lower()}"


def public_url(url: str) -> str | None:
    """A URL without user, password, port, query or fragment; None for a private host or
    for what is no URL (a local path as a git remote)."""
    try:
        parts = urlsplit(url)
        host = parts.hostname
    except ValueError:
        return None
    if parts.scheme not in ("http", "https", "ssh", "git") or not host:
        # scp-like git remotes: git@github.com:org/repo.git
        match = re.match(r"^[\w.-]+@([\w.-]+):(.+)$", url)
        if match and _host_kind(match.group(1)) == "public":
            return f"{match.group(1).lower()}:{match.group(2)}"
        return None
    if _host_kind(host) != "public":
        return None
    scheme = "https" if parts.scheme in ("http", "https") else parts.scheme
    return f"{scheme}://{host.lower()}{parts.path}"


def is_local_path(value: str) -> bool:
    """Whether a string is an absolute or home-relative path of some machine."""
    return value.startswith(("/", "~", "\\\\")) or bool(_WINDOWS_DRIVE.match(value))


def shown_path(value: str | os.PathLike[str], inside: Path | None = None) -> str:
    """``value`` as a card may show it (see the module docstring)."""
    text = os.fspath(value)
    if text.startswith("file://"):
        text = text.removeprefix("file://")
    if inside is not None and is_local_path(text):
        try:
            relative = Path(text).resolve().relative_to(inside.resolve())
        except (ValueError, OSError):
            pass
        else:
            return relative.as_posix() or "."
    if not is_local_path(text):
        if "://" in text:  # an object-store or web location: keep its scheme and host only
            shown = public_url(text)
            return shown if shown is not None else text.split("://", 1)[0] + "://…"
        return PurePosixPath(text.replace("\\", "/")).as_posix()
    name = PureWindowsPath(text).name if _WINDOWS_DRIVE.match(text) else Path(text).name
    return name or "."
