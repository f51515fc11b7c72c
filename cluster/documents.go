package cluster

import (
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
)

// SaveDoc stores a room's document (room.Export), replacing the last.
func (d *Directory) SaveDoc(ctx context.Context, name string, doc []byte) error {
	if err := checkName(name); err != nil {
		return err
	}
	if _, err := d.docs.PutBytes(ctx, name, doc); err != nil {
		return fmt.Errorf("cluster: saving %q: %w", name, err)
	}
	return nil
}

// LoadDoc returns the room's last stored document.
func (d *Directory) LoadDoc(ctx context.Context, name string) ([]byte, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	doc, err := d.docs.GetBytes(ctx, name)
	if err != nil {
		return nil, fmt.Errorf("cluster: loading %q: %w", name, err)
	}
	return doc, nil
}

// HasDoc reports whether the room has a stored document.
func (d *Directory) HasDoc(ctx context.Context, name string) bool {
	if checkName(name) != nil {
		return false
	}
	_, err := d.docs.GetInfo(ctx, name)
	return err == nil
}

// DeleteDoc forgets the room's document: the room ended.
func (d *Directory) DeleteDoc(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	err := d.docs.Delete(ctx, name)
	if err != nil && !errors.Is(err, jetstream.ErrObjectNotFound) {
		return fmt.Errorf("cluster: deleting %q: %w", name, err)
	}
	return nil
}
