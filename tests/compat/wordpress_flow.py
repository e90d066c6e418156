"""Drive WordPress instances on different marmot nodes through install, login, posts, a
comment and an option change, checking that what one instance writes the others show.
Standard library only.

usage: wordpress_flow.py URL1 URL2
"""
import http.cookiejar
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

url1, url2 = sys.argv[1].rstrip("/"), sys.argv[2].rstrip("/")
PASSWORD = "marmot-Example-pw-42"


class Browser:
    """One user agent with its own cookies (the instances share a host name)."""

    def __init__(self, base):
        self.base = base
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))
        self.nonce = None

    def request(self, path, data=None, headers=None, method=None):
        body = None
        hdrs = dict(headers or {})
        if isinstance(data, dict) and hdrs.get("Content-Type") == "application/json":
            body = json.dumps(data).encode()
        elif data is not None:
            body = urllib.parse.urlencode(data).encode()
        req = urllib.request.Request(self.base + path, data=body, headers=hdrs, method=method)
        try:
            with self.opener.open(req, timeout=60) as r:
                return r.status, r.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode("utf-8", "replace")

    def login(self):
        self.request("/wp-login.php")
        status, page = self.request(
            "/wp-login.php",
            {"log": "admin", "pwd": PASSWORD, "wp-submit": "Log In", "redirect_to": self.base + "/wp-admin/",
             "testcookie": "1"},
        )
        assert status == 200 and ("Dashboard" in page or "wp-admin-bar" in page), f"login on {self.base} failed: {status} {page[:2000]}"
        status, nonce = self.request("/wp-admin/admin-ajax.php?action=rest-nonce")
        assert status == 200 and re.fullmatch(r"[0-9a-f]{10}", nonce.strip()), f"no REST nonce from {self.base}: {nonce[:500]}"
        self.nonce = nonce.strip()

    def rest(self, route, data=None, method=None):
        headers = {"X-WP-Nonce": self.nonce, "Content-Type": "application/json"}
        status, body = self.request("/?rest_route=" + route, data, headers, method)
        try:
            return status, json.loads(body)
        except ValueError:
            return status, body


def eventually(what, check, within=20.0):
    deadline = time.time() + within
    last = None
    while time.time() < deadline:
        last = check()
        if last is True:
            return
        time.sleep(0.3)
    raise AssertionError(f"{what}: not seen within {within}s (last: {str(last)[:1500]})")


def front_page_has(base, text):
    def check():
        status, page = Browser(base).request("/")
        return True if status == 200 and text in page else f"HTTP {status}: {page[:800]}"
    return check


# 1. Instance 1 installs WordPress.
b1 = Browser(url1)
status, page = b1.request("/wp-admin/install.php")
assert status == 200, f"install page: HTTP {status}: {page[:2000]}"
status, page = b1.request(
    "/wp-admin/install.php?step=2",
    {"weblog_title": "Marmot Cluster Blog", "user_name": "admin", "admin_password": PASSWORD,
     "admin_password2": PASSWORD, "pw_weak": "1", "admin_email": "admin@example.com", "blog_public": "0",
     "Submit": "Install WordPress", "language": ""},
)
assert status == 200 and "Success!" in page, f"install failed: HTTP {status}: {page[:3000]}"
print("installed through", url1)

# 2. Instance 1 logs in and publishes a post through the REST API.
b1.login()
status, post1 = b1.rest("/wp/v2/posts", {"title": "Hello from node one", "content": "Written on instance 1.",
                                         "status": "publish"})
assert status == 201, f"creating a post on {url1}: HTTP {status}: {post1}"
print("post", post1["id"], "created on", url1)

# 3. Instance 2 (its own node) shows it, and publishes a post of its own.
eventually("instance 2 front page shows post 1", front_page_has(url2, "Hello from node one"))
b2 = Browser(url2)
b2.login()
status, post2 = b2.rest("/wp/v2/posts", {"title": "Reply from node two", "content": "Written on instance 2.",
                                         "status": "publish"})
assert status == 201, f"creating a post on {url2}: HTTP {status}: {post2}"
eventually("instance 1 front page shows post 2", front_page_has(url1, "Reply from node two"))
print("posts replicate both ways")

# 4. A comment written through instance 1 shows on instance 2.
status, comment = b1.rest("/wp/v2/comments", {"post": post2["id"], "content": "A comment through node one"})
assert status == 201, f"creating a comment on {url1}: HTTP {status}: {comment}"


def comment_on_2():
    status, page = Browser(url2).request(f"/?p={post2['id']}")
    return True if "A comment through node one" in page else f"HTTP {status}: {page[:800]}"


eventually("instance 2 shows the comment", comment_on_2)
print("comment replicates")

# 5. An option changed through instance 2 (the site title) shows on instance 1.
status, settings = b2.rest("/wp/v2/settings", {"title": "Marmot Replicated Blog"})
assert status == 200 and settings.get("title") == "Marmot Replicated Blog", f"settings on {url2}: {status} {settings}"
eventually("instance 1 shows the new site title", front_page_has(url1, "Marmot Replicated Blog"))
print("option change replicates")
print("WORDPRESS FLOW OK")
