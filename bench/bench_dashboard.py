"""Benchmark: All Users with 100,000 synced users (200 tenants x 500 users) in headless chromium.

Prints the time from navigation to the first rows of All Users, from navigation to the
Overview's cards, and from the last key of a search typed at a person's speed (30 ms a key) to
the filtered list. Targets: <= 1.5 s (median of 5 warm loads), <= 1.5 s (median of 5 Overview
loads) and <= 0.3 s. The first session of a fresh server process opens the Overview one second
after the server started ("first session"): the server computes the Overview's figures and the
All Users listing in the background from its start, so that session may wait for them. The
first All Users of the process is reported as "cold"; the target applies to the next ("warm")
navigations, each from a new browser profile; "cached" is a returning browser with the
dashboard's scripts in its cache. One JSON line (`BENCH {...}`) follows.

    .venv/bin/python bench/bench_dashboard.py [--tenants 200] [--users 500]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from dashboard.server import free_port, serve        # noqa: E402
from emulator import Emulator                        # noqa: E402
from services import connect                         # noqa: E402

ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def first_rows(page, url: str) -> float:
    start = time.perf_counter()
    page.goto(url)
    page.locator(".m365-users .tabulator-row").first.wait_for(timeout=120_000)
    return time.perf_counter() - start


def overview_cards(page, url: str) -> float:
    start = time.perf_counter()
    page.goto(url)
    page.locator(".m365-card-users .m365-card-figure").wait_for(timeout=120_000)
    return time.perf_counter() - start


def filtered(page, text: str, expect: str) -> float:
    """Seconds from the last key (typed 30 ms apart) to the count of the filtered list."""
    box = page.locator(".m365-search input")
    box.click()
    box.press_sequentially(text[:-1], delay=30)
    box.press(text[-1])
    start = time.perf_counter()
    page.locator(".m365-user-count", has_text=expect).wait_for(timeout=60_000)
    elapsed = time.perf_counter() - start
    if box.input_value() != text:
        raise AssertionError(f"the search box lost keys: {box.input_value()!r} for {text!r}")
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--tenants", type=int, default=200)
    parser.add_argument("--users", type=int, default=500)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright
    with Emulator(tenants=args.tenants, users_per_tenant=args.users, seed=7) as emu:
        m365 = connect(emu.config_path)
        t = time.perf_counter()
        m365.sync(progress=False)
        sync_s = time.perf_counter() - t
        load_before = os.getloadavg()[0]
        users = m365.users()
        target = users["display_name"].iloc[len(users) // 2]
        needle = users["user_principal_name"].iloc[len(users) // 2].split("@")[0]
        hits = int(users["user_principal_name"].str.lower().str.contains(needle.lower(), regex=False).sum())
        port = free_port()
        server = serve(m365, port=port, threaded=True)
        time.sleep(1)
        url = f"http://127.0.0.1:{port}/?page=users"
        overview_url = url.replace("?page=users", "")
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
            overview_first = overview_cards(browser.new_page(viewport={"width": 1400, "height": 1000}),
                                            overview_url)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            cold = first_rows(page, url)
            warms = []
            for _ in range(5):
                page.close()
                page = browser.new_page(viewport={"width": 1400, "height": 1000})
                warms.append(first_rows(page, url))
            warm = statistics.median(warms)
            # A technician's browser keeps the dashboard's scripts (about 5 MB of Bokeh, Panel
            # and Tabulator) in its cache: the second visit of one browser profile.
            context = browser.new_context(viewport={"width": 1400, "height": 1000})
            first_rows(context.new_page(), url)
            cached = first_rows(context.new_page(), url)
            page.locator(".m365-user-count", has_text=f"{len(users):,} of").wait_for()
            overviews = [overview_cards(browser.new_page(viewport={"width": 1400, "height": 1000}),
                                        overview_url) for _ in range(5)]
            overview = statistics.median(overviews)
            searches = []
            for _ in range(3):
                searches.append(filtered(page, needle, f"{hits:,} of {len(users):,} users"))
                page.locator(".m365-users .tabulator-row", has_text=target).first.wait_for()
                page.locator(".m365-search input").fill("")
                page.locator(".m365-user-count", has_text=f"{len(users):,} of").wait_for()
            search = statistics.median(searches)
            browser.close()
        server.stop()
        m365.close()
    print(f"users: {len(users):,} in {args.tenants} tenants (sync {sync_s:.1f}s); load average "
          f"{load_before:.2f} before, {os.getloadavg()[0]:.2f} after")
    print(f"All Users first rows: cold {cold:.2f}s (new server process), warm {warm:.2f}s "
          f"(median of {', '.join(f'{w:.2f}' for w in warms)}; new browser profile each), "
          f"cached {cached:.2f}s (scripts in the browser cache); target <= 1.5 s")
    print(f"Overview cards: first session {overview_first:.2f}s (1 s after the server "
          f"started), then "
          f"{overview:.2f}s (median of {', '.join(f'{o:.2f}' for o in overviews)}); "
          "target <= 1.5 s")
    print(f"filtered list for '{needle}' ({hits} match) after the last key: {search:.2f}s "
          f"(median of {', '.join(f'{s:.2f}' for s in searches)}; target <= 0.3 s)")
    print("BENCH " + json.dumps({"users": len(users), "sync_s": round(sync_s, 2),
                                 "first_rows_cold_s": round(cold, 3), "first_rows_warm_s": round(warm, 3),
                                 "first_rows_cached_s": round(cached, 3),
                                 "first_rows_warm_all_s": [round(w, 3) for w in warms],
                                 "overview_first_s": round(overview_first, 3),
                                 "overview_s": round(overview, 3),
                                 "overview_all_s": [round(o, 3) for o in overviews],
                                 "filter_after_last_key_s": round(search, 3)}))
    # The warm navigation carries the first-rows target; exit 1 so `make bench` lists a miss.
    return 0 if warm <= 1.5 and search <= 0.3 and overview <= 1.5 else 1


if __name__ == "__main__":
    sys.exit(main())
