package accounts

import (
	"bytes"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzAPI feeds arbitrary bodies to every endpoint that reads one, with a
// guest's access token: no panic, and an answer that is a success or the
// client's fault, never a 5xx, with a JSON code for every failure.
func FuzzAPI(f *testing.F) {
	routes := []string{
		"POST /api/auth/guest", "POST /api/auth/register", "POST /api/auth/login", "POST /api/auth/refresh",
		"POST /api/auth/logout", "POST /api/auth/link", "POST /api/auth/external", "PATCH /api/me", "POST /api/me/password",
	}
	for i := range routes {
		for _, seed := range []string{``, `{}`, `{"name":"x"}`, `{"email":"a@b.c","password":"12345678"}`,
			`{"email":"a@b.c","password":"12345678","name":"fz"}`, `{"refresh_token":"a.b"}`, `{"everywhere":false}`,
			`{"token":"a.b.c"}`, `{"password":"12345678","new_password":"123456789"}`, `{"name":"a","NAME":"b"}`, `[`, "\xff"} {
			f.Add(uint8(i), []byte(seed))
		}
	}
	e := newEnv(f, openDB(f, "sqlite:"+filepath.Join(f.TempDir(), "fuzz.db")), Config{})
	token := e.guest("").str("access_token")
	h := e.svc.Handler()
	f.Fuzz(func(t *testing.T, which uint8, body []byte) {
		method, path, _ := strings.Cut(routes[int(which)%len(routes)], " ")
		req := httptest.NewRequest(method, path, bytes.NewReader(body))
		req.Header.Set("Authorization", "Bearer "+token)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, req)
		if w.Code >= 500 || w.Code < 200 {
			t.Fatalf("%s %q: %d %s", path, body, w.Code, w.Body)
		}
		if w.Code >= 400 && !bytes.Contains(w.Body.Bytes(), []byte(`"code"`)) {
			t.Fatalf("%s %q: %d with no code: %s", path, body, w.Code, w.Body)
		}
	})
}

// FuzzMicroTime: "iat" is read from any JSON number without a panic, and
// what it reads is written back the same.
func FuzzMicroTime(f *testing.F) {
	for _, s := range []string{"0", "1796699045.123456", "1.000000001", "99999999999.9", "1e3", "-0"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var m microTime
		if m.UnmarshalJSON(b) != nil {
			return
		}
		out, err := m.MarshalJSON()
		if err != nil {
			t.Fatal(err)
		}
		var back microTime
		if err := back.UnmarshalJSON(out); err != nil || !back.Equal(m.Time) {
			t.Fatalf("%s → %s → %v, %v", b, out, back, err)
		}
	})
}
