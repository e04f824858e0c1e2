"""Pagination as a pure function: hand-built responses, no network."""

import pytest

from fieldbridge.connectors.procore.pagination import PaginationLoop, Paginator, canonical, parse_link

BASE = "https://api.procore.com/rest/v1.0/cost_codes?project_id=1&per_page=2"


def link(*pairs: tuple[int, str]) -> str:
    return ", ".join(
        f'<{BASE.split("?")[0]}?project_id=1&page={p}&per_page=2>; rel="{rel}"' for p, rel in pairs
    )


def test_parse_link_reads_every_relation() -> None:
    rels = parse_link(link((2, "next"), (5, "last")))
    assert set(rels) == {"next", "last"}
    assert rels["next"].endswith("page=2&per_page=2")
    assert parse_link(None) == {}
    assert parse_link("garbage") == {}


def test_follows_next_until_the_last_page() -> None:
    p = Paginator()
    nxt = p.advance(BASE, {"Link": link((2, "next"), (3, "last")), "Total": "5", "Per-Page": "2"}, 2)
    assert nxt is not None
    assert "page=2" in nxt
    nxt2 = p.advance(
        nxt, {"Link": link((1, "first"), (1, "prev"), (3, "next"), (3, "last")), "Total": "5"}, 2
    )
    assert nxt2 is not None
    assert "page=3" in nxt2
    assert p.advance(nxt2, {"Link": link((1, "first"), (2, "prev")), "Total": "5"}, 1) is None
    assert (p.pages, p.items) == (3, 5)


def test_stops_on_total_even_with_a_stray_next_link() -> None:
    p = Paginator()
    assert p.advance(BASE, {"Link": link((2, "next")), "Total": "2"}, 2) is None


def test_stops_on_an_empty_page_and_without_links() -> None:
    assert Paginator().advance(BASE, {"Link": link((2, "next"))}, 0) is None
    assert Paginator().advance(BASE, {}, 2) is None


def test_falls_back_to_page_numbers_when_total_says_more() -> None:
    p = Paginator()
    nxt = p.advance(BASE, {"Total": "3"}, 2)
    assert nxt is not None
    assert "page=2" in nxt


def test_a_next_link_back_to_a_read_page_is_a_loop() -> None:
    p = Paginator()
    first = f"{BASE}&page=1"
    nxt = p.advance(first, {"Link": link((2, "next")), "Total": "10"}, 2)
    assert nxt is not None
    with pytest.raises(PaginationLoop):
        p.advance(nxt, {"Link": link((1, "next")), "Total": "10"}, 2)


def test_canonical_ignores_query_order() -> None:
    assert canonical("https://x/a?b=1&a=2") == canonical("https://x/a?a=2&b=1")
