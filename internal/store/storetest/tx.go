package storetest

import (
	"errors"
	"fmt"
	"sync"
	"testing"

	"github.com/visagehq/visage/internal/store"
)

var errBoom = errors.New("boom")

func testTxCommit(t *testing.T, s store.Store) {
	var in *store.Integration
	var f *store.Face
	err := s.InTx(ctx(t), func(tx store.Tx) error {
		in = newIntegration(t, tx)
		f = newFace(t, tx, in.ID)
		newImage(t, tx, f, "enrol")
		return nil
	})
	noErr(t, "commit", err)
	got, err := s.GetFace(ctx(t), in.ID, f.ID)
	noErr(t, "get committed face", err)
	equal(t, "committed face", got, f)
}

func testTxRollback(t *testing.T, s store.Store) {
	var in *store.Integration
	var f *store.Face
	var img *store.FaceImage
	err := s.InTx(ctx(t), func(tx store.Tx) error {
		in = newIntegration(t, tx)
		f = newFace(t, tx, in.ID)
		img = newImage(t, tx, f, "enrol")
		newTemplate(t, tx, f, img.ID, "m1")
		// Inside, the transaction sees its own writes.
		if _, err := tx.GetFace(ctx(t), in.ID, f.ID); err != nil {
			return fmt.Errorf("read own write: %w", err)
		}
		return errBoom
	})
	wantErr(t, "InTx error", err, errBoom)
	checkGone(t, s, in, f, img)
}

func testTxPanic(t *testing.T, s store.Store) {
	var in *store.Integration
	func() {
		defer func() {
			if p := recover(); p != errBoom {
				t.Fatalf("recovered %v, want the callback's panic", p)
			}
		}()
		_ = s.InTx(ctx(t), func(tx store.Tx) error {
			in = newIntegration(t, tx)
			panic(errBoom)
		})
	}()
	_, err := s.GetIntegration(ctx(t), in.ID)
	wantErr(t, "integration of a panicked transaction", err, store.ErrNotFound)
	// The connection went back to the pool usable, without a dangling
	// transaction (on SQLite that would hold the write lock forever).
	newIntegration(t, s)
}

// checkGone fails if anything written by a rolled-back transaction is left.
func checkGone(t *testing.T, s store.Store, in *store.Integration, f *store.Face, img *store.FaceImage) {
	t.Helper()
	_, err := s.GetIntegration(ctx(t), in.ID)
	wantErr(t, "rolled-back integration", err, store.ErrNotFound)
	_, err = s.GetFace(ctx(t), in.ID, f.ID)
	wantErr(t, "rolled-back face", err, store.ErrNotFound)
	_, err = s.GetFaceImage(ctx(t), in.ID, img.ID)
	wantErr(t, "rolled-back image", err, store.ErrNotFound)
	index, err := s.ListTemplates(ctx(t), in.ID, "m1")
	noErr(t, "rolled-back templates", err)
	if len(index) != 0 {
		t.Fatalf("rolled-back templates remain: %+v", index)
	}
}

// testTxDeleteJoins checks that DeleteFace inside InTx joins the caller's
// transaction rather than committing on its own.
func testTxDeleteJoins(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	f := newFace(t, s, in.ID)
	img := newImage(t, s, f, "enrol")
	err := s.InTx(ctx(t), func(tx store.Tx) error {
		keys, err := tx.DeleteFace(ctx(t), in.ID, f.ID)
		if err != nil || len(keys) != 1 || keys[0] != img.BlobKey {
			return fmt.Errorf("delete in tx: %v %v", keys, err)
		}
		return errBoom
	})
	wantErr(t, "InTx error", err, errBoom)
	_, err = s.GetFace(ctx(t), in.ID, f.ID)
	noErr(t, "face of a rolled-back delete", err)
	_, err = s.GetFaceImage(ctx(t), in.ID, img.ID)
	noErr(t, "image of a rolled-back delete", err)
}

// testConcurrentWrites hammers one integration from several goroutines,
// mixing plain writes and transactions, as concurrent requests would.
func testConcurrentWrites(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	const workers, each = 8, 10
	var wg sync.WaitGroup
	errs := make(chan error, workers*each)
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range each {
				errs <- writeOne(t, s, in.ID, fmt.Sprintf("w%d-%d", w, i), i%2 == 0)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		noErr(t, "concurrent write", err)
	}
	got, _ := collectPages(t, s, in.ID, 7)
	if len(got) != workers*each {
		t.Fatalf("%d faces after %d concurrent creates", len(got), workers*each)
	}
}

func writeOne(t *testing.T, s store.Store, integrationID, faceID string, inTx bool) error {
	write := func(d store.Data) error {
		f := &store.Face{IntegrationID: integrationID, FaceID: faceID, Enabled: true}
		if err := d.CreateFace(ctx(t), f); err != nil {
			return err
		}
		img := &store.FaceImage{IntegrationID: integrationID, FaceRef: f.ID, Challenge: "enrol", BlobKey: faceID}
		return d.AddFaceImage(ctx(t), img)
	}
	if inTx {
		return s.InTx(ctx(t), func(tx store.Tx) error { return write(tx) })
	}
	return write(s)
}
