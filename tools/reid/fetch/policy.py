"""Which URLs may be fetched: http(s) only, public addresses only (unless allowed), checked on
every hop and pinned to the checked address; and URLs as messages may show them (redacted).
"""

from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx

from tools.reid.errors import FetchError

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

_DEFAULT_PORTS = {"http": 80, "https": 443}
_METADATA = frozenset(ipaddress.ip_address(a) for a in ("169.254.169.254", "fd00:ec2::254"))
_CGNAT = ipaddress.ip_network("100.64.0.0/10")
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ALLOW_PRIVATE_HINT = (
    "Only public addresses may be fetched; set REID_ALLOW_PRIVATE_URLS=true to allow "
    "private networks (e.g. an on-premises footage server)."
)
REACH_HINT = "Check that the URL is reachable from the machine running ReID."


# --- Redaction --------------------------------------------------------------------------------


def redact_url(url: str) -> str:
    """The URL as it may appear in messages and logs: ``scheme://host/path?…``.

    Query strings and fragments often carry access tokens (pre-signed links, share keys) and
    user info carries passwords, so those are replaced or dropped; host and path stay, because
    they are what a user needs to recognise which link failed.
    """
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<invalid URL>"
    host = parts.netloc.rpartition("@")[2]
    query = "…" if parts.query else ""
    fragment = "…" if parts.fragment else ""
    return urlunsplit((parts.scheme, host, parts.path, query, fragment))


def fetch_error(what: str, url: str | httpx.URL, reason: str) -> FetchError:
    return FetchError(f"Cannot fetch the {what} from {redact_url(str(url))}: {reason}")


# --- Address policy ---------------------------------------------------------------------------


def resolve_host(host: str, port: int) -> list[IPAddress]:
    """Every address `host` resolves to, in the system's order of preference.

    A module-level function so tests can stand in a fake DNS and still exercise the real
    policy, redirect and pinning logic.

    Raises:
        FetchError: the name does not resolve.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise FetchError(
            f"could not resolve host {host!r} ({exc}). Check the spelling of the URL and that "
            "the host is known to the DNS of the machine running ReID."
        ) from exc
    addresses = (ipaddress.ip_address(str(info[4][0]).partition("%")[0]) for info in infos)
    return list(dict.fromkeys(addresses))


def _embedded_ipv4(ip: IPAddress) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 address reaches through mapping, NAT64 or 6to4, if any.

    ``::ffff:10.0.0.1`` connects to 10.0.0.1 on a dual-stack socket, and a NAT64 or 6to4 gateway
    forwards to the embedded address, so those must be judged as that IPv4 address.
    """
    if isinstance(ip, ipaddress.IPv4Address):
        return None
    if ip.ipv4_mapped is not None:
        return ip.ipv4_mapped
    if ip in _NAT64:
        return ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    return ip.sixtofour


def address_problem(ip: IPAddress) -> str | None:
    """Why `ip` is not a public internet address (e.g. ``"loopback"``), or None when it is.

    `ipaddress.is_global` alone is not enough: on Python 3.11 it misjudges IPv4-mapped IPv6
    and a plain `not is_global` gives no reason a user could act on, so the common classes are
    named first.
    """
    embedded = _embedded_ipv4(ip)
    if embedded is not None:
        problem = address_problem(embedded)
        return None if problem is None else f"{problem} (via IPv6 {ip})"
    checks: tuple[tuple[bool, str], ...] = (
        (ip.is_unspecified, "unspecified"),
        (ip.is_loopback, "loopback"),
        (ip in _METADATA, "cloud metadata service"),
        (ip.is_link_local, "link-local"),
        (ip in _CGNAT, "carrier-grade NAT (shared)"),
        (ip.is_multicast, "multicast"),
        (ip.is_reserved, "reserved"),
        (ip.is_private, "private"),
        (not ip.is_global, "special-purpose"),
    )
    return next((label for failed, label in checks if failed), None)


@dataclass(frozen=True)
class Target:
    """A URL that passed the policy, bound to the address that was checked.

    Pinning: the request goes to ``address`` literally (the URL's host is swapped for it),
    while the ``Host`` header and, for https, the TLS server name and certificate check use the
    real host name. Re-resolving and comparing would still leave a window between the second
    lookup and httpx's own; connecting to the checked address leaves none. The price is no
    fallback to a second address if the first is down, which the system's address ordering
    makes rare.
    """

    url: httpx.URL
    """The URL as the user gave it: used for messages, Host, TLS and resolving redirects."""
    address: IPAddress

    def request(self, client: httpx.AsyncClient) -> httpx.Request:
        host = self.url.raw_host.decode("ascii")
        extensions = {"sni_hostname": host} if self.url.scheme == "https" else {}
        return client.build_request(
            "GET",
            self.url.copy_with(host=str(self.address)),
            headers={"Host": self.url.netloc.decode("ascii")},
            extensions=extensions,
        )


def checked_target(url: str, *, allow_private: bool, what: str) -> Target:
    """Parse, resolve and judge `url`; the single gate every hop passes through."""
    try:
        parsed = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise fetch_error(what, url, f"it is not a valid URL ({exc})") from exc
    if parsed.scheme not in _DEFAULT_PORTS:
        raise fetch_error(what, url, "only http:// and https:// URLs can be fetched")
    if not parsed.raw_host:
        raise fetch_error(what, url, "the URL has no host name")
    host = parsed.raw_host.decode("ascii")
    try:
        addresses = resolve_host(host, parsed.port or _DEFAULT_PORTS[parsed.scheme])
    except FetchError as exc:
        raise fetch_error(what, url, str(exc)) from exc
    if not addresses:
        raise fetch_error(what, url, f"could not resolve host {host!r} (no addresses)")
    if not allow_private:
        for ip in addresses:
            problem = address_problem(ip)
            if problem is not None:
                reason = f"host {host!r} resolves to {ip}, a non-public ({problem}) address. "
                raise fetch_error(what, url, reason + _ALLOW_PRIVATE_HINT)
    return Target(parsed, addresses[0])


def is_url(location: str) -> bool:
    """Whether a location names an http(s) URL rather than a local path."""
    return location.startswith(("http://", "https://"))


def check_url(url: str, *, allow_private: bool, what: str = "file") -> None:
    """Refuse a URL the service must not fetch, before accepting a job that would fetch it.

    Raises:
        FetchError: not http(s), no host, unresolvable, or (unless `allow_private`) some
            address of the host is loopback, private, link-local, metadata, CGNAT, multicast,
            reserved or unspecified. The message names `what` and the redacted URL.
    """
    checked_target(url, allow_private=allow_private, what=what)
