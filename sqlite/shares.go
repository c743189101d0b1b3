package sqlite

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"errors"
	"fmt"

	"github.com/benchrig/benchrig"
)

// Share makes what (a run ID, or "RUN_A..RUN_B" for a comparison) public
// and returns its key: 128 random bits, base64url. Sharing what again
// returns the same key. It implements web.ShareStore.
func (d *DB) Share(ctx context.Context, what string) (string, error) {
	if what == "" {
		return "", &benchrig.Error{Code: benchrig.EInvalid, Field: "share", Msg: "nothing to share"}
	}
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		return "", fmt.Errorf("share %s: %w", what, err)
	}
	key := base64.RawURLEncoding.EncodeToString(b[:])
	d.wmu.Lock()
	defer d.wmu.Unlock()
	tx, err := d.db.BeginTx(ctx, nil)
	if err != nil {
		return "", fmt.Errorf("share %s: %w", what, err)
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO shares (key, what, created) VALUES (?, ?, ?) ON CONFLICT (what) DO NOTHING`,
		key, what, encodeTime(d.now())); err != nil {
		return "", fmt.Errorf("share %s: %w", what, err)
	}
	if err := tx.QueryRowContext(ctx, `SELECT key FROM shares WHERE what = ?`, what).Scan(&key); err != nil {
		return "", fmt.Errorf("share %s: %w", what, err)
	}
	if err := tx.Commit(); err != nil {
		return "", fmt.Errorf("share %s: %w", what, err)
	}
	return key, nil
}

// Unshare makes what private again: its key stops working for good.
// Unsharing what is not shared is not an error.
func (d *DB) Unshare(ctx context.Context, what string) error {
	d.wmu.Lock()
	defer d.wmu.Unlock()
	if _, err := d.db.ExecContext(ctx, `DELETE FROM shares WHERE what = ?`, what); err != nil {
		return fmt.Errorf("unshare %s: %w", what, err)
	}
	return nil
}

// Shared resolves a key to what it shares; ENotFound for a key that is
// unknown or was revoked.
func (d *DB) Shared(ctx context.Context, key string) (string, error) {
	var what string
	err := d.db.QueryRowContext(ctx, `SELECT what FROM shares WHERE key = ?`, key).Scan(&what)
	if errors.Is(err, sql.ErrNoRows) {
		return "", benchrig.Errorf(benchrig.ENotFound, "no shared page here")
	}
	if err != nil {
		return "", fmt.Errorf("shared page: %w", err)
	}
	return what, nil
}

// SharedKey is what's key, "" when what is private.
func (d *DB) SharedKey(ctx context.Context, what string) (string, error) {
	var key string
	err := d.db.QueryRowContext(ctx, `SELECT key FROM shares WHERE what = ?`, what).Scan(&key)
	if errors.Is(err, sql.ErrNoRows) {
		return "", nil
	}
	if err != nil {
		return "", fmt.Errorf("shared key of %s: %w", what, err)
	}
	return key, nil
}
