package storetest

import (
	"strings"
	"testing"
	"time"

	"github.com/visagehq/visage/internal/store"
)

func testImageCRUD(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	f := newFace(t, s, in.ID)
	first := newImage(t, s, f, "enrol")
	if !strings.HasPrefix(first.ID, "img_") {
		t.Fatalf("generated id %q lacks the img_ prefix", first.ID)
	}
	second := &store.FaceImage{
		IntegrationID: in.ID, FaceRef: f.ID, Challenge: "smile", BlobKey: unique("blob"),
		Width: 112, Height: 112, CreatedAt: first.CreatedAt.Add(time.Second),
	}
	noErr(t, "add second", s.AddFaceImage(ctx(t), second))

	got, err := s.GetFaceImage(ctx(t), in.ID, first.ID)
	noErr(t, "get", err)
	equal(t, "get", got, first)
	list, err := s.ListFaceImages(ctx(t), in.ID, f.ID)
	noErr(t, "list", err)
	equal(t, "list", list, []store.FaceImage{*first, *second})

	dup := *second
	wantErr(t, "duplicate id", s.AddFaceImage(ctx(t), &dup), store.ErrConflict)
	orphan := &store.FaceImage{IntegrationID: in.ID, FaceRef: "face_missing", Challenge: "enrol", BlobKey: "k"}
	wantErr(t, "image of a missing face", s.AddFaceImage(ctx(t), orphan), store.ErrNotFound)

	// Deleting an image takes the templates computed from it along.
	newTemplate(t, s, f, first.ID, "m1") // goes with the image
	fromSecond := newTemplate(t, s, f, second.ID, "m1")
	key, err := s.DeleteFaceImage(ctx(t), in.ID, first.ID)
	noErr(t, "delete", err)
	if key != first.BlobKey {
		t.Fatalf("delete returned blob key %q, want %q", key, first.BlobKey)
	}
	_, err = s.GetFaceImage(ctx(t), in.ID, first.ID)
	wantErr(t, "get deleted", err, store.ErrNotFound)
	tpls, err := s.ListFaceTemplates(ctx(t), in.ID, f.ID)
	noErr(t, "templates after image delete", err)
	equal(t, "templates after image delete", tpls, []store.Template{*fromSecond})
	_, err = s.DeleteFaceImage(ctx(t), in.ID, first.ID)
	wantErr(t, "delete twice", err, store.ErrNotFound)
}

func testTemplateCRUD(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	f, g := newFace(t, s, in.ID), newFace(t, s, in.ID)
	img := newImage(t, s, f, "enrol")
	withImage := newTemplate(t, s, f, img.ID, "m1")
	if !strings.HasPrefix(withImage.ID, "tpl_") {
		t.Fatalf("generated id %q lacks the tpl_ prefix", withImage.ID)
	}
	noImage := &store.Template{
		IntegrationID: in.ID, FaceRef: f.ID, ModelID: "m2", Sealed: []byte{0, 0xff},
		CreatedAt: withImage.CreatedAt.Add(time.Second),
	}
	noErr(t, "add without image", s.AddTemplate(ctx(t), noImage))

	list, err := s.ListFaceTemplates(ctx(t), in.ID, f.ID)
	noErr(t, "list", err)
	equal(t, "list", list, []store.Template{*withImage, *noImage})

	// An image of another face, even of the same integration, is refused.
	wrongImage := &store.Template{IntegrationID: in.ID, FaceRef: g.ID, ImageID: img.ID, ModelID: "m1", Sealed: []byte("x")}
	wantErr(t, "template on another face's image", s.AddTemplate(ctx(t), wrongImage), store.ErrNotFound)
	missingImage := &store.Template{IntegrationID: in.ID, FaceRef: f.ID, ImageID: "img_missing", ModelID: "m1", Sealed: []byte("x")}
	wantErr(t, "template on a missing image", s.AddTemplate(ctx(t), missingImage), store.ErrNotFound)
	dup := *noImage
	wantErr(t, "duplicate id", s.AddTemplate(ctx(t), &dup), store.ErrConflict)
}

func testListTemplates(t *testing.T, s store.Store) {
	in := newIntegration(t, s)
	on, off := newFace(t, s, in.ID), newFace(t, s, in.ID)
	off.Enabled = false
	noErr(t, "disable", s.UpdateFace(ctx(t), off))
	a := newTemplate(t, s, on, "", "m1")
	b := newTemplate(t, s, off, "", "m1")
	newTemplate(t, s, on, "", "m2") // another model: never in m1's index

	index, err := s.ListTemplates(ctx(t), in.ID, "m1")
	noErr(t, "list m1", err)
	want := map[string]store.IndexedTemplate{
		a.ID: {Template: *a, FaceID: on.FaceID, Enabled: true},
		b.ID: {Template: *b, FaceID: off.FaceID, Enabled: false},
	}
	if len(index) != len(want) {
		t.Fatalf("index has %d templates, want %d: %+v", len(index), len(want), index)
	}
	for _, got := range index {
		equal(t, "index entry", got, want[got.ID])
	}
	none, err := s.ListTemplates(ctx(t), in.ID, "m-unknown")
	noErr(t, "list unknown model", err)
	if len(none) != 0 {
		t.Fatalf("unknown model lists %+v", none)
	}
}
