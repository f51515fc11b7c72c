package arena

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	natsserver "github.com/nats-io/nats-server/v2/server"
	"go.yaml.in/yaml/v3"

	"github.com/arena-server/arena/internal/natstest"
)

// TestDeployNATSConfig loads deploy/nats.conf with nats-server's own
// parser: it needs its password from the environment, gives arena's user
// exactly natstest.ArenaPermissions (with which the cluster tests run) in
// an account of its own, and a node logs in with it. The Kubernetes
// ConfigMap holds the same text.
func TestDeployNATSConfig(t *testing.T) {
	const conf = "deploy/nats.conf"
	if _, err := natsserver.ProcessConfigFile(conf); err == nil || !strings.Contains(err.Error(), "NATS_ARENA_PASSWORD") {
		t.Errorf("without NATS_ARENA_PASSWORD: %v; want an error naming it", err)
	}
	const password = "0123abcd"
	t.Setenv("NATS_ARENA_PASSWORD", password)
	opts, err := natsserver.ProcessConfigFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	if len(opts.Users) != 1 || opts.Users[0].Username != "arena" || opts.Users[0].Password != password {
		t.Fatalf("users %+v; want arena, with the password from the environment", opts.Users)
	}
	u := opts.Users[0]
	if u.Account == nil || u.Account.Name != "ARENA" {
		t.Errorf("arena's user is in account %v; want ARENA, its own", u.Account)
	}
	want := natstest.ArenaPermissions()
	if u.Permissions == nil || u.Permissions.Publish == nil || u.Permissions.Subscribe == nil {
		t.Fatalf("arena's user has permissions %+v; want publish and subscribe limited", u.Permissions)
	}
	for _, p := range []struct {
		what      string
		got, want []string
	}{
		{"publish", u.Permissions.Publish.Allow, want.Publish.Allow},
		{"subscribe", u.Permissions.Subscribe.Allow, want.Subscribe.Allow},
	} {
		got, want := slices.Sorted(slices.Values(p.got)), slices.Sorted(slices.Values(p.want))
		if !slices.Equal(got, want) {
			t.Errorf("%s allows %q;\nwant natstest.ArenaPermissions' %q", p.what, got, want)
		}
	}

	// A node logs in with it.
	ns := natstest.StartWith(t, func(o *natsserver.Options) {
		host, port, dir := o.Host, o.Port, o.StoreDir
		*o = *opts.Clone()
		o.Host, o.Port, o.StoreDir, o.HTTPPort = host, port, dir, 0
		o.NoLog, o.NoSigs = true, true
	})
	r := runLogged(t, []string{"-nats", "nats://arena:" + password + "@127.0.0.1:" + natsPort(ns), "-node", "a"}, nil)
	r.waitLog(t, "joined the cluster")
	r.waitLog(t, "arena listening")

	// The ConfigMap of deploy/kubernetes/nats.yaml is the same file.
	file, err := os.ReadFile(conf)
	if err != nil {
		t.Fatal(err)
	}
	cm := findManifest(t, "deploy/kubernetes/nats.yaml", "ConfigMap", "nats-config")
	data, _ := cm["data"].(map[string]any)
	if got, _ := data["nats.conf"].(string); got != string(file) {
		t.Errorf("the ConfigMap nats-config's nats.conf differs from %s:\n%s", conf, got)
	}
}

// TestDeployManifestsParseAndKeepSecretsOut: the compose file and every
// Kubernetes manifest are YAML; NATS runs on deploy/nats.conf with
// arena's password from the environment or a Secret, and the nodes log in
// with it: nowhere is a password written in.
func TestDeployManifestsParseAndKeepSecretsOut(t *testing.T) {
	compose := yamlDocs(t, "deploy/docker-compose.yml")[0]
	services, _ := compose["services"].(map[string]any)
	nats, _ := services["nats"].(map[string]any)
	if cmd := strings.Join(toStrings(nats["command"]), " "); cmd != "-c /etc/nats/nats.conf" {
		t.Errorf("compose runs nats with %q; want -c /etc/nats/nats.conf", cmd)
	}
	if vols := toStrings(nats["volumes"]); !slices.Contains(vols, "./nats.conf:/etc/nats/nats.conf:ro") {
		t.Errorf("compose mounts %q in nats; want ./nats.conf", vols)
	}
	natsEnv, _ := nats["environment"].(map[string]any)
	if v, _ := natsEnv["NATS_ARENA_PASSWORD"].(string); !strings.HasPrefix(v, "${NATS_ARENA_PASSWORD:?") {
		t.Errorf("compose gives nats NATS_ARENA_PASSWORD=%q; want it from the shell, required", v)
	}
	for _, name := range []string{"arena-1", "arena-2", "arena-3"} {
		svc, _ := services[name].(map[string]any)
		env, _ := svc["environment"].(map[string]any)
		if v, _ := env["ARENA_NATS"].(string); !strings.HasPrefix(v, "nats://arena:${NATS_ARENA_PASSWORD:?") {
			t.Errorf("compose gives %s ARENA_NATS=%q; want the user arena with the password from the shell", name, v)
		}
	}

	sts := findManifest(t, "deploy/kubernetes/nats.yaml", "StatefulSet", "nats")
	c := container(t, sts)
	if args := strings.Join(toStrings(c["args"]), " "); args != "-c /etc/nats/nats.conf" {
		t.Errorf("the nats StatefulSet runs with %q; want -c /etc/nats/nats.conf", args)
	}
	if !fromSecret(c, "NATS_ARENA_PASSWORD", "arena-nats") {
		t.Errorf("the nats StatefulSet does not take NATS_ARENA_PASSWORD from the Secret arena-nats: %v", c["env"])
	}
	dep := findManifest(t, "deploy/kubernetes/arena.yaml", "Deployment", "arena")
	c = container(t, dep)
	if !fromSecret(c, "NATS_ARENA_PASSWORD", "arena-nats") {
		t.Errorf("the arena Deployment does not take NATS_ARENA_PASSWORD from the Secret arena-nats: %v", c["env"])
	}
	if v := envValue(c, "ARENA_NATS"); v != "nats://arena:$(NATS_ARENA_PASSWORD)@nats:4222" {
		t.Errorf("the arena Deployment has ARENA_NATS=%q; want the user arena and the Secret's password", v)
	}
	// No manifest is a Secret with a value in it.
	files, _ := filepath.Glob("deploy/kubernetes/*.yaml")
	for _, f := range files {
		for _, d := range yamlDocs(t, f) {
			if d["kind"] == "Secret" {
				t.Errorf("%s holds a Secret; create it with kubectl instead", f)
			}
		}
	}
}

func yamlDocs(t *testing.T, path string) []map[string]any {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var docs []map[string]any
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var d map[string]any
		err := dec.Decode(&d)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		if d != nil {
			docs = append(docs, d)
		}
	}
	if len(docs) == 0 {
		t.Fatalf("%s: no YAML documents", path)
	}
	return docs
}

func findManifest(t *testing.T, path, kind, name string) map[string]any {
	t.Helper()
	for _, d := range yamlDocs(t, path) {
		meta, _ := d["metadata"].(map[string]any)
		if d["kind"] == kind && meta["name"] == name {
			return d
		}
	}
	t.Fatalf("%s has no %s %s", path, kind, name)
	return nil
}

// container is the first container of a Deployment's or StatefulSet's pod.
func container(t *testing.T, d map[string]any) map[string]any {
	t.Helper()
	spec, _ := d["spec"].(map[string]any)
	tmpl, _ := spec["template"].(map[string]any)
	pod, _ := tmpl["spec"].(map[string]any)
	cs, _ := pod["containers"].([]any)
	if len(cs) == 0 {
		t.Fatalf("no containers in %v", d["metadata"])
	}
	c, _ := cs[0].(map[string]any)
	return c
}

func envVar(c map[string]any, name string) map[string]any {
	env, _ := c["env"].([]any)
	for _, e := range env {
		if e, _ := e.(map[string]any); e["name"] == name {
			return e
		}
	}
	return nil
}

func envValue(c map[string]any, name string) string {
	v, _ := envVar(c, name)["value"].(string)
	return v
}

func fromSecret(c map[string]any, name, secret string) bool {
	e := envVar(c, name)
	from, _ := e["valueFrom"].(map[string]any)
	ref, _ := from["secretKeyRef"].(map[string]any)
	return e != nil && e["value"] == nil && ref["name"] == secret
}

func toStrings(v any) []string {
	l, _ := v.([]any)
	var s []string
	for _, x := range l {
		if x, ok := x.(string); ok {
			s = append(s, x)
		}
	}
	return s
}
