package web

import (
	"io/fs"
	"regexp"
	"testing"
)

// TestResumeTokenStaysOutOfURLs: the browser client must present its
// resume token in a resume message, never in the WebSocket URL, where
// proxies and servers log it. e2e's TestReloadResumesThePlayer checks the
// same from the server's side.
func TestResumeTokenStaysOutOfURLs(t *testing.T) {
	src, err := fs.ReadFile(FS(), "js/net.js")
	if err != nil {
		t.Fatal(err)
	}
	if m := regexp.MustCompile(`searchParams\.(set|append)\(\s*['"]token|[?&]token=`).Find(src); m != nil {
		t.Errorf("net.js puts the token in the URL: %q", m)
	}
	if !regexp.MustCompile(`searchParams\.set\('resume', '1'\)`).Match(src) || !regexp.MustCompile(`ws\.send\(encodeResume\(token\)\)`).Match(src) {
		t.Error("net.js does not resume with ?resume=1 and a resume message")
	}
	// Access tokens likewise: ?auth=1, and the token in the auth message.
	if m := regexp.MustCompile(`searchParams\.(set|append)\(\s*['"](access|auth_token|access_token)`).Find(src); m != nil {
		t.Errorf("net.js puts the access token in the URL: %q", m)
	}
	if !regexp.MustCompile(`searchParams\.set\('auth', '1'\)`).Match(src) || !regexp.MustCompile(`ws\.send\(encodeAuth\(access, token\)\)`).Match(src) {
		t.Error("net.js does not sign in with ?auth=1 and an auth message")
	}
	proto, err := fs.ReadFile(FS(), "js/protocol.js")
	if err != nil {
		t.Fatal(err)
	}
	if !regexp.MustCompile(`C_RESUME = 0x05\b`).Match(proto) || !regexp.MustCompile(`C_AUTH = 0x07\b`).Match(proto) {
		t.Error("protocol.js lacks the resume message type 0x05 or the auth message type 0x07")
	}
}
