"""Real applications behind the test's apache2, for cookie mode
(SharedSessionCookie): the Django site of apps/django_site (gunicorn behind
mod_proxy_http, or mod_wsgi inside apache2) and the PHP site of
apps/php_site (php-fpm behind mod_proxy_fcgi).  Neither contains any
session-sharing code.  Servers are started on 127.0.0.1 free ports and
stopped by pid (pyhttpd.Daemon).

Visitor is a scripted browser for such sites: cookies per host (names
mapped onto the one loopback port, as Chromium's --host-resolver-rules
does), forms, redirects, and the loaders a page carries, run as a browser
runs a <script> (Referer of the page, Sec-Fetch-Dest: script).
"""

import atexit
import html
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.parse
from pathlib import Path

import pyhttpd

APPS = Path(__file__).resolve().parent / "apps"
PYTHON = "/usr/bin/python3"
GUNICORN = "/usr/bin/gunicorn"
PHP_FPM = "/usr/sbin/php-fpm8.2"
WSGI_SO = pyhttpd.DEBIAN_MODULES / "mod_wsgi.so"
USER, PASSWORD = "alice", "wonderland-1"



# What every site of these tests mounts: the handler, and the filter on
# every page (inserted in each <VirtualHost> below)
MODULE_LOCATIONS = """\
    <Location /shared-session/>
        SetHandler shared-session
    </Location>
    <Location />
        SetOutputFilter SHARED_SESSION
    </Location>
"""


def _need(path, package):
    if not os.access(path, os.X_OK) and not Path(path).exists():
        pyhttpd.fail_missing(str(path), package)


def _writable(path):
    pyhttpd.chown_run_user(path)
    os.chmod(path, 0o770 if pyhttpd.IS_ROOT else 0o755)


def django_site(workdir):
    """A copy of the Django site with its database migrated and the user
    alice; returns the copy's directory (data/ writable by the children)."""
    _need(PYTHON, "python3")
    cp = subprocess.run([PYTHON, "-c", "import django"], capture_output=True)
    if cp.returncode != 0:
        pyhttpd.fail_missing("the Python module django", "python3-django")
    d = Path(workdir) / "django_site"
    shutil.copytree(APPS / "django_site", d)
    (d / "data").mkdir()
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1")
    for args in (["migrate", "-v0"],
                 ["shell", "-c", "from django.contrib.auth.models import User; "
                  f"User.objects.create_user('{USER}', password='{PASSWORD}')"]):
        cp = subprocess.run([PYTHON, "manage.py", *args], cwd=d, env=env,
                            capture_output=True, text=True, timeout=120)
        if cp.returncode != 0:
            raise pyhttpd.HarnessError(f"manage.py {args[0]} failed:\n{cp.stderr}")
    for p in [d / "data", d / "data" / "db.sqlite3"]:
        _writable(p)
    os.chmod(d / "data" / "db.sqlite3", 0o660 if pyhttpd.IS_ROOT else 0o644)
    for root, dirs, files in os.walk(d):
        for x in dirs:
            if x != "data":
                os.chmod(Path(root) / x, 0o755)
    return d


def gunicorn(site_dir):
    """gunicorn serving the Django site on a free loopback port (started)."""
    _need(GUNICORN, "gunicorn")
    port = pyhttpd.free_port()
    argv = [GUNICORN, "--bind", f"127.0.0.1:{port}", "--workers", "2",
            "--chdir", str(site_dir), "--error-logfile", "-",
            "ssapp.wsgi:application"]
    return pyhttpd.Daemon(argv, port, "gunicorn", site_dir).start()


FPM_CONF = """\
[global]
pid = {dir}/php-fpm.pid
error_log = {dir}/php-fpm.log
daemonize = no

[site]
listen = 127.0.0.1:{port}
listen.allowed_clients = 127.0.0.1
{user}
pm = static
pm.max_children = 4
catch_workers_output = yes
php_admin_value[session.save_path] = {sessions}
php_admin_value[session.use_strict_mode] = 1
php_admin_value[error_log] = {dir}/php-errors.log
php_admin_flag[log_errors] = on
"""


def php_site(workdir):
    """A copy of the PHP site (its document root) and a sessions directory."""
    d = Path(workdir) / "php_site"
    shutil.copytree(APPS / "php_site", d)
    os.chmod(d, 0o755)
    sessions = Path(workdir) / "php_sessions"
    sessions.mkdir()
    _writable(sessions)
    return d


def php_fpm(workdir):
    """php-fpm with a pool of its own on a free loopback port (started);
    every site that shares the session uses it, with one sessions store."""
    _need(PHP_FPM, "php8.2-fpm")
    d = Path(workdir)
    port = pyhttpd.free_port()
    conf = d / "php-fpm.conf"
    conf.write_text(FPM_CONF.format(
        dir=d, port=port, sessions=d / "php_sessions",
        user=f"user = {pyhttpd.RUN_USER}\ngroup = {pyhttpd.RUN_USER}"
        if pyhttpd.IS_ROOT else ""))
    return pyhttpd.Daemon([PHP_FPM, "-F", "-y", str(conf)], port, "php-fpm", d).start()


# ---------------------------------------------------------------------------
# apache2 configuration

def cookie_server(key, cookie, attrs=None, sites="http://a.test http://b.test",
                  extra=""):
    a = f' "{attrs}"' if attrs else ""
    return f"""
SharedSessionSites {sites}
SharedSessionKeyFile {key}
SharedSessionCookie {cookie}{a}
SharedSessionResend 0
{extra}
"""


def proxied_vhost(name, backend, extra=""):
    """A site whose pages come from an HTTP backend (mod_proxy_http)."""
    return f"""
<VirtualHost 127.0.0.1:{{port}}>
    ServerName {name}
    ProxyPreserveHost On
    ProxyPass /shared-session/ !
    ProxyPass / http://127.0.0.1:{backend}/
{MODULE_LOCATIONS}    {extra}
</VirtualHost>
"""


def wsgi_vhost(name, site_dir, extra=""):
    """A site whose pages come from mod_wsgi in daemon mode."""
    user = f" user={pyhttpd.RUN_USER} group={pyhttpd.RUN_USER}" if pyhttpd.IS_ROOT else ""
    group = f"django-{name}"
    return f"""
<VirtualHost 127.0.0.1:{{port}}>
    ServerName {name}
    WSGIDaemonProcess {group} processes=1 threads=4 python-path={site_dir}{user}
    WSGIProcessGroup {group}
    WSGIApplicationGroup %{{GLOBAL}}
    WSGIScriptAlias / {site_dir}/ssapp/wsgi.py
    <Directory {site_dir}/ssapp>
        Require all granted
    </Directory>
{MODULE_LOCATIONS}    {extra}
</VirtualHost>
"""


def fpm_vhost(name, docroot, fpm_port, extra=""):
    """A site whose .php pages go to php-fpm (mod_proxy_fcgi), as Debian's
    php8.2-fpm.conf does it."""
    return f"""
<VirtualHost 127.0.0.1:{{port}}>
    ServerName {name}
    DocumentRoot {docroot}
    DirectoryIndex index.php
    <Directory {docroot}>
        Require all granted
    </Directory>
    <FilesMatch "\\.php$">
        SetHandler "proxy:fcgi://127.0.0.1:{fpm_port}"
    </FilesMatch>
{MODULE_LOCATIONS}    {extra}
</VirtualHost>
"""


APP_MODULES = {
    "django": ["proxy", "proxy_http"],
    "wsgi": [],
    "php": ["proxy", "proxy_fcgi", "dir"],
}


def tls_lines(cert):
    """mod_ssl lines for a vhost, with a certificate made by make_cert."""
    return (f"SSLEngine on\n    SSLCertificateFile {cert}/cert.pem\n"
            f"    SSLCertificateKeyFile {cert}/key.pem")


def make_cert(d, hosts=("a.test", "b.test")):
    """A self-signed certificate for hosts into d (cert.pem, key.pem)."""
    d = Path(d)
    d.mkdir(parents=True, exist_ok=True)
    san = ",".join(f"DNS:{x}" for x in hosts)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec",
                    "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
                    "-keyout", d / "key.pem", "-out", d / "cert.pem", "-days", "30",
                    "-subj", f"/CN={hosts[0]}", "-addext", f"subjectAltName={san}",
                    "-addext", "basicConstraints=critical,CA:FALSE",
                    "-addext", "keyUsage=critical,digitalSignature",
                    "-addext", "extendedKeyUsage=serverAuth"],
                   check=True, capture_output=True, timeout=60)
    os.chmod(d / "key.pem", 0o644)
    return d


def configure(h, kind, key, backend, attrs=None, cert=None, server_extra=""):
    """apache2 for sites a.test and b.test in cookie mode in front of one
    application: kind "django-proxy" (backend: gunicorn's Daemon),
    "django-wsgi" (backend: the site's directory) or "php-fpm" (backend:
    php-fpm's Daemon with .docroot); https with cert (then the site entries
    name the port).  Returns the application's cookie name."""
    if cert:
        sites = "https://a.test:{port} https://b.test:{port}"
        tls = tls_lines(cert)
        mods = ["ssl"]
        server_extra += '\nSSLSessionCache "shmcb:{run}/ssl_scache(512000)"'
    else:
        sites, tls, mods = "http://a.test http://b.test", "", []
    if kind == "django-proxy":
        cookie = "sessionid"
        vhosts = proxied_vhost("a.test", backend.port, tls) + proxied_vhost("b.test",
                                                                            backend.port, tls)
        mods += APP_MODULES["django"]
    elif kind == "django-wsgi":
        cookie = "sessionid"
        vhosts = wsgi_vhost("a.test", backend, tls) + wsgi_vhost("b.test", backend, tls)
    else:
        cookie = "PHPSESSID"
        vhosts = (fpm_vhost("a.test", backend.docroot, backend.port, tls)
                  + fpm_vhost("b.test", backend.docroot, backend.port, tls))
        mods += APP_MODULES["php"]
    snippet = cookie_server(key, cookie, attrs, sites, server_extra) + vhosts
    if kind == "django-wsgi":
        write_wsgi_config(h, snippet, modules=mods)
    else:
        h.write_config(snippet, modules=mods)
    return cookie


def write_wsgi_config(h, snippet, modules=()):
    """write_config with mod_wsgi loaded (not a Debian "short name")."""
    _need(WSGI_SO, "libapache2-mod-wsgi-py3")
    # the daemons' sockets: a short path (at most 107 bytes with its name)
    sockets = tempfile.mkdtemp(prefix="sswsgi-")
    os.chmod(sockets, 0o755)
    atexit.register(shutil.rmtree, sockets, True)
    h.write_config(f"LoadModule wsgi_module {WSGI_SO}\nWSGISocketPrefix {sockets}/s\n"
                   + snippet, modules=modules)


# ---------------------------------------------------------------------------
# the scripted browser

LOADER_RE = re.compile(r'<script src="(http[^"]+/shared-session/[A-Za-z0-9_-]+\.js)"')


class Visitor:
    def __init__(self, h, transport=None):
        """transport(path, host, method, headers, body) -> pyhttpd.Response
        (default: plain HTTP to h's port)."""
        self.h = h
        self.jar = {}           # host -> {name: value}
        self.transport = transport

    def cookies(self, host):
        return dict(self.jar.get(host, {}))

    def cookie_header(self, host):
        jar = self.jar.get(host, {})
        return "; ".join(f"{k}={v}" for k, v in jar.items())

    def store(self, host, resp):
        for sc in resp.header_all("Set-Cookie"):
            name, _, value = sc.split(";")[0].partition("=")
            attrs = pyhttpd.cookie_attrs(sc)
            name = name.strip()
            try:
                gone = int(attrs.get("max-age", "1")) <= 0
            except ValueError:
                gone = False
            if gone:
                self.jar.get(host, {}).pop(name, None)
            else:
                self.jar.setdefault(host, {})[name] = value.strip()

    def request(self, url, method="GET", body=None, headers=(), fetch_dest="document",
                referer=None):
        u = urllib.parse.urlsplit(url)
        host = u.hostname
        path = (u.path or "/") + (f"?{u.query}" if u.query else "")
        hs = list(headers)
        ch = self.cookie_header(host)
        if ch:
            hs.append(("Cookie", ch))
        if fetch_dest:
            hs.append(("Sec-Fetch-Dest", fetch_dest))
        if referer:
            hs.append(("Referer", referer))
        if self.transport:
            r = self.transport(path, u.netloc, method, hs, body)
        else:
            r = pyhttpd.request(self.h.port, path, host=u.netloc, method=method,
                                headers=hs, body=body)
        self.store(host, r)
        return r

    def get(self, url, follow=True, max_hops=8, run_loaders=False):
        """GETs url, follows redirects; runs the page's loaders when asked.
        Returns the last response."""
        for _ in range(max_hops):
            r = self.request(url)
            if follow and r.status in (301, 302, 303, 307, 308):
                url = urllib.parse.urljoin(url, r.header("Location"))
                continue
            self.last_url = url
            if run_loaders:
                self.run_loaders(url, r)
            return r
        raise AssertionError(f"more than {max_hops} redirects from {url}")

    def loaders(self, resp):
        return LOADER_RE.findall(resp.body.decode(errors="replace"))

    def run_loaders(self, page_url, resp):
        """Requests every loader of a page, as a <script> of page_url."""
        u = urllib.parse.urlsplit(page_url)
        out = []
        for src in self.loaders(resp):
            out.append(self.request(src, fetch_dest="script",
                                    referer=f"{u.scheme}://{u.netloc}/"))
        return out

    def post_form(self, url, fields, follow=True):
        body = urllib.parse.urlencode(fields)
        u = urllib.parse.urlsplit(url)
        r = self.request(url, method="POST", body=body, referer=url,
                         headers=[("Content-Type", "application/x-www-form-urlencoded"),
                                  ("Origin", f"{u.scheme}://{u.netloc}")])
        if follow and r.status in (301, 302, 303):
            return self.get(urllib.parse.urljoin(url, r.header("Location")))
        return r

    def user(self, url):
        """Who the site's page greets ("anonymous" when nobody)."""
        r = self.get(url)
        assert r.status == 200, r
        m = re.search(r'<p id="user">user: ([^<]*)</p>', r.body.decode(errors="replace"))
        assert m, r
        return html.unescape(m.group(1))

    def color(self, url):
        r = self.get(url)
        m = re.search(r'<p id="color">color: ([^<]*)</p>', r.body.decode(errors="replace"))
        assert m, r
        return html.unescape(m.group(1))


def django_login(v, origin):
    """Logs in through the Django site's own form (its CSRF token)."""
    r = v.get(f"{origin}/login/")
    assert r.status == 200, r
    m = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', r.body.decode())
    assert m, r
    r = v.post_form(f"{origin}/login/", {"csrfmiddlewaretoken": m.group(1),
                                         "username": USER, "password": PASSWORD},
                    follow=False)
    assert r.status == 302, r
    return r


def php_login(v, origin):
    r = v.get(f"{origin}/login.php")
    assert r.status == 200, r
    r = v.post_form(f"{origin}/login.php", {"username": USER, "password": PASSWORD},
                    follow=False)
    assert r.status == 302, r
    return r


def wait_until(pred, timeout=5.0):
    deadline = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() >= deadline:
            return v
        time.sleep(0.05)
