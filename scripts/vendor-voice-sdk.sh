#!/bin/sh
# Refresh the vendored Twilio Voice JavaScript SDK (ivr/web/static/vendor/twilio-voice-sdk/) from the
# npm registry: its minified browser build, its licence, and a VERSION note. The app serves it
# itself; no page loads it from a CDN. Usage: scripts/vendor-voice-sdk.sh [VERSION]
set -eu
version="${1:-2.18.5}"
here="$(cd "$(dirname "$0")/.." && pwd)"
dest="$here/ivr/web/static/vendor/twilio-voice-sdk"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
(cd "$work" && npm pack --silent "@twilio/voice-sdk@$version" >/dev/null)
tar -xzf "$work"/twilio-voice-sdk-*.tgz -C "$work"
test -s "$work/package/dist/twilio.min.js"
mkdir -p "$dest"
cp "$work/package/dist/twilio.min.js" "$dest/twilio.min.js"
cp "$work/package/LICENSE.md" "$dest/LICENSE.md"
sha="$(sha256sum "$dest/twilio.min.js" | cut -d' ' -f1)"
cat > "$dest/VERSION" <<NOTE
@twilio/voice-sdk $version (npm registry: npm pack @twilio/voice-sdk@$version)
dist/twilio.min.js sha256 $sha
Refresh: make vendor-sdk VOICE_SDK_VERSION=<version>  (scripts/vendor-voice-sdk.sh)
NOTE
echo "vendored @twilio/voice-sdk $version into $dest"
