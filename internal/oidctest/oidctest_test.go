package oidctest

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"testing"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

const callback = "http://127.0.0.1:1/callback"

var alice = User{Subject: "u-1", Name: "Alice", Email: "alice@example.com", EmailVerified: true}

// client is a relying party built with the libraries arena uses, so that
// these tests show the provider speaks what they expect.
type client struct {
	p        *Provider
	oauth    oauth2.Config
	verifier *oidc.IDTokenVerifier
}

func newClient(t *testing.T, p *Provider, secret string) *client {
	t.Helper()
	provider, err := oidc.NewProvider(context.Background(), p.Issuer())
	if err != nil {
		t.Fatalf("discovery: %v", err)
	}
	return &client{
		p: p,
		oauth: oauth2.Config{ClientID: "arena", ClientSecret: secret, RedirectURL: callback,
			Endpoint: provider.Endpoint(), Scopes: []string{oidc.ScopeOpenID, "email"}},
		verifier: provider.Verifier(&oidc.Config{ClientID: "arena"}),
	}
}

// authorize visits the authorization URL and returns the query the
// provider redirects back with.
func authorize(t *testing.T, authURL string) url.Values {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("authorize: %s, want 302", resp.Status)
	}
	loc, err := url.Parse(resp.Header.Get("Location"))
	if err != nil {
		t.Fatal(err)
	}
	if got := loc.Scheme + "://" + loc.Host + loc.Path; got != callback {
		t.Fatalf("redirected to %s, want %s", got, callback)
	}
	return loc.Query()
}

func newProvider(t *testing.T) *Provider {
	return New(t, Config{ClientID: "arena", ClientSecret: "s3cret", RedirectURIs: []string{callback}, User: alice})
}

func TestFlow(t *testing.T) {
	p := newProvider(t)
	c := newClient(t, p, "s3cret")
	verifier := oauth2.GenerateVerifier()
	back := authorize(t, c.oauth.AuthCodeURL("st", oidc.Nonce("nn"), oauth2.S256ChallengeOption(verifier)))
	if back.Get("state") != "st" || back.Get("code") == "" {
		t.Fatalf("redirect back: %v", back)
	}
	ctx := context.Background()
	tok, err := c.oauth.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatalf("exchange: %v", err)
	}
	raw, _ := tok.Extra("id_token").(string)
	id, err := c.verifier.Verify(ctx, raw)
	if err != nil {
		t.Fatalf("verify: %v", err)
	}
	var claims struct {
		Name, Email   string
		EmailVerified bool `json:"email_verified"`
	}
	if err := id.Claims(&claims); err != nil {
		t.Fatal(err)
	}
	if id.Issuer != p.Issuer() || id.Subject != alice.Subject || id.Nonce != "nn" ||
		claims.Name != alice.Name || claims.Email != alice.Email || !claims.EmailVerified {
		t.Errorf("id token: iss %q sub %q nonce %q claims %+v", id.Issuer, id.Subject, id.Nonce, claims)
	}
	// A code is good once.
	if _, err := c.oauth.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier)); !isGrantError(err, "invalid_grant") {
		t.Errorf("replayed code: %v, want invalid_grant", err)
	}
}

func TestTokenRefusals(t *testing.T) {
	p := newProvider(t)
	ctx := context.Background()
	for _, tc := range []struct {
		name, secret, verifier, want string
	}{
		{"wrong verifier", "s3cret", oauth2.GenerateVerifier(), "invalid_grant"},
		{"no verifier", "s3cret", "", "invalid_grant"},
		{"wrong secret", "nope", "", "invalid_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c := newClient(t, p, tc.secret)
			back := authorize(t, c.oauth.AuthCodeURL("st", oauth2.S256ChallengeOption(oauth2.GenerateVerifier())))
			var opts []oauth2.AuthCodeOption
			if tc.verifier != "" {
				opts = append(opts, oauth2.VerifierOption(tc.verifier))
			}
			if _, err := c.oauth.Exchange(ctx, back.Get("code"), opts...); !isGrantError(err, tc.want) {
				t.Errorf("exchange: %v, want %s", err, tc.want)
			}
		})
	}
}

func TestAuthorizeRefusals(t *testing.T) {
	p := newProvider(t)
	c := newClient(t, p, "s3cret")
	if back := authorize(t, c.oauth.AuthCodeURL("st")); back.Get("error") != "invalid_request" || back.Get("code") != "" {
		t.Errorf("without PKCE: %v, want error invalid_request", back)
	}
	p.Deny("access_denied")
	if back := authorize(t, c.oauth.AuthCodeURL("st", oauth2.S256ChallengeOption("v"))); back.Get("error") != "access_denied" || back.Get("state") != "st" {
		t.Errorf("denied: %v, want error access_denied with the state", back)
	}
	// An unregistered redirect URI is answered by the provider itself.
	c.oauth.RedirectURL = "http://127.0.0.1:2/elsewhere"
	resp, err := http.Get(c.oauth.AuthCodeURL("st"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("unregistered redirect: %s, want 400", resp.Status)
	}
}

func TestTamper(t *testing.T) {
	p := newProvider(t)
	p.Tamper(func(claims map[string]any) { claims["aud"] = "someone-else" })
	c := newClient(t, p, "s3cret")
	verifier := oauth2.GenerateVerifier()
	back := authorize(t, c.oauth.AuthCodeURL("st", oauth2.S256ChallengeOption(verifier)))
	ctx := context.Background()
	tok, err := c.oauth.Exchange(ctx, back.Get("code"), oauth2.VerifierOption(verifier))
	if err != nil {
		t.Fatal(err)
	}
	raw, _ := tok.Extra("id_token").(string)
	if _, err := c.verifier.Verify(ctx, raw); err == nil {
		t.Error("a token for another audience verified")
	}
}

func isGrantError(err error, code string) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == code
}
