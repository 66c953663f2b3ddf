"""Cookie mode in headless Chromium, with the real applications of
test_cookie_apps.py served over https as https://a.test:PORT and
https://b.test:PORT: with third-party cookies allowed the loader (script
flow, the cookie's attributes "SameSite=None; Secure") shares the login,
a change and a logout; with third-party cookies blocked a go link does
(default attributes, SameSite=Lax)."""

import re

import pytest

import ssapps
from test_browser import WAIT, chromium, wait_for  # noqa: F401 (fixture)
from test_cookie_apps import backend, django_dir, fpm, gunicorn  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser

SCRIPT_ATTRS = "Path=/; Secure; HttpOnly; SameSite=None"
PAGES = {
    "django": {"login": "/login/", "logout": "/logout/", "color": "/color/?c="},
    "php": {"login": "/login.php", "logout": "/logout.php", "color": "/color.php?c="},
}


@pytest.fixture(scope="module")
def cert(gen_dir):
    return ssapps.make_cert(gen_dir / "cookie-tls")


def quit_all(driver):
    try:
        driver.quit()
    except Exception:       # a browser that is gone already
        pass


def start(request, httpd, keys, cert, kind, attrs):
    h = httpd("cookie-browser-" + kind)
    ssapps.configure(h, kind, keys["key1"], backend(request, kind), attrs=attrs, cert=cert)
    h.start()
    return h


def url(h, host, path):
    return f"https://{host}:{h.port}{path}"


def shown(driver, what):
    from selenium.webdriver.common.by import By
    els = driver.find_elements(By.ID, what)
    return els[0].text.split(": ", 1)[1] if els else None


def log_in(driver, h, pages):
    from selenium.webdriver.common.by import By
    driver.get(url(h, "a.test", pages["login"]))
    driver.find_element(By.ID, "id_username").send_keys(ssapps.USER)
    driver.find_element(By.ID, "id_password").send_keys(ssapps.PASSWORD)
    driver.find_element(By.ID, "submit").click()
    wait_for(lambda: shown(driver, "user") == ssapps.USER,
             f"the login on A to land on a page greeting {ssapps.USER}")


def loaders_at_b(h, result):
    return [e for e in h.access_entries()
            if e["host"].startswith("b.test") and e["uri"].endswith("<ticket>.js")
            and e["result"] == result]


def wait_loader(h, result, count):
    wait_for(lambda: len(loaders_at_b(h, result)) >= count,
             f"{count} loader(s) at B with result {result}")


@pytest.mark.parametrize("kind", ["django-proxy", "django-wsgi", "php-fpm"])
def test_script_flow_with_third_party_cookies(request, httpd, keys, cert, chromium, kind):
    h = start(request, httpd, keys, cert, kind, SCRIPT_ATTRS)
    driver = chromium(True)
    try:
        script_flow(h, driver, PAGES[kind.split("-")[0]])
    finally:
        quit_all(driver)


def script_flow(h, driver, pages):
    driver.get(url(h, "b.test", "/"))
    assert shown(driver, "user") == "anonymous"
    log_in(driver, h, pages)
    wait_loader(h, "replaced", 1)
    driver.get(url(h, "b.test", "/"))
    assert shown(driver, "user") == ssapps.USER

    # a change on A, then one page on A
    driver.get(url(h, "a.test", pages["color"] + "green"))
    driver.get(url(h, "a.test", "/"))
    driver.get(url(h, "b.test", "/"))
    assert shown(driver, "color") == "green"

    # a logout on A logs B out; B's pages never log A back in
    before = len(loaders_at_b(h, "replaced"))
    driver.get(url(h, "a.test", pages["logout"]))
    wait_for(lambda: shown(driver, "user") == "anonymous", "the logout on A")
    wait_loader(h, "replaced", before + 1)
    driver.get(url(h, "b.test", "/"))
    assert shown(driver, "user") == "anonymous"
    driver.get(url(h, "a.test", "/"))
    assert shown(driver, "user") == "anonymous"


@pytest.mark.parametrize("kind", ["django-proxy", "django-wsgi", "php-fpm"])
def test_go_link_with_third_party_cookies_blocked(request, httpd, keys, cert, chromium, kind):
    h = start(request, httpd, keys, cert, kind, None)
    driver = chromium(False)
    try:
        go_link(h, driver, PAGES[kind.split("-")[0]])
    finally:
        quit_all(driver)


def go_link(h, driver, pages):
    driver.get(url(h, "b.test", "/"))
    assert shown(driver, "user") == "anonymous"
    log_in(driver, h, pages)
    to = url(h, "b.test", "/").replace(":", "%3A").replace("/", "%2F")
    driver.get(url(h, "a.test", f"/shared-session/go?to={to}"))
    wait_for(lambda: re.match(r"https://b\.test:\d+/$", driver.current_url)
             and shown(driver, "user") == ssapps.USER,
             f"go to land on B greeting {ssapps.USER} (at {driver.current_url})")
