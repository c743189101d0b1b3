package sqlite

import (
	"context"
	"encoding/base64"
	"testing"

	"github.com/benchrig/benchrig"
)

// A share is stable, survives reopening the store, and once revoked its
// key is dead for good; sharing again makes a new key.
func TestShares(t *testing.T) {
	ctx := context.Background()
	db, path := openTest(t)

	if k, err := db.SharedKey(ctx, "run1"); err != nil || k != "" {
		t.Fatalf("SharedKey of a private run = %q, %v; want \"\", nil", k, err)
	}
	key, err := db.Share(ctx, "run1")
	if err != nil {
		t.Fatal(err)
	}
	if b, err := base64.RawURLEncoding.DecodeString(key); err != nil || len(b) != 16 {
		t.Fatalf("key %q is not 128 bits of base64url (%d bytes, %v)", key, len(b), err)
	}
	again, err := db.Share(ctx, "run1")
	if err != nil || again != key {
		t.Fatalf("sharing again = %q, %v; want the same key %q", again, err, key)
	}
	other, err := db.Share(ctx, "run1..run2")
	if err != nil || other == key {
		t.Fatalf("a comparison's key = %q, %v; want its own", other, err)
	}

	db.Close()
	db, err = Open(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if what, err := db.Shared(ctx, key); err != nil || what != "run1" {
		t.Fatalf("Shared(key) after reopening = %q, %v; want run1", what, err)
	}
	if k, err := db.SharedKey(ctx, "run1"); err != nil || k != key {
		t.Fatalf("SharedKey = %q, %v; want %q", k, err, key)
	}

	if err := db.Unshare(ctx, "run1"); err != nil {
		t.Fatal(err)
	}
	if _, err := db.Shared(ctx, key); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Fatalf("a revoked key: %v; want ENotFound", err)
	}
	if _, err := db.Shared(ctx, "no-such-key"); benchrig.ErrorCode(err) != benchrig.ENotFound {
		t.Fatalf("an unknown key: %v; want ENotFound", err)
	}
	if err := db.Unshare(ctx, "run1"); err != nil {
		t.Fatalf("unsharing a private run: %v", err)
	}
	renewed, err := db.Share(ctx, "run1")
	if err != nil || renewed == key {
		t.Fatalf("sharing after a revoke = %q, %v; want a new key", renewed, err)
	}
	if what, err := db.Shared(ctx, other); err != nil || what != "run1..run2" {
		t.Fatalf("the comparison's share = %q, %v", what, err)
	}
}
