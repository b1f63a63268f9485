"""Browser tests: a real ``rma serve`` in a subprocess, driven by the Debian headless Chromium.

``station`` starts one server per test on a free port, against the test's own fresh
database (``db_url``: SQLite, and PostgreSQL when ``RMA_TEST_POSTGRES_URL`` is set), with
its own ``RMA_HOME``; it stops the server at teardown and prints its log when the test
failed. The browser is started once per session; each test begins with no cookies.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import pytest

from tests.conftest import need
from tests.e2e.station import (
    CHROME_ARGS,
    CHROMEDRIVER,
    CHROMIUM,
    SERVER_START_TIMEOUT_S,
    Station,
    free_port,
    seed_station,
    server_command,
)


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):  # noqa: ANN001
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


@pytest.fixture
def station(request, db_url, tmp_path) -> Station:  # noqa: ANN001
    seed = seed_station(db_url)
    home = tmp_path / "home"
    home.mkdir(exist_ok=True)  # a test may have written its rma.toml into it first
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           # pytest's and NiceGUI's own variables would switch NiceGUI into its test modes.
           if not k.startswith(("PYTEST_", "NICEGUI_")) and k != "RMA_USER"}
    env.update(RMA_HOME=str(home), RMA_DATABASE_URL=db_url, PYTHONUNBUFFERED="1")
    log_path = tmp_path / "server.log"
    log = log_path.open("wb")
    cwd = tmp_path / "cwd"  # nothing may be written to the current directory
    cwd.mkdir()
    proc = subprocess.Popen(server_command(port), env=env, cwd=cwd, stdout=log, stderr=subprocess.STDOUT,
                            start_new_session=True)
    st = Station(f"http://127.0.0.1:{port}", home, log_path, seed, db_url)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_S
        while True:
            if proc.poll() is not None:
                pytest.fail(f"rma serve exited with {proc.returncode}:\n{st.log()}", pytrace=False)
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"rma serve did not answer on port {port}:\n{st.log()}", pytrace=False)
                time.sleep(0.05)
        yield st
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()
        failed = any(getattr(getattr(request.node, f"rep_{w}", None), "failed", False) for w in ("setup", "call"))
        if failed:
            print(f"\n----- rma serve log ({st.base}) -----\n{st.log()}")
        assert not any(cwd.iterdir()), f"the server wrote into its working directory: {list(cwd.iterdir())}"


# ---------------------------------------------------------------- the browser

def _new_chrome(profile: Path):  # noqa: ANN202
    need(CHROMIUM.exists(), f"Chromium ({CHROMIUM})")
    need(CHROMEDRIVER.exists(), f"chromedriver ({CHROMEDRIVER})")
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    options = Options()
    options.binary_location = str(CHROMIUM)  # with the driver's path below: no selenium-manager
    for arg in CHROME_ARGS:
        options.add_argument(arg)
    options.add_argument(f"--user-data-dir={profile}")
    driver = webdriver.Chrome(service=Service(str(CHROMEDRIVER)), options=options)
    driver.set_page_load_timeout(30)
    return driver


@pytest.fixture(scope="session")
def chrome(tmp_path_factory):  # noqa: ANN001, ANN201
    driver = _new_chrome(tmp_path_factory.mktemp("chrome-profile"))
    yield driver
    driver.quit()


@pytest.fixture
def second_browser(station, tmp_path_factory):  # noqa: ANN001, ANN201
    """Another person's browser on the same station (its own profile, cookies and session)."""
    driver = _new_chrome(tmp_path_factory.mktemp("chrome-profile-2"))
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def browser(request, chrome, station, tmp_path):  # noqa: ANN001, ANN201
    """The session's browser, on this test's station, with no cookies of earlier tests.

    When the test fails, the screen and the page's text are kept next to the server log.
    """
    chrome.get(station.url("/login"))
    chrome.delete_all_cookies()
    yield chrome
    if getattr(getattr(request.node, "rep_call", None), "failed", False):
        shot = tmp_path / "failure.png"
        chrome.save_screenshot(str(shot))
        body = chrome.find_element("tag name", "body").text
        print(f"\n----- browser at {chrome.current_url} (screenshot {shot}) -----\n{body}")
    chrome.delete_all_cookies()
    # leave no page open: a page's timers and its reconnecting to this test's stopped server would
    # spend the CPU of every test after it (the browser lives for the whole session)
    chrome.get("about:blank")
