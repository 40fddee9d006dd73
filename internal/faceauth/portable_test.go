package faceauth

import (
	"context"
	"encoding/binary"
	"os"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/crypto"
	"github.com/visagehq/visage/internal/fault"
	"github.com/visagehq/visage/internal/store"
	"github.com/visagehq/visage/internal/testenv"
)

func fixtureImage(t *testing.T, parts ...string) Image {
	t.Helper()
	data, err := os.ReadFile(testenv.Fixture(t, parts...))
	if err != nil {
		t.Fatal(err)
	}
	return Image{Data: data, Name: "image"}
}

// A template the client keeps authenticates a live token of the same
// person, not another person's, not a token spent before, and not under
// another user id; the same image's template is bound to its user.
func TestPortableTemplateAuthentication(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	angelina := func(n string) Image { return fixtureImage(t, "faces", "deepface", "id00_img1", n) }
	other := fixtureImage(t, "faces", "deepface", "id01_img3", "img3.jpg")

	tpl, err := fx.svc.IssueTemplate(ctx, fx.tenant, "user-001", angelina("img1.jpg"), false)
	if err != nil {
		t.Fatal(err)
	}
	if tpl.Liveness == nil || !tpl.Liveness.Live || tpl.UserID != "user-001" {
		t.Fatalf("issued template: %+v", tpl)
	}
	token := func(img Image) []byte {
		t.Helper()
		tok, err := fx.svc.IssueBestImageToken(ctx, fx.tenant, img)
		if err != nil {
			t.Fatal(err)
		}
		return tok.Token
	}
	same := token(angelina("img2.jpg"))
	res, err := fx.svc.AuthenticatePortable(ctx, fx.tenant, PortableAuth{UserID: "user-001", Template: tpl.Template, Token: same})
	if err != nil {
		t.Fatal(err)
	}
	if res.Outcome != PortableAuthenticated || float64(res.Score) < fx.tenant.Policy.MatchThreshold || !res.LivenessChecked {
		t.Fatalf("same person: %+v", res)
	}
	if _, err := fx.svc.AuthenticatePortable(ctx, fx.tenant, PortableAuth{UserID: "user-001", Template: tpl.Template, Token: same}); !fault.Is(err, fault.Closed) {
		t.Fatalf("replayed token: %v", err)
	}
	res, err = fx.svc.AuthenticatePortable(ctx, fx.tenant, PortableAuth{UserID: "user-001", Template: tpl.Template, Token: token(other)})
	if err != nil || res.Outcome != PortableNoMatch || float64(res.Score) >= fx.tenant.Policy.MatchThreshold {
		t.Fatalf("another person: %+v %v", res, err)
	}
	res, err = fx.svc.AuthenticatePortable(ctx, fx.tenant, PortableAuth{UserID: "user-002", Template: tpl.Template, Token: token(angelina("img2.jpg"))})
	if err != nil || res.Outcome != PortableUserMismatch || res.BoundUser != "user-001" {
		t.Fatalf("another user id: %+v %v", res, err)
	}
	spoof := token(fixtureImage(t, "liveness", "spoof", "minivision_F1_print.jpg"))
	res, err = fx.svc.AuthenticatePortable(ctx, fx.tenant, PortableAuth{UserID: "user-001", Template: tpl.Template, Token: spoof})
	if err != nil || res.Outcome != PortableNotLive || res.Liveness.Live {
		t.Fatalf("printed photo: %+v %v", res, err)
	}
	// A reference photo instead of the template gives a template back.
	res, err = fx.svc.AuthenticatePortable(ctx, fx.tenant, PortableAuth{UserID: "user-003", Reference: ptr(angelina("img4.jpg")), Token: token(angelina("img2.jpg"))})
	if err != nil || res.Outcome != PortableAuthenticated || len(res.Template) == 0 {
		t.Fatalf("reference photo: %+v %v", res, err)
	}
	// A template as the probe carries no liveness evidence.
	res, err = fx.svc.AuthenticatePortable(ctx, fx.tenant, PortableAuth{UserID: "user-001", Template: tpl.Template, ProbeTemplate: tpl.Template})
	if err != nil || res.Outcome != PortableNotLive || res.LivenessChecked || res.Score < 99 {
		t.Fatalf("template as the probe: %+v %v", res, err)
	}
}

func ptr[T any](v T) *T { return &v }

// A tampered template, one sealed for another integration, one of another
// model, a token sent as a template and an expired token are each refused
// with their own kind; nothing is spent by a refused token.
func TestPortableCredentialsRefused(t *testing.T) {
	fx := newFixture(t)
	ctx := context.Background()
	img := fixtureImage(t, "faces", "deepface", "id00_img1", "img1.jpg")
	tpl, err := fx.svc.IssueTemplate(ctx, fx.tenant, "user-001", img, false)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := fx.svc.IssueBestImageToken(ctx, fx.tenant, fixtureImage(t, "faces", "deepface", "id00_img1", "img2.jpg"))
	if err != nil {
		t.Fatal(err)
	}
	otherIn := &store.Integration{Name: "other", Policy: fx.tenant.Policy}
	if err := fx.st.CreateIntegration(ctx, otherIn); err != nil {
		t.Fatal(err)
	}
	otherTenant := Tenant{ID: otherIn.ID, Policy: otherIn.Policy}
	foreign, err := fx.svc.IssueTemplate(ctx, otherTenant, "user-001", img, false)
	if err != nil {
		t.Fatal(err)
	}
	flip := func(b []byte, i int) []byte { c := append([]byte(nil), b...); c[i] ^= 0x01; return c }
	model := fx.svc.eng.EmbeddingModel()
	otherModel := append([]byte(nil), tpl.Template[:13]...)
	otherModel = append(otherModel, byte(len(model)))
	otherModel = append(otherModel, []byte(model[:len(model)-1]+"X")...)
	otherModel = append(otherModel, tpl.Template[14+len(model):]...)

	cases := []struct {
		name    string
		req     PortableAuth
		kind    fault.Kind
		subject string
	}{
		{"tampered vector", PortableAuth{Template: flip(tpl.Template, len(tpl.Template)-40)}, fault.BadRequest, SubjectTemplate},
		{"tampered header", PortableAuth{Template: flip(tpl.Template, 3)}, fault.BadRequest, SubjectTemplate},
		{"truncated", PortableAuth{Template: tpl.Template[:30]}, fault.BadRequest, SubjectTemplate},
		{"another integration", PortableAuth{Template: foreign.Template}, fault.Forbidden, SubjectTemplate},
		{"another model", PortableAuth{Template: otherModel}, fault.Unsupported, SubjectTemplate},
		{"token as template", PortableAuth{Template: tok.Token}, fault.BadRequest, SubjectTemplate},
		{"template as token", PortableAuth{Template: tpl.Template, Token: tpl.Template}, fault.BadRequest, SubjectToken},
		{"tampered token", PortableAuth{Template: tpl.Template, Token: flip(tok.Token, len(tok.Token)-1)}, fault.BadRequest, SubjectToken},
		{"no probe", PortableAuth{Template: tpl.Template}, fault.MissingField, SubjectToken},
		{"no reference", PortableAuth{Token: tok.Token}, fault.MissingField, SubjectTemplate},
	}
	for _, c := range cases {
		c.req.UserID = "user-001"
		if c.req.Token == nil && c.name != "no probe" && c.name != "template as token" {
			c.req.Token = tok.Token
		}
		_, err := fx.svc.AuthenticatePortable(ctx, fx.tenant, c.req)
		fe := fault.As(err)
		if err == nil || fe.Kind != c.kind || fe.Subject != c.subject {
			t.Errorf("%s: got %v (kind %s, subject %q), want %s on %s", c.name, err, fault.KindOf(err), fe.Subject, c.kind, c.subject)
		}
	}
	// None of the refusals spent the token.
	if res, err := fx.svc.AuthenticatePortable(ctx, fx.tenant, PortableAuth{UserID: "user-001", Template: tpl.Template, Token: tok.Token}); err != nil || res.Outcome != PortableAuthenticated {
		t.Fatalf("the token after refusals: %+v %v", res, err)
	}
	if _, err := fx.svc.AuthenticatePortable(ctx, fx.tenant, PortableAuth{UserID: "x", Template: tpl.Template, Token: tok.Token}); !fault.Is(err, fault.BadRequest) {
		t.Fatalf("a one-character user id: %v", err)
	}

	// An expired token: re-seal one with its expiry in the past.
	kr, _ := fx.svc.keyring(ctx, fx.tenant.ID)
	p, err := openPortable(kr, fx.tenant.ID, model, kindBestImage, tok.Token)
	if err != nil {
		t.Fatal(err)
	}
	p.Expires = time.Now().Add(-time.Second)
	binary.BigEndian.PutUint32(p.ID[:], 42)
	old, err := sealPortable(kr, fx.tenant.ID, p)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := fx.svc.AuthenticatePortable(ctx, fx.tenant, PortableAuth{UserID: "user-001", Template: tpl.Template, Token: old}); !fault.Is(err, fault.Expired) {
		t.Fatalf("expired token: %v", err)
	}
}

// The credential reader never panics on hostile bytes, and opens only
// what it sealed.
func FuzzOpenPortable(f *testing.F) {
	kr, err := crypto.NewKeyring(crypto.Key{ID: "fuzz", Secret: make([]byte, 32)})
	if err != nil {
		f.Fatal(err)
	}
	good, err := sealPortable(kr, "int_x", &portable{Kind: kindTemplate, Model: "abc", UserID: "u1", Vector: []float32{1, 0}})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(good)
	f.Add([]byte("VSG\x01\x01"))
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = decodePortable(b)
		p, err := openPortable(kr, "int_x", "abc", kindTemplate, b)
		if err == nil && (p.UserID != "u1" || len(p.Vector) != 2) {
			t.Fatalf("opened an altered credential: %+v", p)
		}
	})
}
