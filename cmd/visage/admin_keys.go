package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"text/tabwriter"
)

// adminKeys prints (or, with --rotate, replaces) an integration's
// publicKey/privateKey pair: what Identity Gram clients encrypt
// encryptedData with. An operator may read them back at any time.
func adminKeys(ctx context.Context, name string, args []string) error {
	e := newAdminEnv(name, "admin integration keys INTEGRATION_ID [--rotate] [--json] [flags]",
		"Print an integration's publicKey and privateKey (the vendors' encryptedData keys); --rotate replaces them.")
	rotate := e.fs.Bool("rotate", false, "replace the key pair: payloads made with the old one no longer open")
	pos, err := e.fs.parse(args)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return errors.New("usage: visage " + e.fs.usage)
	}
	id := pos[0]
	if err := e.open(ctx); err != nil {
		return err
	}
	defer e.close()
	in, err := e.st.GetIntegration(ctx, id)
	if err != nil {
		return notFound(err, "no integration "+id)
	}
	k, err := e.tenant.VendorKeys(in)
	if *rotate {
		k, err = e.tenant.RotateVendorKeys(ctx, id)
	}
	if err != nil {
		return err
	}
	if e.json {
		return emit(k, false)
	}
	w := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "Keys of integration %s:\n\n  publicKey:\t%s\n  privateKey:\t%s\n", id, k.PublicKey, k.PrivateKey)
	if err := w.Flush(); err != nil {
		return err
	}
	fmt.Println("\nKeep the private key secret: whoever has it can send encryptedData as this integration.")
	return nil
}
