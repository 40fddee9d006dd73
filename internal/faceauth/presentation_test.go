package faceauth

import (
	"context"
	"testing"
)

// An ID document held up to the camera is a presentation attack: the
// specimens the liveness model alone scored live (0.56–0.93) are refused;
// live selfies the model is unsure of (0.6–0.94, so the document check
// runs on them) stay live.
func TestDocumentHeldUpIsNotLive(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	for _, name := range []string{"passport-td3.jpg", "100_pass-ltu.jpg", "100_visa-polx.jpg", "79_pass-can.jpg", "100_pass-uto.jpg"} {
		r, _, err := fx.svc.Liveness(ctx, fx.tenant, fixtureImage(t, "documents", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if r.Live {
			t.Errorf("%s: a document held up passed as live (%.3f)", name, r.Score)
		}
	}
	for _, name := range []string{"celeba_1.jpg", "celeba_16.jpg", "celeba_31.jpg", "celeba_34.jpg", "celeba_48.jpg", "minivision_T1.jpg"} {
		r, _, err := fx.svc.Liveness(ctx, fx.tenant, fixtureImage(t, "liveness", "live", name))
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if !r.Live {
			t.Errorf("%s: a live selfie refused (%.3f)", name, r.Score)
		}
	}
}
