"""Procore list pagination as a pure state machine over responses (no I/O here).

Procore pages with `page`/`per_page` and answers with `Link` (RFC 5988: first, prev,
next, last), `Total` (item count) and `Per-Page`. `Paginator.advance` takes what one
response said (its URL, headers and item count) and returns the URL of the next page or
None. It stops on an empty page, when `Total` items have been seen, or when there is no
`next` link; it raises `PaginationLoop` when a server would send it back to a page it
already read.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit, urlunsplit

from fieldbridge.connectors.procore.errors import ProcoreError

_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([a-zA-Z]+)"?')


class PaginationLoop(ProcoreError):
    """The server's `next` link points at a page already read."""


def parse_link(header: str | None) -> dict[str, str]:
    """`<url>; rel="next", <url>; rel="last"` -> {"next": url, "last": url}."""
    return {rel.lower(): url for url, rel in _LINK.findall(header or "")}


def _int(headers: Mapping[str, str], name: str) -> int | None:
    raw = headers.get(name) or headers.get(name.lower())
    try:
        return int(raw) if raw is not None else None
    except ValueError:
        return None


def canonical(url: str) -> str:
    """A URL with its query sorted, so the same page always looks the same."""
    parts = urlsplit(url)
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, query, ""))


def with_page(url: str, page: int) -> str:
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "page"]
    query.append(("page", str(page)))
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def _page_of(url: str) -> int:
    for key, value in parse_qsl(urlsplit(url).query):
        if key == "page" and value.isdigit():
            return int(value)
    return 1


@dataclass
class Paginator:
    seen: set[str] = field(default_factory=set)
    items: int = 0
    pages: int = 0
    total: int | None = None

    def advance(self, url: str, headers: Mapping[str, str], count: int) -> str | None:
        """Record one fetched page; return the next page's URL, or None when done."""
        self.seen.add(canonical(url))
        self.pages += 1
        self.items += count
        total = _int(headers, "Total")
        if total is not None:
            self.total = total
        if count == 0 or (self.total is not None and self.items >= self.total):
            return None
        links = parse_link(headers.get("Link") or headers.get("link"))
        if "next" in links:
            nxt = urljoin(url, links["next"])
        elif self.total is not None:  # no Link header, but Total says there is more
            nxt = with_page(url, _page_of(url) + 1)
        else:
            return None
        if canonical(nxt) in self.seen:
            raise PaginationLoop(f"Procore pagination loops: {nxt} was already read.")
        return nxt
