package arena

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"os"
	"strings"

	"github.com/nats-io/jwt/v2"
	"github.com/nats-io/nats.go"
)

// checkNATSFiles validates the -nats-* flags and reads their files now, so
// a node with a missing or wrong one refuses to start with the flag's
// name instead of failing its first connection; it leaves the options for
// nats.Connect in o.natsAuth. Errors never quote a file's content.
func (o *options) checkNATSFiles() error {
	files := []struct{ flag, path string }{
		{"-nats-creds", o.natsCreds}, {"-nats-nkey", o.natsNkey}, {"-nats-ca", o.natsCA},
		{"-nats-cert", o.natsCert}, {"-nats-key", o.natsKey},
	}
	for _, f := range files {
		if f.path != "" && o.nats == "" {
			return fmt.Errorf("%s needs -nats: it is how a node of a cluster reaches NATS", f.flag)
		}
	}
	if o.natsCreds != "" && o.natsNkey != "" {
		return errors.New("-nats-creds and -nats-nkey both given: a node authenticates one way, give one (a credentials file holds its own nkey)")
	}
	if (o.natsCert == "") != (o.natsKey == "") {
		return errors.New("-nats-cert and -nats-key go together: give both, the client certificate and its private key")
	}
	if o.natsCreds != "" {
		data, err := os.ReadFile(o.natsCreds)
		if err != nil {
			return fmt.Errorf("-nats-creds: %w", err)
		}
		if _, err := jwt.ParseDecoratedJWT(data); err != nil {
			return fmt.Errorf("-nats-creds %s: not a NATS credentials file: no user JWT in it", o.natsCreds)
		}
		if _, err := jwt.ParseDecoratedUserNKey(data); err != nil {
			return fmt.Errorf("-nats-creds %s: not a NATS credentials file: no user nkey seed in it", o.natsCreds)
		}
		o.natsAuth = append(o.natsAuth, nats.UserCredentials(o.natsCreds))
	}
	if o.natsNkey != "" {
		if _, err := os.Stat(o.natsNkey); err != nil {
			return fmt.Errorf("-nats-nkey: %w", err)
		}
		opt, err := nats.NkeyOptionFromSeed(o.natsNkey)
		if err != nil {
			return fmt.Errorf("-nats-nkey %s: not a user nkey seed file: %w", o.natsNkey, err)
		}
		o.natsAuth = append(o.natsAuth, opt)
	}
	if o.natsCA != "" {
		data, err := os.ReadFile(o.natsCA)
		if err != nil {
			return fmt.Errorf("-nats-ca: %w", err)
		}
		if !x509.NewCertPool().AppendCertsFromPEM(data) {
			return fmt.Errorf("-nats-ca %s: no PEM certificate in it", o.natsCA)
		}
		o.natsAuth = append(o.natsAuth, nats.RootCAs(o.natsCA))
	}
	if o.natsCert != "" {
		if _, err := tls.LoadX509KeyPair(o.natsCert, o.natsKey); err != nil {
			return fmt.Errorf("-nats-cert %s and -nats-key %s: %w", o.natsCert, o.natsKey, err)
		}
		o.natsAuth = append(o.natsAuth, nats.ClientCert(o.natsCert, o.natsKey))
	}
	return nil
}

// natsHandlers route everything nats.go would say into log: without an
// ErrorHandler it prints asynchronous errors (a slow consumer, a
// permissions violation) as plain lines on stderr, which breaks
// -log-format json. URLs are logged redacted.
func natsHandlers(log *slog.Logger) []nats.Option {
	return []nats.Option{
		nats.ErrorHandler(func(_ *nats.Conn, sub *nats.Subscription, err error) {
			if sub != nil {
				log.Error("cluster: NATS error", "subject", sub.Subject, "err", err)
				return
			}
			log.Error("cluster: NATS error", "err", err)
		}),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) { log.Warn("cluster: NATS connection lost", "err", err) }),
		nats.ReconnectErrHandler(func(_ *nats.Conn, err error) { log.Debug("cluster: NATS reconnect failed", "err", err) }),
		nats.ReconnectHandler(func(nc *nats.Conn) { log.Info("cluster: NATS reconnected", "url", redactURLs(nc.ConnectedUrl())) }),
		nats.ClosedHandler(func(nc *nats.Conn) {
			if err := nc.LastError(); err != nil {
				log.Warn("cluster: NATS connection closed", "err", err)
				return
			}
			log.Debug("cluster: NATS connection closed")
		}),
		nats.LameDuckModeHandler(func(nc *nats.Conn) {
			log.Warn("cluster: NATS server going away (lame duck mode), moving to another", "url", redactURLs(nc.ConnectedUrl()))
		}),
		nats.DiscoveredServersHandler(func(nc *nats.Conn) {
			log.Debug("cluster: NATS servers discovered", "servers", redactURLs(strings.Join(nc.DiscoveredServers(), ",")))
		}),
	}
}

// redacted stands for a password or token in a URL shown to people.
const redacted = "xxxxx"

// redactURLs is a -nats value (URLs, comma-separated) fit to log: each
// URL keeps its user name and loses its password, and a token (a user
// name without a password) is hidden whole. It works on the text, so a URL
// too broken to parse is redacted too.
func redactURLs(urls string) string {
	parts := strings.Split(urls, ",")
	for i, u := range parts {
		parts[i] = redactURL(u)
	}
	return strings.Join(parts, ",")
}

func redactURL(u string) string {
	start := 0
	if i := strings.Index(u, "://"); i >= 0 {
		start = i + len("://")
	}
	at := strings.LastIndex(u, "@")
	if at < start {
		return u
	}
	user, _, hasPassword := strings.Cut(u[start:at], ":")
	if !hasPassword {
		return u[:start] + redacted + u[at:]
	}
	return u[:start] + user + ":" + redacted + u[at:]
}

// urlSecrets are the passwords and tokens in a -nats value, as written and
// unescaped, for scrub.
func urlSecrets(urls string) []string {
	var secrets []string
	for _, u := range strings.Split(urls, ",") {
		start := 0
		if i := strings.Index(u, "://"); i >= 0 {
			start = i + len("://")
		}
		at := strings.LastIndex(u, "@")
		if at < start {
			continue
		}
		user, password, hasPassword := strings.Cut(u[start:at], ":")
		secret := password
		if !hasPassword {
			secret = user
		}
		if secret == "" {
			continue
		}
		secrets = append(secrets, secret)
		if s, err := url.PathUnescape(secret); err == nil && s != secret {
			secrets = append(secrets, s)
		}
	}
	return secrets
}

// scrub is err with any of secrets in its text replaced: an error from
// nats.go or net/url may quote the URL it was given.
func scrub(err error, secrets []string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := msg
	for _, s := range secrets {
		clean = strings.ReplaceAll(clean, s, redacted)
	}
	if clean == msg {
		return err
	}
	return errors.New(clean)
}
